/**
 * The current truth in Postgres, as the scrape-time gauges need it. libs/persistence produces it
 * (MetricsRepository.snapshot); this library only turns it into series, so it needs no database.
 */
export type CheckStatusName = 'pass' | 'fail' | 'missing' | 'error';
export const CHECK_STATUSES: readonly CheckStatusName[] = ['pass', 'fail', 'missing', 'error'];

export interface StatusSnapshot {
  checks: ReadonlyArray<{
    target: string;
    image: string | null;
    release: string;
    check: string;
    status: CheckStatusName;
    since: Date;
    updatedAt: Date;
  }>;
  releases: ReadonlyArray<{ target: string; release: string; publishedAt: Date | null; firstVerdictAt: Date | null }>;
  polls: ReadonlyArray<{ target: string; source: string; lastSuccessAt: Date | null; lastErrorCode: string | null; lastPolledAt: Date | null }>;
  githubRateLimitRemaining: number | null;
  targets: number;
}

export interface QueueDepth {
  queue: string;
  state: string;
  count: number;
}

/**
 * Takes a snapshot at most once per `maxAgeMs` and shares it: every gauge of one scrape reads the
 * same snapshot, and concurrent scrapes (two Prometheus servers) cause one read, not two.
 */
export class CoalescedReader<T> {
  private inFlight: Promise<T> | undefined;
  private last: { at: number; value: T } | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (this.last && this.now() - this.last.at < this.maxAgeMs) return Promise.resolve(this.last.value);
    if (this.inFlight) return this.inFlight;
    const started = this.now();
    this.inFlight = this.read().then(
      (value) => {
        this.last = { at: started, value };
        this.inFlight = undefined;
        return value;
      },
      (err: unknown) => {
        this.inFlight = undefined;
        throw err;
      },
    );
    return this.inFlight;
  }
}
