export * from './provenance-document';
export * from './verify-artifact-provenance';
