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

  constructor(
    private readonly source: VerdictSource,
    options: VerdictSeriesCacheOptions = {},
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 10);
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
        this.assembled = undefined;
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
      }
      this.assembled = undefined;
      // Defensive: a refresh started meanwhile (outside single flight) owns the state now.
      if (this.generation !== generation) return;
      await yieldToEventLoop();
    }
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
    const series = this.order.map((target) => this.built.get(target)).filter((s): s is TargetSeries => s !== undefined);
    METRICS.forEach((_, m) => {
      out.push(HEADERS[m]);
      for (const s of series) if (s.byGauge[m].length > 0) out.push(s.byGauge[m]);
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
