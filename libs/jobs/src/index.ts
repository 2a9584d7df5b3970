export * from './job-contracts';
