export * from './image-evidence.collector';
