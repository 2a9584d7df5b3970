export * from './provenance-document';
export * from './verify-artifact-provenance';
export * from './verify-image-provenance';
export * from './legacy-offline';
