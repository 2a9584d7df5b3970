/**
 * Status reads kept in memory until the verdicts they show change. Verdicts change when a run is
 * recorded, rarely next to the reads of dashboards, badges and scripts; so each answer is kept
 * with the targets it depends on, and dropped when Postgres says one of those targets' versions
 * moved. A cheap change marker is checked at most once per `checkEveryMs` (shared by concurrent
 * requests), which bounds staleness: an answer is at most that old; per-target versions are read
 * only when the marker moved, and every `fullCheckEveryMs` (commits that hide behind a newer id). Concurrent requests for the same key
 * share one computation; errors are never cached.
 */
export class VerdictReadCache {
  private versions: Map<string, string> | undefined;
  private marker: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private fullCheckAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | undefined;
  private readonly entries = new Map<string, { value: Promise<unknown>; depends: ReadonlySet<string> | 'all' }>();

  constructor(
    private readonly source: {
      /** Per target: equal versions, equal verdicts. */
      versions: () => Promise<Map<string, string>>;
      /** Cheap; moves whenever anything may have changed (versions are asked only then). */
      changeMarker?: () => Promise<string>;
    },
    private readonly options: { checkEveryMs?: number; fullCheckEveryMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  /** `depends`: the targets whose verdicts the answer shows, or `all` (lists across targets). */
  async get<T>(key: string, depends: readonly string[] | 'all', compute: () => Promise<T>): Promise<T> {
    await this.refreshVersions();
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

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private refreshVersions(): Promise<void> {
    if (this.now() - this.checkedAt < (this.options.checkEveryMs ?? 1000)) return Promise.resolve();
    this.checking ??= (async () => {
      try {
        const now = this.now();
        const marker = await this.source.changeMarker?.();
        if (marker !== undefined && marker === this.marker && this.versions && now - this.fullCheckAt < (this.options.fullCheckEveryMs ?? 30_000)) {
          this.checkedAt = now;
          return;
        }
        const versions = await this.source.versions();
        this.marker = marker;
        this.fullCheckAt = now;
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
        this.checkedAt = this.now();
      } catch (err) {
        // Without versions nothing cached can be trusted.
        this.entries.clear();
        this.versions = undefined;
        this.marker = undefined;
        throw err;
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }
}
