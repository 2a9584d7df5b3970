// Nest wiring that every role of the service (api, worker) shares. Verification stays in
// libs/verification, free of Nest; this library only provides the process-wide singletons.
export * from './configuration.module';
export * from './persistence.module';
export * from './metrics.tokens';
export * from './dependency.probe';
export * from './worker-readiness';
export * from './nest-logger';
