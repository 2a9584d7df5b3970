import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The abort signal of the unit of work in progress (one verify job). Every request a source
 * client starts inside `withAbortSignal` is aborted with it, without each method of every client
 * (GitHub, OCI, Rekor, the image evidence collector) taking a signal argument. Threat: a slow or
 * trickling upstream holding a verify slot past the job's deadline.
 */
const scope = new AsyncLocalStorage<AbortSignal>();

export function withAbortSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return scope.run(signal, work);
}

/** The signal of the enclosing `withAbortSignal`, if any. */
export function currentAbortSignal(): AbortSignal | undefined {
  return scope.getStore();
}
