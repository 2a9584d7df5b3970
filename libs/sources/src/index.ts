export { SourceError, type SourceErrorCode, isSourceError } from './source.error';
export * from './oci';
export * from './image-evidence';
export * from './rekor/rekor.client';
export * from './tuf/sigstore-trust-root.source';
export * from './source-verdict';
export * from './github';
export * from './files/regular-file';
export * from './backoff/upstream-backoff';
