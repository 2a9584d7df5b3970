export * from './legacy-blob-signature';
export * from './verify-signed-blob';
