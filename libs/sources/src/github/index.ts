export * from './github.client';
