export * from './artifact';
export * from './bundle-parser';
export * from './bundle-verifier';
export * from './fulcio-certificate';
export * from './identity-policy';
export * from './trust-root';
