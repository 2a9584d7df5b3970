export * from './reason-code';
export * from './verdict';
export * from './verification.error';
