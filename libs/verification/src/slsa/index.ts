export * from './build-types';
export * from './slsa-provenance';
export * from './trusted-builders';
export * from './versioned-tag';
export * from './github-attestation';
