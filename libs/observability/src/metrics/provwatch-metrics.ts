import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CoalescedReader, type PollSnapshot, type QueueDepth, type VerdictSource } from './status-snapshot';
import { type VerdictParts, assembleVerdictChunks, formatVerdictParts } from './verdict-exposition';

/** Where the scrape-time gauges read from; each may be absent (a process without Redis access). */
export interface MetricSources {
  verdicts?: VerdictSource;
  polls?: () => Promise<PollSnapshot>;
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
  /** Targets read per query when verdicts changed (bounds one query's rows). Default 200. */
  verdictBatchSize?: number;
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

type SeriesValue = { labels: Record<string, string | number>; value: number };

/** The subset of prom-client's metric contract the registry calls when rendering. */
interface CollectedMetric {
  name: string;
  help: string;
  type: 'gauge';
  aggregator: 'max';
  get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'max'; values: SeriesValue[] }>;
  reset(): void;
}

const seconds = (date: Date) => date.getTime() / 1000;

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
  private readonly polls?: CoalescedReader<PollSnapshot>;
  private readonly queues?: CoalescedReader<QueueDepth[]>;
  private readonly verdicts: CoalescedReader<string[]>;
  /** `at`: when the version was last confirmed; `readAt`: when the rows were last read. */
  /** Per target: its version and formatted lines. `at`: when the whole text was last confirmed. */
  private verdictCache: { parts: Map<string, { version: string; parts: VerdictParts }>; chunks: string[]; at: number } | undefined;
  private verdictRefresh: Promise<boolean> | undefined;
  private readonly verdictMaxStalenessMs: number;
  private readonly verdictBatchSize: number;
  private readonly countedFailures = new WeakSet<object>();
  private readonly dependencyTimeoutMs: number;
  /** Outcome of the last read of each dependency this process reads at scrape time. */
  private readonly dependencyUp = new Map<'postgres' | 'redis', number>();
  /** What the scrape in progress read (see render). */
  private current: { polls?: PollSnapshot; queues?: QueueDepth[] } = {};

  constructor(
    options: ProvwatchMetricsOptions,
    private readonly sources: MetricSources = {},
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
    const pollIntervals = options.pollIntervalSeconds;
    new Gauge({
      name: 'provwatch_poll_interval_seconds',
      help: "Each watched target's poll_interval from the watchlist (ProvwatchPollingStopped compares the last poll with it).",
      labelNames: ['target'],
      registers,
      collect() {
        // Read at scrape: a target removed by a reload leaves no interval behind.
        this.reset();
        for (const [target, secondsValue] of (typeof pollIntervals === 'function' ? pollIntervals() : pollIntervals) ?? []) this.set({ target }, secondsValue);
      },
    });
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
    if (sources.verdicts || sources.polls) this.dependencyUp.set('postgres', 1);
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
    this.verdictMaxStalenessMs = options.verdictMaxStalenessMs ?? 30_000;
    this.verdictBatchSize = options.verdictBatchSize ?? 200;
    this.verdicts = new CoalescedReader(() => this.verdictText(), maxAge);
    if (sources.polls) {
      this.polls = new CoalescedReader(sources.polls, maxAge);
      this.registerPollGauges();
    }
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
  async renderChunks(): Promise<string[]> {
    const [verdicts, polls, queues] = await Promise.all([this.verdictChunks(), this.polls && this.read(this.polls, 'postgres'), this.queues && this.read(this.queues, 'redis')]);
    this.current = { polls, queues };
    return [await this.registry.metrics(), '\n', ...verdicts];
  }

  /** The same as one string (tests, small registries). */
  async render(): Promise<string> {
    return (await this.renderChunks()).join('');
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

  private registerPollGauges(): void {
    const polls = (select: (s: PollSnapshot) => SeriesValue[]) => async () => (this.current.polls ? select(this.current.polls) : []);
    this.register(
      'provwatch_poll_last_success_timestamp_seconds',
      'Last successful discovery poll of a source (github-releases, oci-tags) of a target (Unix seconds).',
      polls((s) => s.polls.filter((p) => p.lastSuccessAt).map((p) => ({ labels: pollLabels(p), value: seconds(p.lastSuccessAt!) }))),
    );
    this.register(
      'provwatch_last_poll_timestamp_seconds',
      'Last discovery poll of a source of a target, whatever its outcome (Unix seconds): stops moving when nothing polls any more.',
      polls((s) => s.polls.filter((p) => p.lastPolledAt).map((p) => ({ labels: pollLabels(p), value: seconds(p.lastPolledAt!) }))),
    );
    this.register(
      'provwatch_up',
      'Whether the last discovery poll of a source succeeded (1) or failed (0).',
      polls((s) => s.polls.filter((p) => p.lastPolledAt).map((p) => ({ labels: pollLabels(p), value: p.lastErrorCode === null ? 1 : 0 }))),
    );
    this.register(
      'provwatch_github_rate_limit_remaining',
      "Requests left in GitHub's rate-limit window, as GitHub last reported it.",
      polls((s) => (s.githubRateLimitRemaining === null ? [] : [{ labels: {}, value: s.githubRateLimitRemaining }])),
    );
    this.register('provwatch_targets', 'Watched targets known to the database.', polls((s) => [{ labels: {}, value: s.targets }]));
  }

  /**
   * The verdict gauges' text. Reading every kept check of 1,000 targets takes Postgres most of a
   * second, far too long for a scrape, and little of it changes between scrapes: so each target's
   * lines are kept with its version (libs/persistence: one grouped query for all targets) and only
   * targets whose version moved are read and formatted again, in the background: a scrape answers
   * from the last text unless that is older than `verdictMaxStalenessMs`, in which case it waits
   * for fresh data. A failed read past that age yields no verdict series at all: an outage is
   * never shown as a stale "current" status.
   */
  private async verdictText(): Promise<string[]> {
    if (!this.sources.verdicts) return [];
    const age = this.verdictCache ? Date.now() - this.verdictCache.at : Infinity;
    if (age >= this.verdictMaxStalenessMs) return (await this.refreshVerdicts()) ? this.verdictCache!.chunks : [];
    void this.refreshVerdicts();
    return this.verdictCache!.chunks;
  }

  /** Single flight: concurrent scrapes share one refresh. True when the text is confirmed or renewed. */
  refreshVerdicts(): Promise<boolean> {
    this.verdictRefresh ??= (async () => {
      const source = this.sources.verdicts!;
      try {
        const versions = await source.versions();
        const previous = this.verdictCache?.parts ?? new Map<string, { version: string; parts: VerdictParts }>();
        const changed = [...versions].filter(([target, version]) => previous.get(target)?.version !== version).map(([target]) => target);
        const gone = [...previous.keys()].some((target) => !versions.has(target));
        if (this.verdictCache && changed.length === 0 && !gone) {
          this.verdictCache.at = Date.now();
          return true;
        }
        const parts = new Map([...previous].filter(([target]) => versions.has(target)));
        for (let i = 0; i < changed.length; i += this.verdictBatchSize) {
          const batch = changed.slice(i, i + this.verdictBatchSize);
          const formatted = formatVerdictParts(await source.read(batch));
          for (const target of batch) {
            const own = formatted.get(target);
            if (own) parts.set(target, { version: versions.get(target)!, parts: own });
            else parts.delete(target);
          }
          // Batches leave the event loop free in between: status reads keep flowing.
          await new Promise((r) => setImmediate(r));
        }
        // Keep the watchlist's order stable for readers of the text.
        const ordered = new Map([...parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        this.verdictCache = { parts: ordered, chunks: assembleVerdictChunks([...ordered.values()].map((p) => p.parts)), at: Date.now() };
        return true;
      } catch {
        this.dependencyUp.set('postgres', 0);
        this.scrapeErrorsTotal.inc({ collector: 'postgres' });
        return false;
      } finally {
        this.verdictRefresh = undefined;
      }
    })();
    return this.verdictRefresh;
  }

  /** Verdict text within the dependency bound; past it, none (never a stale "current" status). */
  private async verdictChunks(): Promise<string[]> {
    if (!this.sources.verdicts) return [];
    try {
      return await this.bounded(this.verdicts.get(), 'postgres');
    } catch {
      this.dependencyUp.set('postgres', 0);
      this.scrapeErrorsTotal.inc({ collector: 'postgres' });
      return [];
    }
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

/** `oci-tags:<repository>` becomes source=oci-tags, image=<repository>: one label, one meaning. */
function pollLabels(p: { target: string; source: string }): Record<string, string> {
  const colon = p.source.indexOf(':');
  return colon < 0 ? { target: p.target, source: p.source, image: '' } : { target: p.target, source: p.source.slice(0, colon), image: p.source.slice(colon + 1) };
}
