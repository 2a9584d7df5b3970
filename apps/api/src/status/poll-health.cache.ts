import type { PollStateRow } from '@provwatch/persistence';

/**
 * Poll health of every target, read in one query and kept for a second. Poll state changes once
 * per poll interval per source, while a dashboard may ask for target details hundreds of times a
 * second: one query per request was the largest cost of `GET /api/v1/targets/{target}`.
 * A snapshot older than `maxAgeMs` is still answered while a single refresh runs in the
 * background (concurrent requests share it); one older than `hardMaxAgeMs` (the refresh keeps
 * failing) is not trusted any more: the request waits for a fresh read and fails with it.
 */
export class PollHealthCache {
  private snapshot: { at: number; byTarget: Map<string, PollStateRow[]> } | undefined;
  private refreshing: Promise<Map<string, PollStateRow[]>> | undefined;

  constructor(
    private readonly load: () => Promise<Map<string, PollStateRow[]>>,
    private readonly options: { maxAgeMs?: number; hardMaxAgeMs?: number; now?: () => number } = {},
  ) {}

  async get(target: string): Promise<PollStateRow[]> {
    const age = this.snapshot ? this.now() - this.snapshot.at : Number.POSITIVE_INFINITY;
    if (age >= (this.options.hardMaxAgeMs ?? 10_000)) return (await this.refresh()).get(target) ?? [];
    if (age >= (this.options.maxAgeMs ?? 1_000)) this.refresh().catch(() => undefined);
    return this.snapshot!.byTarget.get(target) ?? [];
  }

  private refresh(): Promise<Map<string, PollStateRow[]>> {
    this.refreshing ??= (async () => {
      // The time the read started: a row committed during the read may be missing from it.
      const at = this.now();
      try {
        const byTarget = await this.load();
        this.snapshot = { at, byTarget };
        return byTarget;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
