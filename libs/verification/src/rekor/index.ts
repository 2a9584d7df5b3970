export * from './rekor-entry';
