/**
 * Status reads kept in memory until the verdicts they show change. Verdicts change when a run is
 * recorded, rarely next to the reads of dashboards, badges and scripts; so each answer is kept
 * with the targets it depends on, and dropped when Postgres says one of those targets' versions
 * moved.
 *
 * Versions are a counter per target that Postgres bumps in the same transaction as every change a
 * status read can show (triggers on latest statuses, releases and image tags): reading all of them
 * is one index-only scan of the targets table, cheap at 10,000 targets. No request waits for that
 * read: at most once per `checkEveryMs` a request starts it in the background and is answered from
 * what is cached (stale-while-revalidate). Staleness is bounded: once the last successful read is
 * older than `maxStaleMs` (Postgres unreachable, say), requests wait for a fresh read and fail with
 * it, rather than show verdicts of unknown age. Concurrent requests for the same key share one
 * computation; errors are never cached.
 */
export class VerdictReadCache {
  private versions: Map<string, string> | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly entries = new Map<string, { value: Promise<unknown>; depends: ReadonlySet<string> | 'all' }>();

  constructor(
    private readonly source: {
      /** Per target: equal versions, equal verdicts. */
      versions: () => Promise<Map<string, string>>;
    },
    private readonly options: { checkEveryMs?: number; maxStaleMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  /** `depends`: the targets whose verdicts the answer shows, or `all` (lists across targets). */
  async get<T>(key: string, depends: readonly string[] | 'all', compute: () => Promise<T>): Promise<T> {
    const now = this.now();
    if (!this.versions || now - this.refreshedAt > (this.options.maxStaleMs ?? 10_000)) {
      await this.refresh();
    } else if (now - this.checkedAt >= (this.options.checkEveryMs ?? 1000)) {
      // Background: this request is answered from what is cached now.
      this.refresh().catch(() => undefined);
    }
    const hit = this.entries.get(key);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as Promise<T>;
    }
    const value = compute();
    const entry = { value, depends: depends === 'all' ? ('all' as const) : new Set(depends) };
    this.entries.set(key, entry);
    value.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    const max = this.options.maxEntries ?? 10_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  /**
   * Drops every answer: after a watchlist reload a list may gain or lose targets, and a target's
   * answer shows its configuration, neither of which moves a verdict version.
   */
  clear(): void {
    this.entries.clear();
  }

  /** The version read in progress, if any (tests and shutdown wait for it). */
  settled(): Promise<void> {
    return (this.refreshing ?? Promise.resolve()).catch(() => undefined);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      this.checkedAt = this.now();
      try {
        const versions = await this.source.versions();
        const previous = this.versions;
        if (!previous) {
          this.entries.clear();
        } else {
          const changed = new Set([...new Set([...versions.keys(), ...previous.keys()])].filter((t) => versions.get(t) !== previous.get(t)));
          if (changed.size > 0) {
            for (const [key, entry] of this.entries) {
              if (entry.depends === 'all' || [...entry.depends].some((t) => changed.has(t))) this.entries.delete(key);
            }
          }
        }
        this.versions = versions;
        this.refreshedAt = this.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
