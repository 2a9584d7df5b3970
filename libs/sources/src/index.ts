export { SourceError, type SourceErrorCode, isSourceError } from './source.error';
export * from './oci';
