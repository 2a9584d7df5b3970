/**
 * Status reads keyed by the verdicts' version. Verdicts change when a run is recorded, which is
 * rare next to the reads of dashboards, badges and scripts; so answers are kept in memory until
 * Postgres says the version moved. The version is checked at most once per `checkEveryMs`
 * (shared by concurrent requests), which bounds staleness: an answer is at most that old.
 * Concurrent requests for the same key share one computation; errors are never cached.
 */
export class VerdictReadCache {
  private version: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | undefined;
  private readonly entries = new Map<string, Promise<unknown>>();

  constructor(
    private readonly readVersion: () => Promise<string>,
    private readonly options: { checkEveryMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    await this.refreshVersion();
    const hit = this.entries.get(key);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit as Promise<T>;
    }
    const pending = compute();
    this.entries.set(key, pending);
    pending.catch(() => this.entries.get(key) === pending && this.entries.delete(key));
    const max = this.options.maxEntries ?? 10_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value as string);
    return pending;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private refreshVersion(): Promise<void> {
    if (this.now() - this.checkedAt < (this.options.checkEveryMs ?? 1000)) return Promise.resolve();
    this.checking ??= (async () => {
      try {
        const version = await this.readVersion();
        if (version !== this.version) {
          this.entries.clear();
          this.version = version;
        }
        this.checkedAt = this.now();
      } catch (err) {
        // Without a version nothing cached can be trusted.
        this.entries.clear();
        this.version = undefined;
        throw err;
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }
}
