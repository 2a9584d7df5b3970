export * from './release-checks';
