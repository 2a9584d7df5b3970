export * from './release-checks';
export * from './evidence-expectations';
