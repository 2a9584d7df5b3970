export * from './release-checks';
export * from './evidence-expectations';
export * from './release-tag';
export * from './evidence-budget';
