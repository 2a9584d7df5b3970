import type { VerdictSource } from './status-snapshot';
import { type VerdictParts, VERDICT_GAUGES, formatVerdictParts, verdictGaugeHeader } from './verdict-exposition';

const METRICS = Object.values(VERDICT_GAUGES);
const HEADERS = METRICS.map((metric) => Buffer.from(verdictGaugeHeader(metric)));

/** One target's verdict lines as ready bytes: one allocation, one view per gauge (empty views for gauges it has no series of). */
interface TargetSeries {
  version: string;
  byGauge: Buffer[];
}

function toSeries(version: string, parts: VerdictParts | undefined): TargetSeries {
  if (!parts) return { version, byGauge: METRICS.map(() => EMPTY) };
  const texts = METRICS.map((metric) => parts[metric]);
  const bytes = Buffer.from(texts.join(''));
  const byGauge: Buffer[] = [];
  let offset = 0;
  for (const text of texts) {
    const length = Buffer.byteLength(text);
    byGauge.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return { version, byGauge };
}

const EMPTY = Buffer.alloc(0);
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface VerdictSeriesCacheOptions {
  /**
   * Targets read and formatted per slice; the event loop runs between slices. Default 10: at 10
   * releases and 1 image of 10 tags per target one slice is ~700 rows, whose decoding (Prisma)
   * and formatting hold the loop for a few ms each; 50 held it 26 + 11 ms on this machine.
   */
  batchSize?: number;
  /** Targets packed into one Buffer per gauge (default 64: ~700 KB at 10 releases and 10 image tags per target). */
  pageTargets?: number;
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
export class VerdictSeriesCache {
  private readonly built = new Map<string, TargetSeries>();
  /** The watched targets, as of the last successful version read (undefined before the first). */
  private members: Set<string> | undefined;
  /** Members in exposition order (by name). */
  private order: string[] = [];
  /** Members whose built series is missing or older than their version: rebuilt by refresh. */
  private readonly stale = new Set<string>();
  private generation = 0;
  private assembled: Buffer[] | undefined;
  private readonly batchSize: number;
  private readonly pageTargets: number;
  /**
   * Runs of `pageTargets` consecutive members packed into one Buffer (gauge by gauge), so that a
   * scrape writes ~160 Buffers per gauge at 10,000 targets instead of one per target: assembling
   * 60,000 references held the loop ~16 ms per scrape and their copies into write blocks 25 ms.
   * A page whose target changed is unpacked (undefined) until refresh packs it again; meanwhile
   * chunks() takes its targets' own views.
   */
  private pages: Array<Buffer[] | undefined> = [];
  private pageOf = new Map<string, number>();

  constructor(
    private readonly source: VerdictSource,
    options: VerdictSeriesCacheOptions = {},
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 10);
    this.pageTargets = Math.max(1, options.pageTargets ?? 64);
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
    if (changed === 'all' || !this.members) {
      // The whole watched set: membership may have changed, and any version may have moved.
      this.members = new Set(versions.keys());
      for (const target of [...this.built.keys()]) if (!versions.has(target)) this.built.delete(target);
      this.order = [...versions.keys()].sort(byName);
      this.repage();
      this.stale.clear();
      for (const [target, version] of versions) if (this.built.get(target)?.version !== version) this.stale.add(target);
      this.assembled = undefined;
    } else {
      // Only what moved: the cost of a refresh follows the changes, not the watchlist.
      let joined = false;
      for (const target of changed) {
        if (!versions.has(target)) continue;
        if (!this.members.has(target)) {
          this.members.add(target);
          joined = true;
        }
        this.stale.add(target);
      }
      if (joined) {
        this.order = [...this.members].sort(byName);
        this.repage();
      }
    }
    // In exposition order: a scrape during the first build shows a prefix of the final text.
    const todo = [...this.stale].sort(byName);
    for (let i = 0; i < todo.length; i += this.batchSize) {
      const batch = todo.slice(i, i + this.batchSize);
      const snapshot = await this.source.read(batch);
      // Decoding the rows was one run of the loop; formatting them is the next.
      await yieldToEventLoop();
      const formatted = formatVerdictParts(snapshot);
      for (const target of batch) {
        this.built.set(target, toSeries(versions.get(target)!, formatted.get(target)));
        this.stale.delete(target);
        this.pages[this.pageOf.get(target)!] = undefined;
      }
      this.assembled = undefined;
      // Defensive: a refresh started meanwhile (outside single flight) owns the state now.
      if (this.generation !== generation) return;
      await yieldToEventLoop();
    }
    // Pack what changed, one page per turn of the event loop (a page is ~1 MB to copy at most).
    for (let page = 0; page < this.pages.length; page++) {
      if (this.pages[page] !== undefined || !this.pack(page)) continue;
      this.assembled = undefined;
      if (this.generation !== generation) return;
      await yieldToEventLoop();
    }
  }

  /** New pages over the new member order, all unpacked. */
  private repage(): void {
    this.pageOf = new Map(this.order.map((target, i) => [target, Math.floor(i / this.pageTargets)]));
    this.pages = new Array<Buffer[] | undefined>(Math.ceil(this.order.length / this.pageTargets)).fill(undefined);
    this.assembled = undefined;
  }

  /**
   * Copies a page's targets into one Buffer, gauge by gauge, and points each target's views into
   * it (their own Buffers become garbage: the bytes are held once). False while a target of the
   * page is not built yet.
   */
  private pack(page: number): boolean {
    const targets = this.order.slice(page * this.pageTargets, (page + 1) * this.pageTargets);
    const series = targets.map((target) => this.built.get(target));
    if (series.some((s) => s === undefined)) return false;
    let total = 0;
    for (const s of series) for (const view of s!.byGauge) total += view.length;
    const bytes = Buffer.allocUnsafe(total);
    const byGauge: Buffer[] = [];
    let offset = 0;
    METRICS.forEach((_, m) => {
      const start = offset;
      for (const s of series) {
        const view = s!.byGauge[m];
        view.copy(bytes, offset);
        s!.byGauge[m] = view.length === 0 ? EMPTY : bytes.subarray(offset, offset + view.length);
        offset += view.length;
      }
      byGauge.push(bytes.subarray(start, offset));
    });
    this.pages[page] = byGauge;
    return true;
  }

  /** Whether every watched target (as of the last version read) has its series built. */
  get complete(): boolean {
    return this.members !== undefined && this.built.size === this.members.size;
  }

  /** Whether any version has been read yet. */
  get started(): boolean {
    return this.members !== undefined;
  }

  /**
   * The exposition of the verdict gauges as Buffers, in target order: each gauge's HELP and TYPE
   * once, then every built target's lines of it. The same Buffer objects until a target changes.
   */
  chunks(): Buffer[] {
    if (this.assembled) return this.assembled;
    const out: Buffer[] = [];
    METRICS.forEach((_, m) => {
      out.push(HEADERS[m]);
      this.pages.forEach((packed, page) => {
        if (packed) {
          if (packed[m].length > 0) out.push(packed[m]);
          return;
        }
        for (let i = page * this.pageTargets; i < Math.min(this.order.length, (page + 1) * this.pageTargets); i++) {
          const view = this.built.get(this.order[i])?.byGauge[m];
          if (view && view.length > 0) out.push(view);
        }
      });
    });
    this.assembled = out;
    return out;
  }

  /** Bytes held for the verdict series (the per-target RSS figure in docs/observability.md). */
  get byteLength(): number {
    let total = 0;
    for (const s of this.built.values()) for (const b of s.byGauge) total += b.length;
    return total;
  }
}
