export { CheckStatus, SubjectKind } from './generated/client';
export * from './migrations/migration-applier';
export * from './persistence.client';
export * from './verification.repository';
export * from './release.repository';
export * from './poll-state.repository';
export * from './image.repository';
export * from './metrics.repository';
export * from './status.repository';
