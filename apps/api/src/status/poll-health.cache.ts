import type { PollStateRow } from '@provwatch/persistence';

/**
 * Poll health per target, kept for a second. Poll state changes once per poll interval per
 * source, while a dashboard may ask for one target's details hundreds of times a second: one
 * query per request was the largest cost of `GET /api/v1/targets/{target}`. Entries are per
 * target and made on demand, so the cost follows what is asked, not the size of the watchlist
 * (reading every target's poll state each second blocked the event loop for ~7 ms at 1,000
 * targets). An entry older than `maxAgeMs` is still answered while a single refresh runs in the
 * background; one older than `hardMaxAgeMs` (its refreshes keep failing) is not trusted any more:
 * the request waits for a fresh read and fails with it.
 */
export class PollHealthCache {
  private readonly entries = new Map<string, { at: number; rows: PollStateRow[] }>();
  private readonly refreshing = new Map<string, Promise<PollStateRow[]>>();

  constructor(
    private readonly load: (target: string) => Promise<PollStateRow[]>,
    private readonly options: { maxAgeMs?: number; hardMaxAgeMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  async get(target: string): Promise<PollStateRow[]> {
    const entry = this.entries.get(target);
    const age = entry ? this.now() - entry.at : Number.POSITIVE_INFINITY;
    if (!entry || age >= (this.options.hardMaxAgeMs ?? 10_000)) return this.refresh(target);
    if (age >= (this.options.maxAgeMs ?? 1_000)) this.refresh(target).catch(() => undefined);
    return entry.rows;
  }

  private refresh(target: string): Promise<PollStateRow[]> {
    let pending = this.refreshing.get(target);
    if (!pending) {
      pending = (async () => {
        // The time the read started: a row committed during the read may be missing from it.
        const at = this.now();
        try {
          const rows = await this.load(target);
          this.entries.delete(target);
          this.entries.set(target, { at, rows });
          // Targets come from the watchlist, but keep the map bounded all the same: oldest first.
          const max = this.options.maxEntries ?? 10_000;
          while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value as string);
          return rows;
        } finally {
          this.refreshing.delete(target);
        }
      })();
      this.refreshing.set(target, pending);
    }
    return pending;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
