import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CHECK_STATUSES, CoalescedReader, type QueueDepth, type StatusSnapshot } from './status-snapshot';

/** Where the scrape-time gauges read from; either may be absent (a process without Redis access). */
export interface MetricSources {
  status?: () => Promise<StatusSnapshot>;
  queues?: () => Promise<QueueDepth[]>;
}

export interface ProvwatchMetricsOptions {
  version: string;
  /** Node's process_* and nodejs_* metrics; off in tests that build many registries. */
  defaultMetrics?: boolean;
  /** How long one snapshot serves (one scrape reads Postgres once). Default 1 s. */
  snapshotMaxAgeMs?: number;
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
  private readonly status?: CoalescedReader<StatusSnapshot>;
  private readonly queues?: CoalescedReader<QueueDepth[]>;
  private readonly countedFailures = new WeakSet<object>();
  /** What the scrape in progress read (see render). */
  private current: { status?: StatusSnapshot; queues?: QueueDepth[] } = {};

  constructor(options: ProvwatchMetricsOptions, sources: MetricSources = {}) {
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

    const maxAge = options.snapshotMaxAgeMs ?? 1000;
    if (sources.status) {
      this.status = new CoalescedReader(sources.status, maxAge);
      this.registerStatusGauges();
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
  async render(): Promise<string> {
    const [status, queues] = await Promise.all([this.status && this.read(this.status, 'postgres'), this.queues && this.read(this.queues, 'redis')]);
    this.current = { status, queues };
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts one upstream request's outcome (see the sources' `onOutcome`). */
  countRequest(source: 'github' | 'oci', outcome: number | 'timeout' | 'network'): void {
    this.pollRequestsTotal.inc({ source, code: String(outcome) });
  }

  private registerStatusGauges(): void {
    const status = (select: (s: StatusSnapshot) => SeriesValue[]) => async () => (this.current.status ? select(this.current.status) : []);
    this.register(
      'provwatch_check_status',
      'Current status of a check: 1 for the status it has, 0 for the others. image is empty for release checks.',
      status((s) =>
        s.checks.flatMap((c) =>
          CHECK_STATUSES.map((st) => ({ labels: { target: c.target, image: c.image ?? '', release: c.release, check: c.check, status: st }, value: c.status === st ? 1 : 0 })),
        ),
      ),
    );
    this.register(
      'provwatch_check_status_since_timestamp_seconds',
      'When the current status of a check began (Unix seconds).',
      status((s) => s.checks.map((c) => ({ labels: { target: c.target, image: c.image ?? '', release: c.release, check: c.check }, value: seconds(c.since) }))),
    );
    this.register(
      'provwatch_release_verified',
      '1 when every recorded check of the release and of its images at the same tag passes, else 0.',
      status((s) => {
        const verified = new Map<string, { target: string; release: string; ok: boolean }>();
        for (const c of s.checks) {
          const key = `${c.target}\u0000${c.release}`;
          const entry = verified.get(key) ?? { target: c.target, release: c.release, ok: true };
          entry.ok &&= c.status === 'pass';
          verified.set(key, entry);
        }
        // Only tags that are releases: an image tag without a GitHub release is not a release.
        const releases = new Set(s.releases.map((r) => `${r.target}\u0000${r.release}`));
        return [...verified.entries()].filter(([k]) => releases.has(k)).map(([, v]) => ({ labels: { target: v.target, release: v.release }, value: v.ok ? 1 : 0 }));
      }),
    );
    this.register(
      'provwatch_release_published_timestamp_seconds',
      "The release's publication time on GitHub (Unix seconds).",
      status((s) => s.releases.filter((r) => r.publishedAt).map((r) => ({ labels: { target: r.target, release: r.release }, value: seconds(r.publishedAt!) }))),
    );
    this.register(
      'provwatch_release_time_to_verdict_seconds',
      'Seconds from the release being published to its first recorded verdict.',
      status((s) =>
        s.releases
          .filter((r) => r.publishedAt && r.firstVerdictAt)
          .map((r) => ({ labels: { target: r.target, release: r.release }, value: Math.max(0, seconds(r.firstVerdictAt!) - seconds(r.publishedAt!)) })),
      ),
    );
    this.register(
      'provwatch_last_verification_timestamp_seconds',
      'When a check of the target last got a decided verdict (pass, fail or missing; Unix seconds).',
      status((s) => {
        const last = new Map<string, number>();
        for (const c of s.checks) if (c.status !== 'error') last.set(c.target, Math.max(last.get(c.target) ?? 0, seconds(c.updatedAt)));
        return [...last].map(([target, value]) => ({ labels: { target }, value }));
      }),
    );
    this.register(
      'provwatch_poll_last_success_timestamp_seconds',
      'Last successful discovery poll of a source (github-releases, oci-tags) of a target (Unix seconds).',
      status((s) => s.polls.filter((p) => p.lastSuccessAt).map((p) => ({ labels: pollLabels(p), value: seconds(p.lastSuccessAt!) }))),
    );
    this.register(
      'provwatch_up',
      'Whether the last discovery poll of a source succeeded (1) or failed (0).',
      status((s) => s.polls.filter((p) => p.lastPolledAt).map((p) => ({ labels: pollLabels(p), value: p.lastErrorCode === null ? 1 : 0 }))),
    );
    this.register(
      'provwatch_github_rate_limit_remaining',
      "Requests left in GitHub's rate-limit window, as GitHub last reported it.",
      status((s) => (s.githubRateLimitRemaining === null ? [] : [{ labels: {}, value: s.githubRateLimitRemaining }])),
    );
    this.register('provwatch_targets', 'Watched targets known to the database.', status((s) => [{ labels: {}, value: s.targets }]));
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
      return await reader.get();
    } catch (err) {
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
