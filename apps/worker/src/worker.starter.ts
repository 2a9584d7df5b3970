import type { WorkerReadiness } from '@provwatch/service-core';
import { describe } from './worker.runtime';

/** What the starter starts: a running worker that can be stopped again. */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface WorkerStarterDeps {
  /**
   * Throws, with a one-line reason (`redis 127.0.0.1:6390 unreachable (ECONNREFUSED)`), while a
   * dependency the worker cannot start without does not answer. Checked before each attempt.
   */
  preconditions: () => Promise<void>;
  /** Builds the worker (trust root, queues); `start()` is then awaited. */
  create: () => Promise<Startable>;
  log: (message: string) => void;
  /** Capped exponential back-off between attempts (defaults 1 s doubling to 30 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** An attempt that takes longer than this (a dependency went away mid-start) is abandoned and retried. */
  attemptTimeoutMs?: number;
}

/**
 * Starts the worker role in the background: the process listens, answers /healthz and reports
 * not-ready while Redis or Postgres are not there yet, instead of refusing to start (or never
 * listening, as a start that awaited them did). One log line per retry, no stack trace: a
 * dependency that is down at start is an expected fault, not a crash.
 */
export class WorkerStarter implements WorkerReadiness {
  private worker: Startable | undefined;
  private problem: string | undefined = 'not started yet';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempts = 0;
  private current: Promise<void> | undefined;

  constructor(private readonly deps: WorkerStarterDeps) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  get reason(): string | undefined {
    return this.worker ? undefined : this.problem;
  }

  /** Begins the first attempt; never throws, never waits for the dependencies. */
  begin(): void {
    this.schedule(0);
  }

  /** Resolves once the current attempt (if any) has settled; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.stop();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.attempt();
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.attempts++;
    let candidate: Startable | undefined;
    try {
      await this.deps.preconditions();
      candidate = await this.deps.create();
      await withTimeout(candidate.start(), this.deps.attemptTimeoutMs ?? 60_000);
      if (this.stopped) {
        await candidate.stop().catch(() => undefined);
        return;
      }
      this.worker = candidate;
      this.problem = undefined;
      if (this.attempts > 1) this.deps.log(`worker started (attempt ${this.attempts})`);
    } catch (err) {
      await candidate?.stop().catch(() => undefined);
      this.problem = describe(err);
      const delayMs = Math.min((this.deps.firstDelayMs ?? 1000) * 2 ** (this.attempts - 1), this.deps.maxDelayMs ?? 30_000);
      this.deps.log(`${this.problem}; worker not started, retrying in ${formatSeconds(delayMs)}`);
      this.schedule(delayMs);
    }
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`worker start did not complete within ${formatSeconds(ms)}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
