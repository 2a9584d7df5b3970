/**
 * Status reads kept in memory until the verdicts they show change. Verdicts change when a run is
 * recorded, rarely next to the reads of dashboards, badges and scripts; so each answer is kept
 * with the targets it depends on, and dropped when Postgres says one of those targets' versions
 * moved.
 *
 * Versions are a counter per target that Postgres bumps in the same transaction as every change a
 * status read can show (triggers on latest statuses, releases and image tags); the source reports
 * which targets moved since its previous read (libs/persistence's VerdictVersionFeed asks Postgres
 * only for those), so a refresh costs the changes, not the watchlist. No request waits for that
 * read: at most once per `checkEveryMs` a request starts it in the background and is answered from
 * what is cached (stale-while-revalidate). Staleness is bounded: once the last successful read is
 * older than `maxStaleMs` (Postgres unreachable, say), requests wait for a fresh read and fail with
 * it, rather than show verdicts of unknown age. Concurrent requests for the same key share one
 * computation; errors are never cached.
 *
 * An answer whose target moved is recomputed, not dropped: the next request for it starts the
 * recomputation and is answered with the answer it replaces, as are the requests that come while
 * it runs, for at most `staleServeMs` after the move was read (then they wait for it, as for an
 * answer never computed). Dropping it made the requests that came while it was computed again wait
 * for five queries; under load those were most of the status API's slowest 1% (bench/status-api,
 * "+ changes"). So a change shows at most `checkEveryMs` + `staleServeMs` after it committed
 * (at most one version read plus one recomputation in practice). A failed recomputation drops the
 * answer: the next request computes it and fails with Postgres, never shows the old one again.
 */
/** Stands for "every target" in the index; target names never contain a NUL (watchlist schema). */
const ALL_TARGETS = '\u0000all';
const ALL = [ALL_TARGETS];

interface CacheEntry {
  value: Promise<unknown>;
  /** The targets whose verdicts the answer shows, or [ALL_TARGETS]. */
  depends: readonly string[];
  /** When a version read found a target of this answer moved (undefined: current). */
  staleSince?: number;
  /**
   * The recomputation in progress; `movedAgainAt`: when a move was first read while it ran (it may
   * not show that move: the answer it gives is stale from then).
   */
  recomputing?: { value: Promise<unknown>; movedAgainAt?: number };
}

export class VerdictReadCache {
  private started = false;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly entries = new Map<string, CacheEntry>();
  /** Keys by the target they depend on (`all`: lists across targets), so a change marks only its own. */
  private readonly keysByTarget = new Map<string, Set<string>>();

  constructor(
    private readonly source: {
      /** Which targets' verdicts moved since the previous call (`all`: any may have). */
      versions: () => Promise<{ changed: ReadonlySet<string> | 'all' }>;
    },
    private readonly options: { checkEveryMs?: number; maxStaleMs?: number; staleServeMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  /** `depends`: the targets whose verdicts the answer shows, or `all` (lists across targets). */
  async get<T>(key: string, depends: readonly string[] | 'all', compute: () => Promise<T>): Promise<T> {
    const now = this.now();
    if (!this.started || now - this.refreshedAt > (this.options.maxStaleMs ?? 10_000)) {
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
      if (hit.staleSince === undefined) return hit.value as Promise<T>;
      // The request's own computation (the same for the same key) starts the recomputation.
      const recomputing = hit.recomputing?.value ?? this.recompute(key, hit, compute);
      // Threat: an answer known to be outdated shown indefinitely (a pass that became a fail).
      // Past the window the request waits for the recomputation.
      return (now - hit.staleSince <= (this.options.staleServeMs ?? 1000) ? hit.value : recomputing) as Promise<T>;
    }
    const value = compute();
    const entry: CacheEntry = { value, depends: depends === 'all' ? ALL : [...new Set(depends)] };
    this.entries.set(key, entry);
    for (const target of entry.depends) {
      let keys = this.keysByTarget.get(target);
      if (!keys) this.keysByTarget.set(target, (keys = new Set()));
      keys.add(key);
    }
    value.catch(() => this.entries.get(key) === entry && this.drop(key));
    const max = this.options.maxEntries ?? 10_000;
    while (this.entries.size > max) this.drop(this.entries.keys().next().value as string);
    return value;
  }

  /**
   * Drops every answer: after a watchlist reload a list may gain or lose targets, and a target's
   * answer shows its configuration, neither of which moves a verdict version.
   */
  clear(): void {
    this.entries.clear();
    this.keysByTarget.clear();
  }

  /** The version read in progress, if any (tests and shutdown wait for it). */
  settled(): Promise<void> {
    return (this.refreshing ?? Promise.resolve()).catch(() => undefined);
  }

  /** Marks an answer whose target moved; the next request for it recomputes it. */
  private markMoved(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.staleSince ??= this.now();
    if (entry.recomputing) entry.recomputing.movedAgainAt ??= this.now();
  }

  private recompute(key: string, entry: CacheEntry, compute: () => Promise<unknown>): Promise<unknown> {
    const value = compute();
    const started: CacheEntry['recomputing'] = { value };
    entry.recomputing = started;
    value.then(
      () => {
        if (this.entries.get(key) !== entry || entry.recomputing !== started) return;
        entry.value = value;
        entry.recomputing = undefined;
        // Moved again while it ran: still stale, from that move on; the next request recomputes.
        entry.staleSince = started.movedAgainAt;
      },
      () => {
        if (this.entries.get(key) === entry) this.drop(key);
      },
    );
    return value;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const target of entry.depends) {
      const keys = this.keysByTarget.get(target);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByTarget.delete(target);
    }
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      this.checkedAt = this.now();
      try {
        const { changed } = await this.source.versions();
        if (changed === 'all') this.clear();
        else if (changed.size > 0) {
          for (const key of this.keysByTarget.get(ALL_TARGETS) ?? []) this.markMoved(key);
          for (const target of changed) for (const key of this.keysByTarget.get(target) ?? []) this.markMoved(key);
        }
        this.started = true;
        this.refreshedAt = this.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
