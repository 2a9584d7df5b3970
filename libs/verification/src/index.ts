export * from './verdict';
export * from './sigstore';
