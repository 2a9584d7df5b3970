/**
 * Whether the worker role runs. It starts in the background once Redis and Postgres answer, so
 * the process listens (and /healthz answers) before; /readyz reports this until it runs.
 */
export interface WorkerReadiness {
  readonly running: boolean;
  /** Why it does not run yet (one line), when it does not. */
  readonly reason: string | undefined;
}

export const WORKER_READINESS = Symbol('WORKER_READINESS');
