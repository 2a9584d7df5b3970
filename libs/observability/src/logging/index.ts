export * from './log-scrub';
export * from './structured-logger';
