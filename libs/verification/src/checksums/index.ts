export * from './checksums-file';
