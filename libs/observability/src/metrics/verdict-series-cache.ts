import { yieldToEventLoop } from '../event-loop';
import { PagedSeries, sortedUnique } from './paged-series';
import type { VerdictSource } from './status-snapshot';
import { VERDICT_GAUGES, formatVerdictParts, verdictGaugeHeader } from './verdict-exposition';

const METRICS = Object.values(VERDICT_GAUGES);
const HEADERS = METRICS.map((metric) => Buffer.from(verdictGaugeHeader(metric)));
const NO_SERIES = METRICS.map(() => '');

/** Targets whose built version is compared with the read one per turn of the event loop. */
const STALE_SEARCH_SLICE = 2000;

export interface VerdictSeriesCacheOptions {
  /**
   * Targets read and formatted per slice; the event loop runs between slices. Default 10: at 10
   * releases and 1 image of 10 tags per target one slice is ~700 rows, whose decoding (Prisma)
   * and formatting hold the loop for a few ms each; 50 held it 26 + 11 ms on this machine.
   */
  batchSize?: number;
  /** Targets packed into one Buffer per gauge (default 64: ~700 KB at 10 releases and 10 image tags per target). */
  pageTargets?: number;
  /** Where the series bytes are allocated (default: this thread's memory; see PagedSeries). */
  allocate?: (bytes: number) => Buffer;
  /**
   * The share of wall time a refresh's slices may take, Postgres reads included (0 < share <= 1;
   * default 1, no pause). After each slice but the last the refresh pauses so that the slice took
   * at most this share of the time up to the next one: a first build at 10,000 targets then leaves
   * the cores of a small machine to the requests being served beside it, and takes about 1/share
   * times as long.
   */
  busyShare?: number;
}

/**
 * What ProvwatchMetrics needs of the verdict series: VerdictSeriesCache in this thread, or
 * StatusSeriesThread's stand-in for one in the series thread.
 */
export interface VerdictSeriesStore {
  /** Reads what changed and rebuilds it; `onVersions` runs once Postgres answered the version read. */
  refresh(onVersions?: () => void): Promise<void>;
  /** Whether every watched target (as of the last version read) has its series built. */
  readonly complete: boolean;
  /** The exposition of the verdict gauges, in target order. */
  chunks(): Buffer[];
  /** Bytes held for the verdict series. */
  readonly byteLength: number;
}

/**
 * The verdict gauges of every watched target, kept as bytes per target and rebuilt only for
 * targets whose `verdict_version` moved. A scrape never formats anything: it takes the current
 * list of Buffers (`chunks()`), which is only re-assembled (references, not bytes) after a
 * refresh changed something. A refresh reads and formats `batchSize` targets per slice and yields
 * to the event loop between slices, so that with 10,000 targets the first build (seconds of
 * Postgres reads) never holds the loop for longer than one slice: scrapes, /healthz and the
 * status API keep being served while it runs, and a scrape meanwhile serves the targets already
 * built.
 */
export class VerdictSeriesCache implements VerdictSeriesStore {
  /** The series of every watched target (the keys) whose lines are built. */
  private readonly series: PagedSeries;
  /** The version each built target's series shows. */
  private readonly builtVersion = new Map<string, string>();
  /** Whether a version read has succeeded yet. */
  private startedOnce = false;
  /** Watched targets whose series is missing or older than their version: rebuilt by refresh. */
  private readonly stale = new Set<string>();
  private generation = 0;
  private readonly batchSize: number;
  private readonly busyShare: number;

  constructor(
    private readonly source: VerdictSource,
    options: VerdictSeriesCacheOptions = {},
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 10);
    const share = options.busyShare ?? 1;
    if (!(share > 0 && share <= 1)) throw new RangeError(`busyShare must be in (0, 1], not ${share}`);
    this.busyShare = share;
    this.series = new PagedSeries(HEADERS, options.pageTargets ?? 64, options.allocate);
  }

  /**
   * Reads the versions, drops targets that left the watchlist and rebuilds changed ones in
   * slices. `onVersions` runs once the versions are read (Postgres answered): a scrape waits for
   * that, not for the whole build. Not re-entrant: the caller keeps it single flight. A slice that
   * fails leaves its targets stale, so the next refresh reads them again even if nothing moved.
   */
  async refresh(onVersions: () => void = () => undefined): Promise<void> {
    const { versions, changed } = await this.source.versions();
    onVersions();
    const generation = ++this.generation;
    if (changed === 'all' || !this.startedOnce) {
      // The whole watched set: membership may have changed, and any version may have moved. At
      // 10,000 targets decoding the versions, re-paging and finding what is stale each hold the
      // event loop several ms: one turn each, not one turn for all.
      await yieldToEventLoop();
      this.series.setKeys(versions.keys());
      await yieldToEventLoop();
      for (const target of [...this.builtVersion.keys()]) if (!versions.has(target)) this.builtVersion.delete(target);
      this.stale.clear();
      // In slices: comparing 10,000 versions was one of the first build's longest turns.
      let compared = 0;
      for (const [target, version] of versions) {
        if (this.builtVersion.get(target) !== version || !this.series.has(target)) this.stale.add(target);
        if (++compared % STALE_SEARCH_SLICE === 0) {
          await yieldToEventLoop();
          // A refresh started meanwhile (outside single flight) owns the state now.
          if (this.generation !== generation) return;
        }
      }
    } else {
      // Only what moved: the cost of a refresh follows the changes, not the watchlist.
      const moved = [...changed].filter((target) => versions.has(target));
      this.series.addKeys(moved);
      for (const target of moved) this.stale.add(target);
    }
    this.startedOnce = true;
    if (this.generation !== generation) return;
    // In exposition order: a scrape during the first build shows a prefix of the final text.
    const todo = sortedUnique(this.stale);
    for (let i = 0; i < todo.length; i += this.batchSize) {
      const sliceStarted = performance.now();
      const batch = todo.slice(i, i + this.batchSize);
      const snapshot = await this.source.read(batch);
      // Decoding the rows was one run of the loop; formatting them is the next.
      await yieldToEventLoop();
      const formatted = formatVerdictParts(snapshot);
      for (const target of batch) {
        const parts = formatted.get(target);
        this.series.set(target, parts ? METRICS.map((metric) => parts[metric]) : NO_SERIES);
        this.builtVersion.set(target, versions.get(target)!);
        this.stale.delete(target);
      }
      // Defensive: a refresh started meanwhile (outside single flight) owns the state now.
      if (this.generation !== generation) return;
      await yieldToEventLoop();
      // The pages the next batches do not touch: during a first build a scrape then takes ~6
      // Buffers per finished page instead of 6 per target (60,000 at 10,000 targets).
      await this.series.packBefore(todo[i + this.batchSize], () => this.generation !== generation);
      if (this.busyShare < 1 && i + this.batchSize < todo.length) {
        const busyMs = performance.now() - sliceStarted;
        await new Promise((resolve) => setTimeout(resolve, (busyMs * (1 - this.busyShare)) / this.busyShare));
        // A refresh started during the pause (outside single flight) owns the state now.
        if (this.generation !== generation) return;
      }
    }
    await this.series.pack(() => this.generation !== generation);
  }

  /** Whether every watched target (as of the last version read) has its series built. */
  get complete(): boolean {
    return this.startedOnce && this.series.size === this.series.keyCount;
  }

  /**
   * The exposition of the verdict gauges as Buffers, in target order: each gauge's HELP and TYPE
   * once, then every built target's lines of it. The same Buffer objects until a target changes.
   */
  chunks(): Buffer[] {
    return this.series.chunks();
  }

  /** Bytes held for the verdict series (the per-target RSS figure in docs/observability.md). */
  get byteLength(): number {
    return this.series.byteLength;
  }
}
