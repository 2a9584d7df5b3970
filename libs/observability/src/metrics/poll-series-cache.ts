import { yieldToEventLoop } from '../event-loop';
import { PagedSeries } from './paged-series';
import type { PollSnapshot } from './status-snapshot';
import { escapeLabelValue, formatGauge, formatGaugeHeader, formatValue } from './exposition-text';

type PollRow = PollSnapshot['polls'][number];

const seconds = (date: Date) => date.getTime() / 1000;

/** Per watched target and source: three gauges from one poll row (no series where undefined). */
const ROW_GAUGES: ReadonlyArray<{ name: string; help: string; value: (p: PollRow) => number | undefined }> = [
  {
    name: 'provwatch_poll_last_success_timestamp_seconds',
    help: 'Last successful discovery poll of a source (github-releases, oci-tags) of a target (Unix seconds).',
    value: (p) => (p.lastSuccessAt ? seconds(p.lastSuccessAt) : undefined),
  },
  {
    name: 'provwatch_last_poll_timestamp_seconds',
    help: 'Last discovery poll of a source of a target, whatever its outcome (Unix seconds): stops moving when nothing polls any more.',
    value: (p) => (p.lastPolledAt ? seconds(p.lastPolledAt) : undefined),
  },
  {
    name: 'provwatch_up',
    help: 'Whether the last discovery poll of a source succeeded (1) or failed (0).',
    value: (p) => (p.lastPolledAt ? (p.lastErrorCode === null ? 1 : 0) : undefined),
  },
];

/** Gauges of the whole snapshot (one series each). */
const TOTAL_GAUGES: ReadonlyArray<{ name: string; help: string; value: (s: PollSnapshot) => number | undefined }> = [
  { name: 'provwatch_github_rate_limit_remaining', help: "Requests left in GitHub's rate-limit window, as GitHub last reported it.", value: (s) => s.githubRateLimitRemaining ?? undefined },
  { name: 'provwatch_targets', help: 'Watched targets known to the database.', value: (s) => s.targets },
];

// Each gauge's block ends with an empty line, as prom-client writes them.
const ROW_HEADERS = ROW_GAUGES.map((gauge, g) => Buffer.from(`${g === 0 ? '' : '\n'}${formatGaugeHeader(gauge.name, gauge.help)}`));
const ROWS_END = Buffer.from('\n');
/** Rows formatted per turn of the event loop. */
const ROW_SLICE = 500;

/**
 * The poll gauges of every watched target and source, kept as bytes per row and rewritten only
 * for the rows a read returns: with PollStateFeed a scrape at 10,000 targets formats the polls
 * since the previous scrape, not 30,000 series (which, with the snapshot kept for a second, also
 * survived young-generation collections that stalled the event loop 25-80 ms).
 */
export class PollSeriesCache {
  private readonly series: PagedSeries;
  private totals = '';
  private applied = false;

  /** `allocate`: where the series bytes are allocated (default: this thread's memory; see PagedSeries). */
  constructor(allocate?: (bytes: number) => Buffer) {
    this.series = new PagedSeries(ROW_HEADERS, undefined, allocate);
  }

  /** Takes a read: every row (`complete`), or the rows changed since the previous one. */
  async apply(snapshot: PollSnapshot): Promise<void> {
    const rows = snapshot.polls;
    const keys = rows.map((p) => `${p.target}\u0000${p.source}`);
    // A partial read before any complete one has no basis: the caller's feed starts complete.
    if (snapshot.complete === false && this.applied) this.series.addKeys(keys);
    else this.series.setKeys(keys);
    for (let start = 0; start < rows.length; start += ROW_SLICE) {
      // Re-paging 20,000 keys is a turn of its own (~10 ms at 10,000 targets), and so is each slice.
      if (start > 0 || rows.length > ROW_SLICE) await yieldToEventLoop();
      for (let i = start; i < Math.min(rows.length, start + ROW_SLICE); i++) {
        const labels = pollLabelText(rows[i]);
        this.series.set(
          keys[i],
          ROW_GAUGES.map((gauge) => {
            const value = gauge.value(rows[i]);
            return value === undefined ? '' : `${gauge.name}{${labels}} ${formatValue(value)}\n`;
          }),
        );
      }
    }
    this.totals = TOTAL_GAUGES.map((gauge) => {
      const value = gauge.value(snapshot);
      return formatGauge(gauge.name, gauge.help, value === undefined ? [] : [{ labels: {}, value }]);
    }).join('');
    this.applied = true;
    await this.series.pack();
  }

  /** The poll gauges as of the last read. */
  chunks(): Array<Buffer | string> {
    return [...this.series.chunks(), ROWS_END, this.totals];
  }

  /** The poll gauges without series (Postgres did not answer this scrape). */
  static headers(): string {
    return [...ROW_GAUGES, ...TOTAL_GAUGES].map((gauge) => formatGauge(gauge.name, gauge.help, [])).join('');
  }
}

/**
 * The poll gauges kept by one PollSeriesCache over `read`: each call applies one read (every row,
 * or the rows changed since) and returns the gauges as of it. Calls must not overlap (the caller's
 * CoalescedReader or queue keeps them single flight): each read's changes apply in order.
 */
export function pollSeriesReader(read: () => Promise<PollSnapshot>, allocate?: (bytes: number) => Buffer): () => Promise<Array<Buffer | string>> {
  const cache = new PollSeriesCache(allocate);
  return async () => {
    await cache.apply(await read());
    return cache.chunks();
  };
}

/** `oci-tags:<repository>` becomes source=oci-tags, image=<repository>: one label, one meaning. */
function pollLabelText(p: PollRow): string {
  const colon = p.source.indexOf(':');
  const [source, image] = colon < 0 ? [p.source, ''] : [p.source.slice(0, colon), p.source.slice(colon + 1)];
  return `target="${escapeLabelValue(p.target)}",source="${escapeLabelValue(source)}",image="${escapeLabelValue(image)}"`;
}
