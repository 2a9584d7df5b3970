import { Global, Inject, Logger, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { type ServiceConfig, type WatchlistSource, redisConnectionFromUrl } from '@provwatch/config';
import { QUEUES } from '@provwatch/jobs';
import { ProvwatchMetrics, type QueueDepth, type StatusSeriesThread } from '@provwatch/observability';
import { SERVICE_CONFIG, WATCHLIST_SOURCE, METRICS } from '@provwatch/service-core';

import { MetricsController } from './metrics.controller';
import { prepareMetricsBeforeListening, startStatusSeriesThread } from './status-series';

const QUEUE_READER = Symbol('QUEUE_READER');
const STATUS_SERIES = Symbol('STATUS_SERIES');
const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(resolve(__dirname, '../../../../../package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** Queues opened only to read their depth at scrape time. */
export class QueueDepthReader {
  private readonly queues: Queue[];

  constructor(config: ServiceConfig) {
    const connection = redisConnectionFromUrl(config.redisUrl);
    // Fail fast while scraping: a Redis outage must not hold /metrics until Prometheus times out.
    this.queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: { ...connection, maxRetriesPerRequest: 1, enableOfflineQueue: false }, prefix: config.queuePrefix }));
    for (const queue of this.queues) queue.on('error', () => undefined);
  }

  async depths(): Promise<QueueDepth[]> {
    const counts = await Promise.all(this.queues.map(async (q) => [q.name, await q.getJobCounts(...JOB_STATES)] as const));
    return counts.flatMap(([queue, byState]) => JOB_STATES.map((state) => ({ queue, state, count: byState[state] ?? 0 })));
  }

  /** Bounded: with Redis unreachable a graceful close would wait for a reconnect forever. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closed = Promise.all(this.queues.map((q) => q.close())).then(() => 'closed' as const);
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 2000)));
    const outcome = await Promise.race([closed.catch(() => 'late' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') for (const q of this.queues) void q.disconnect().catch(() => undefined);
  }
}

/** /metrics, and the metrics object every other module of the process counts into. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    { provide: QUEUE_READER, inject: [SERVICE_CONFIG], useFactory: (config: ServiceConfig) => new QueueDepthReader(config) },
    {
      // The verdict and poll gauges are read and formatted in a thread of their own (see
      // StatusSeriesThread): their garbage and its collections never stall this one.
      provide: STATUS_SERIES,
      inject: [SERVICE_CONFIG, WATCHLIST_SOURCE],
      useFactory: (config: ServiceConfig, watchlist: WatchlistSource) => {
        const logger = new Logger('status-series');
        // Derived from the watchlist in use: a reload adds or drops targets' series at the next scrape.
        const watched = watchlist.derived((w) => w.targets.map((t) => ({ name: t.name, keepLast: t.releases.keepLast })));
        return startStatusSeriesThread({ databaseUrl: config.databaseUrl }, watched, {
          onExit: (code, error) => logger.error(`status series thread exited (code ${code})${error ? `: ${error.message}` : ''}; it is started again at a later scrape`),
          onWarning: (message) => logger.warn(message),
        });
      },
    },
    {
      provide: METRICS,
      inject: [WATCHLIST_SOURCE, QUEUE_READER, STATUS_SERIES],
      useFactory: (watchlist: WatchlistSource, queues: QueueDepthReader, series: StatusSeriesThread) => {
        const intervals = watchlist.derived((w) => new Map(w.targets.map((t) => [t.name, t.pollIntervalSeconds])));
        const metrics = new ProvwatchMetrics(
          { version: VERSION, pollIntervalSeconds: intervals, watchlist: () => ({ loadedAtMs: watchlist.loadedAt, lastReloadRefused: watchlist.lastReloadRefused, contentHash: watchlist.contentHash }) },
          {
            verdictSeries: series.verdicts,
            pollSeries: () => series.readPolls(),
            queues: () => queues.depths(),
          },
        );
        watchlist.onReload((outcome) => metrics.watchlistReloadsTotal.inc({ result: outcome.result }));
        return metrics;
      },
    },
  ],
  exports: [METRICS],
})
export class MetricsModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(QUEUE_READER) private readonly queues: QueueDepthReader,
    @Inject(STATUS_SERIES) private readonly series: StatusSeriesThread,
    @Inject(METRICS) private readonly metrics: ProvwatchMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    const logger = new Logger('metrics');
    await prepareMetricsBeforeListening(this.series, this.metrics, (message) => logger.warn(message));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.queues.close(), this.series.close()]);
  }
}
