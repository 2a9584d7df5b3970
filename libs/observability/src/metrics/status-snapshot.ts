/**
 * The current truth in Postgres, as the scrape-time gauges need it. libs/persistence produces it
 * (MetricsRepository); this library only turns it into series, so it needs no database.
 */
export type CheckStatusName = 'pass' | 'fail' | 'missing' | 'error' | 'not-applicable';

export interface CheckStatusEntry {
  target: string;
  image: string | null;
  release: string;
  check: string;
  status: CheckStatusName;
  since: Date;
  updatedAt: Date;
  /** For an `error` check: its last verdict (pass, fail, missing), null if none yet. */
  lastVerdict?: CheckStatusName | null;
}

/** Latest check statuses and release timings: changes only when a verdict is recorded. */
export interface VerdictSnapshot {
  checks: ReadonlyArray<CheckStatusEntry>;
  releases: ReadonlyArray<{ target: string; release: string; publishedAt: Date | null; firstVerdictAt: Date | null }>;
}

/** Poll health: changes with every poll, one row per target and source. */
export interface PollSnapshot {
  polls: ReadonlyArray<{ target: string; source: string; lastSuccessAt: Date | null; lastErrorCode: string | null; lastPolledAt: Date | null }>;
  githubRateLimitRemaining: number | null;
  targets: number;
  /**
   * false: `polls` holds only the rows written since the previous read, the others are as they
   * were (libs/persistence's PollStateFeed). Absent or true: every row.
   */
  complete?: boolean;
}

/** The watched targets' verdict versions, as libs/persistence's VerdictVersionFeed reads them. */
export interface VerdictVersions {
  versions: ReadonlyMap<string, string>;
  /** Targets whose version moved or that appeared since the previous read; `all`: no basis to tell. */
  changed: ReadonlySet<string> | 'all';
}

/**
 * Verdicts are large (every check of every kept release): each target's part is read again only
 * when that target's version changed.
 */
export interface VerdictSource {
  /** Per watched target: equal versions mean equal rows; and which moved since the previous call. */
  versions(): Promise<VerdictVersions>;
  /** Checks and release timings of these targets. */
  read(targets: string[]): Promise<VerdictSnapshot>;
}

export interface QueueDepth {
  queue: string;
  state: string;
  count: number;
}

/**
 * Takes a value at most once per `maxAgeMs` and shares it: concurrent scrapes (two Prometheus
 * servers) cause one read, not two. Failures are shared by concurrent callers but not cached.
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
