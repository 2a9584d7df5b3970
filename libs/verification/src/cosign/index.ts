export * from './cosign-layer';
export * from './image-evidence';
export * from './simple-signing';
export * from './image-verdicts';
