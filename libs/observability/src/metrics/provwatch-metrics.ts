import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CoalescedReader, type PollSnapshot, type QueueDepth, type VerdictSource } from './status-snapshot';
import { VerdictSeriesCache, type VerdictSeriesStore } from './verdict-series-cache';
import { type SeriesValue, formatGaugeHeader, formatSeries } from './exposition-text';
import { yieldToEventLoop } from '../event-loop';
import { PollSeriesCache, pollSeriesReader } from './poll-series-cache';

/** Where the scrape-time gauges read from; each may be absent (a process without Redis access). */
export interface MetricSources {
  /** Verdicts read and formatted in this thread. */
  verdicts?: VerdictSource;
  /** Or the verdict series built elsewhere (StatusSeriesThread): what the service uses. */
  verdictSeries?: VerdictSeriesStore;
  /** Poll rows read and formatted in this thread. */
  polls?: () => Promise<PollSnapshot>;
  /** Or the poll gauges read and formatted elsewhere (StatusSeriesThread). */
  pollSeries?: () => Promise<Array<Buffer | string>>;
  queues?: () => Promise<QueueDepth[]>;
}

export interface ProvwatchMetricsOptions {
  version: string;
  /** Node's process_* and nodejs_* metrics; off in tests that build many registries. */
  defaultMetrics?: boolean;
  /** How long one snapshot serves (one scrape reads Postgres once). Default 1 s. */
  snapshotMaxAgeMs?: number;
  /** Oldest verdict text a scrape may answer with before it waits for fresh data. Default 30 s; 0 reads on every scrape. */
  verdictMaxStalenessMs?: number;
  /**
   * Targets read and formatted per slice when verdicts changed: bounds one query's rows and how
   * long one slice holds the event loop (the loop runs between slices). Default 10.
   */
  verdictBatchSize?: number;
  /**
   * Longest a scrape waits for a verdict build in progress (after Postgres answered the version
   * read) before it answers with the targets built so far and
   * provwatch_status_series_complete 0. Default 250 ms: the first scrape after start never waits
   * for the whole build.
   */
  verdictBuildWaitMs?: number;
  /**
   * Longest a scrape waits for one dependency (Postgres, Redis) before it answers without that
   * dependency's series. Default 2 s: a client that reconnects forever must not hold /metrics.
   */
  dependencyTimeoutMs?: number;
  /**
   * Each watched target's poll interval (watchlist), exported for ProvwatchPollingStopped; a
   * function is read at every scrape (the watchlist may be reloaded).
   */
  pollIntervalSeconds?: ReadonlyMap<string, number> | (() => ReadonlyMap<string, number>);
  /**
   * The watchlist in use, read at every scrape: when it was loaded (ms since the epoch), and
   * whether the last reload refused the file (what is on disk is not what runs).
   */
  watchlist?: () => { loadedAtMs: number; lastReloadRefused: boolean; contentHash: string };
}


/** The subset of prom-client's metric contract the registry calls when rendering. */
interface CollectedMetric {
  name: string;
  help: string;
  type: 'gauge';
  aggregator: 'max';
  get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'max'; values: SeriesValue[] }>;
  reset(): void;
}

/**
 * Every metric provwatch exports (names are part of the interface: docs/observability.md).
 * Process counters and histograms are plain prom-client metrics; status gauges are computed from
 * one Postgres snapshot per scrape, so every replica reports the same truth and a gauge never
 * outlives the row it came from.
 */
export class ProvwatchMetrics {
  readonly registry = new Registry();
  readonly verificationDuration: Histogram<'subject'>;
  readonly verificationsTotal: Counter<'target' | 'subject' | 'status'>;
  readonly pollRequestsTotal: Counter<'source' | 'code'>;
  readonly pollErrorsTotal: Counter<'target' | 'source'>;
  readonly alertsSentTotal: Counter<'state' | 'result'>;
  readonly scrapeErrorsTotal: Counter<'collector'>;
  readonly webhookDeliveriesTotal: Counter<'outcome'>;
  readonly trustRootRefreshFailuresTotal: Counter;
  readonly scheduleReconcilesTotal: Counter<'result'>;
  readonly upstreamBackoffsTotal: Counter<'host' | 'reason'>;
  readonly upstreamBackoffSeconds: Gauge<'host'>;
  readonly upstreamRequestsHeldTotal: Counter<'host' | 'caller'>;
  readonly watchlistReloadsTotal: Counter<'result'>;
  private trustRoot: (() => { origin: string; obtainedAt: number } | undefined) | undefined;
  /** The poll gauges as of the last read: rows formatted once per change, never per scrape. */
  private readonly polls?: CoalescedReader<Array<Buffer | string>>;
  private readonly queues?: CoalescedReader<QueueDepth[]>;
  private readonly verdictSeries: VerdictSeriesStore | undefined;
  /** When the last refresh that completed had started: the served text is current as of then. */
  private verdictsConfirmedAt: number | undefined;
  private verdictRefreshStartedAt = -Infinity;
  private verdictRefresh: { versionsRead: Promise<void>; done: Promise<boolean> } | undefined;
  /** Whether the verdict series of the scrape in progress cover every watched target. */
  private verdictsComplete = false;
  private readonly verdictMaxStalenessMs: number;
  private readonly verdictBuildWaitMs: number;
  private readonly snapshotMaxAgeMs: number;
  private readonly pollIntervals: ProvwatchMetricsOptions['pollIntervalSeconds'];
  private pollIntervalCache: { source: ReadonlyMap<string, number> | undefined; bytes: Promise<Buffer> } | undefined;
  private readonly countedFailures = new WeakSet<object>();
  private readonly dependencyTimeoutMs: number;
  /** Outcome of the last read of each dependency this process reads at scrape time. */
  private readonly dependencyUp = new Map<'postgres' | 'redis', number>();
  /** What the scrape in progress read (see render). */
  private current: { queues?: QueueDepth[] } = {};

  constructor(
    options: ProvwatchMetricsOptions,
    sources: MetricSources = {},
  ) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'provwatch_build_info', help: 'provwatch version and runtime; always 1.', labelNames: ['version', 'node_version'], registers }).set(
      { version: options.version, node_version: process.version },
      1,
    );
    this.verificationDuration = new Histogram({
      name: 'provwatch_verification_duration_seconds',
      help: 'Wall time of one verification run (downloads, Rekor, policy), by subject kind.',
      labelNames: ['subject'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.verificationsTotal = new Counter({
      name: 'provwatch_verifications_total',
      help: 'Verification runs recorded, by target, subject kind and overall status.',
      labelNames: ['target', 'subject', 'status'],
      registers,
    });
    this.pollRequestsTotal = new Counter({
      name: 'provwatch_poll_requests_total',
      help: 'HTTP requests to upstream sources (github, oci), by HTTP status code, or timeout/network.',
      labelNames: ['source', 'code'],
      registers,
    });
    this.pollErrorsTotal = new Counter({
      name: 'provwatch_poll_errors_total',
      help: 'Discovery polls that failed, by target and source (github-releases, oci-tags).',
      labelNames: ['target', 'source'],
      registers,
    });
    this.alertsSentTotal = new Counter({
      name: 'provwatch_alerts_sent_total',
      help: 'Alerts pushed to Alertmanager, one per Alertmanager URL, by state (firing, resolved) and result.',
      labelNames: ['state', 'result'],
      registers,
    });
    this.scrapeErrorsTotal = new Counter({
      name: 'provwatch_scrape_errors_total',
      help: 'Scrape-time reads that failed (postgres, redis); the scrape answers with what it has.',
      labelNames: ['collector'],
      registers,
    });
    this.webhookDeliveriesTotal = new Counter({
      name: 'provwatch_webhook_deliveries_total',
      help: 'GitHub webhook deliveries by outcome (queued, duplicate, ignored, signature-invalid, not-configured, not-watched, invalid, unavailable, internal-error).',
      labelNames: ['outcome'],
      registers,
    });
    this.trustRootRefreshFailuresTotal = new Counter({
      name: 'provwatch_trust_root_refresh_failures_total',
      help: 'Scheduled refreshes of the Sigstore trust root that failed (the last good root stays in use).',
      registers,
    });
    this.scheduleReconcilesTotal = new Counter({
      name: 'provwatch_schedule_reconciles_total',
      help: 'Times the worker made the discovery schedulers in Redis match the watchlist (start, timer, Redis reconnect), by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
    this.upstreamBackoffsTotal = new Counter({
      name: 'provwatch_upstream_backoffs_total',
      help: 'Back-offs of an upstream host this process set (shared by all replicas through Redis), by host and reason (rate-limited, unavailable).',
      labelNames: ['host', 'reason'],
      registers,
    });
    this.upstreamBackoffSeconds = new Gauge({
      name: 'provwatch_upstream_backoff_seconds',
      help: 'Length of the last back-off of an upstream host this process set (seconds).',
      labelNames: ['host'],
      registers,
    });
    this.upstreamRequestsHeldTotal = new Counter({
      name: 'provwatch_upstream_requests_held_total',
      help: 'Polls and verify jobs that sent nothing because their upstream host was backed off (caller poll or verify).',
      labelNames: ['host', 'caller'],
      registers,
    });
    this.watchlistReloadsTotal = new Counter({
      name: 'provwatch_watchlist_reloads_total',
      help: 'Watchlist reloads (SIGHUP, file change) by result: ok (a new watchlist in use), unchanged, invalid (refused, the previous one stays).',
      labelNames: ['result'],
      registers,
    });
    // From zero, so that an alert on increase(...{result="invalid"}) sees the first refusal.
    for (const result of ['ok', 'unchanged', 'invalid']) this.watchlistReloadsTotal.inc({ result }, 0);
    // One series per watched target: formatted once per watchlist (a reload makes a new map).
    this.pollIntervals = options.pollIntervalSeconds;
    const watchlist = options.watchlist;
    if (watchlist) {
      new Gauge({
        name: 'provwatch_watchlist_loaded_timestamp_seconds',
        help: 'When the watchlist in use was loaded, at start or by the last reload that changed it (Unix seconds).',
        registers,
        collect() {
          this.set(watchlist().loadedAtMs / 1000);
        },
      });
      new Gauge({
        name: 'provwatch_watchlist_info',
        help: 'The watchlist in use: sha256 (first 16 hex digits) of its validated content, policy files included; always 1. Replicas that differ run different watchlists.',
        labelNames: ['sha256'],
        registers,
        collect() {
          this.reset();
          this.set({ sha256: watchlist().contentHash.slice(0, 16) }, 1);
        },
      });
      new Gauge({
        name: 'provwatch_watchlist_reload_refused',
        help: 'Whether the last reload refused the watchlist file (1: the file on disk is invalid, the previous watchlist runs) or not (0).',
        registers,
        collect() {
          this.set(watchlist().lastReloadRefused ? 1 : 0);
        },
      });
    }
    const trustRoot = () => this.trustRoot?.();
    new Gauge({
      name: 'provwatch_trust_root_age_seconds',
      help: 'Age of the Sigstore trust root in use: time since it was obtained (from TUF, a file, or the embedded seed).',
      labelNames: ['origin'],
      registers,
      collect() {
        this.reset();
        const state = trustRoot();
        if (state) this.set({ origin: state.origin }, Math.max(0, (Date.now() - state.obtainedAt) / 1000));
      },
    });
    this.dependencyTimeoutMs = options.dependencyTimeoutMs ?? 2000;
    if (sources.verdicts || sources.verdictSeries || sources.polls || sources.pollSeries) this.dependencyUp.set('postgres', 1);
    if (sources.queues) this.dependencyUp.set('redis', 1);
    const dependencies = this.dependencyUp;
    new Gauge({
      name: 'provwatch_dependency_up',
      help: 'Whether the last scrape-time read of a dependency (postgres, redis) answered in time (1) or failed or timed out (0).',
      labelNames: ['dependency'],
      registers,
      collect() {
        this.reset();
        for (const [dependency, value] of dependencies) this.set({ dependency }, value);
      },
    });
    const maxAge = options.snapshotMaxAgeMs ?? 1000;
    this.snapshotMaxAgeMs = maxAge;
    this.verdictMaxStalenessMs = options.verdictMaxStalenessMs ?? 30_000;
    this.verdictBuildWaitMs = options.verdictBuildWaitMs ?? 250;
    this.verdictSeries = sources.verdictSeries ?? (sources.verdicts && new VerdictSeriesCache(sources.verdicts, { batchSize: options.verdictBatchSize }));
    if (this.verdictSeries) {
      const complete = () => (this.verdictsComplete ? 1 : 0);
      new Gauge({
        name: 'provwatch_status_series_complete',
        help: 'Whether this scrape carries the verdict series (provwatch_check_status and the other per-release gauges) of every watched target (1), or not (0: the first build after start is still running, or Postgres failed past the staleness bound).',
        registers,
        collect() {
          this.set(complete());
        },
      });
    }
    // The poll gauges (three series per target and source: 30,000 at 10,000 targets) are kept as
    // bytes (PollSeriesCache), not prom-client gauges, whose generic path (label objects, hashing)
    // held the event loop for tens of ms at that size. Reads are single flight (CoalescedReader):
    // each read's changes are applied in order.
    const pollChunks = sources.pollSeries ?? (sources.polls && pollSeriesReader(sources.polls));
    if (pollChunks) this.polls = new CoalescedReader(pollChunks, maxAge);
    if (sources.queues) {
      this.queues = new CoalescedReader(sources.queues, maxAge);
      this.register('provwatch_queue_jobs', 'BullMQ jobs per queue and state, read from Redis at scrape time.', async () => {
        return (this.current.queues ?? []).map((d) => ({ labels: { queue: d.queue, state: d.state }, value: d.count }));
      });
    }
  }

  /**
   * The exposition text. Postgres and Redis are read first, once, so that every gauge of this
   * scrape shows the same snapshot and a failed read is already counted in this very scrape.
   */
  async renderChunks(): Promise<Array<string | Buffer>> {
    const intervals = this.pollIntervalBytes();
    const [verdicts, polls, queues] = await Promise.all([this.verdictChunks(), this.polls && this.read(this.polls, 'postgres'), this.queues && this.read(this.queues, 'redis')]);
    this.current = { queues };
    return [await this.registry.metrics(), '\n', await intervals, ...(polls ?? [PollSeriesCache.headers()]), ...verdicts];
  }

  /**
   * `provwatch_poll_interval_seconds` of the watchlist in use, formatted and encoded only when it
   * changed: at 10,000 targets the text is ~600 KB, and encoding it for every scrape allocated
   * that much each time. Formatted in slices: in one run it held the event loop 40-60 ms of the
   * first scrape after start on a 2-core machine.
   */
  private pollIntervalBytes(): Promise<Buffer> {
    const source = typeof this.pollIntervals === 'function' ? this.pollIntervals() : this.pollIntervals;
    if (this.pollIntervalCache?.source !== source || this.pollIntervalCache === undefined) {
      this.pollIntervalCache = { source, bytes: formatPollIntervals(source ?? new Map()) };
    }
    return this.pollIntervalCache.bytes;
  }

  /**
   * Before the server listens: formats the watchlist's poll intervals (in slices), so that the
   * first scrape finds the text ready, and renders the registry once, result discarded. The first
   * render runs prom-client's formatting and the default collectors (/proc reads, the fd listing)
   * on code V8 has not compiled yet: it was most of the serving thread's ~14 ms of CPU in the
   * first scrape after start (bench/metrics-scrape, the build's longest gap in a --cpu-prof
   * profile). Collecting has no effect a scrape could see: counters only count events. Returns
   * the registry's text (a sample for warmGzipExposition).
   */
  async prepareFirstScrape(): Promise<string> {
    const intervals = this.pollIntervalBytes();
    const text = await this.registry.metrics();
    await intervals;
    return text;
  }

  /** The same as one string (tests, small registries). */
  async render(): Promise<string> {
    return (await this.renderChunks()).map((c) => (typeof c === 'string' ? c : c.toString('utf8'))).join('');
  }

  /** Bytes held for the verdict series (bench: RSS per target). */
  get verdictSeriesBytes(): number {
    return this.verdictSeries?.byteLength ?? 0;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The worker's trust root keeper reports here; processes without one export no age. */
  trackTrustRoot(state: () => { origin: string; obtainedAt: number } | undefined): void {
    this.trustRoot = state;
  }

  /** Counts one upstream request's outcome (see the sources' `onOutcome`). */
  countRequest(source: 'github' | 'oci', outcome: number | 'timeout' | 'network'): void {
    this.pollRequestsTotal.inc({ source, code: String(outcome) });
  }

  /**
   * Starts a background refresh of the verdict series unless one runs (single flight: concurrent
   * scrapes share it). Resolves true when it completed, false when Postgres failed (counted).
   */
  refreshVerdicts(): Promise<boolean> {
    if (!this.verdictSeries) return Promise.resolve(false);
    if (this.verdictRefresh) return this.verdictRefresh.done;
    const started = Date.now();
    this.verdictRefreshStartedAt = started;
    let versionsRead!: () => void;
    const versionsReadPromise = new Promise<void>((resolve) => (versionsRead = resolve));
    const done = this.verdictSeries.refresh(versionsRead).then(
      () => {
        this.verdictsConfirmedAt = started;
        return true;
      },
      () => {
        this.dependencyUp.set('postgres', 0);
        this.scrapeErrorsTotal.inc({ collector: 'postgres' });
        return false;
      },
    );
    const refresh = { versionsRead: Promise.race([versionsReadPromise, done.then(() => undefined)]), done };
    this.verdictRefresh = refresh;
    void done.finally(() => {
      if (this.verdictRefresh === refresh) this.verdictRefresh = undefined;
    });
    return done;
  }

  /**
   * The verdict gauges' bytes for one scrape. Reading and formatting every kept check of 10,000
   * targets takes seconds, and little of it changes between scrapes: each target's lines are kept
   * as bytes with its version (VerdictSeriesCache) and only targets whose version moved are read
   * again, in the background, at most once per `snapshotMaxAgeMs`. Within `verdictMaxStalenessMs`
   * of the last completed refresh a scrape answers at once from what is built. Past it (and on the
   * first scrape) it waits for Postgres to answer the version read (at most the dependency bound)
   * and then at most `verdictBuildWaitMs` for the build, and answers with what is built so far. A
   * failed read past the staleness bound yields no verdict series at all: an outage is never
   * shown as a stale "current" status.
   */
  private async verdictChunks(): Promise<Buffer[]> {
    const cache = this.verdictSeries;
    if (!cache) return [];
    const now = Date.now();
    const fresh = this.verdictsConfirmedAt !== undefined && now - this.verdictsConfirmedAt < this.verdictMaxStalenessMs;
    if (fresh) {
      if (now - this.verdictRefreshStartedAt >= this.snapshotMaxAgeMs) void this.refreshVerdicts();
      this.verdictsComplete = cache.complete;
      return cache.chunks();
    }
    const done = this.refreshVerdicts();
    const refresh = this.verdictRefresh;
    let outcome: boolean | 'building' | 'timeout';
    try {
      if (refresh) await this.bounded(refresh.versionsRead, 'postgres');
      let timer: NodeJS.Timeout | undefined;
      outcome = await Promise.race([done, new Promise<'building'>((r) => (timer = setTimeout(() => r('building'), this.verdictBuildWaitMs)))]);
      clearTimeout(timer);
    } catch {
      outcome = 'timeout';
    }
    if (outcome === 'timeout') {
      // The version read did not answer within the bound (a failed refresh counts itself).
      this.dependencyUp.set('postgres', 0);
      this.scrapeErrorsTotal.inc({ collector: 'postgres' });
    }
    if (outcome === false || outcome === 'timeout') {
      this.verdictsComplete = false;
      return [];
    }
    this.verdictsComplete = cache.complete;
    return cache.chunks();
  }

  /** Rejects after the dependency bound; the read itself goes on and may warm the next scrape. */
  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${this.dependencyTimeoutMs} ms`)), this.dependencyTimeoutMs);
    });
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** A gauge whose series are computed when rendered (no stale series between scrapes). */
  private register(name: string, help: string, values: () => Promise<SeriesValue[]>): void {
    const metric: CollectedMetric = {
      name,
      help,
      type: 'gauge',
      aggregator: 'max',
      get: async () => ({ name, help, type: 'gauge', aggregator: 'max', values: await values() }),
      reset: () => undefined,
    };
    this.registry.registerMetric(metric as never);
  }

  /**
   * A failed read leaves its gauges empty for this scrape and is counted once (concurrent scrapes
   * share one rejected read), never thrown.
   */
  private async read<T>(reader: CoalescedReader<T>, collector: 'postgres' | 'redis'): Promise<T | undefined> {
    try {
      const value = await this.bounded(reader.get(), collector);
      this.dependencyUp.set(collector, 1);
      return value;
    } catch (err) {
      this.dependencyUp.set(collector, 0);
      const key = typeof err === 'object' && err !== null ? err : undefined;
      if (!key || !this.countedFailures.has(key)) {
        if (key) this.countedFailures.add(key);
        this.scrapeErrorsTotal.inc({ collector });
      }
      return undefined;
    }
  }
}

const POLL_INTERVAL_HELP = "Each watched target's poll_interval from the watchlist (ProvwatchPollingStopped compares the last poll with it).";
/** Series formatted per turn of the event loop. */
const POLL_INTERVAL_SLICE = 1000;

async function formatPollIntervals(intervals: ReadonlyMap<string, number>): Promise<Buffer> {
  const parts = [formatGaugeHeader('provwatch_poll_interval_seconds', POLL_INTERVAL_HELP)];
  let slice: SeriesValue[] = [];
  for (const [target, value] of intervals) {
    slice.push({ labels: { target }, value });
    if (slice.length === POLL_INTERVAL_SLICE) {
      parts.push(formatSeries('provwatch_poll_interval_seconds', slice));
      slice = [];
      await yieldToEventLoop();
    }
  }
  parts.push(formatSeries('provwatch_poll_interval_seconds', slice), '\n');
  return Buffer.from(parts.join(''));
}
