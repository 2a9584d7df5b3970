import { Global, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { type ServiceConfig, type WatchlistSource, redisConnectionFromUrl } from '@provwatch/config';
import { QUEUES } from '@provwatch/jobs';
import { ProvwatchMetrics, type QueueDepth } from '@provwatch/observability';
import { MetricsRepository, PollStateFeed, type PrismaClient, VerdictVersionFeed } from '@provwatch/persistence';
import { SERVICE_CONFIG, WATCHLIST_SOURCE, PRISMA, METRICS } from '@provwatch/service-core';

import { MetricsController } from './metrics.controller';

const QUEUE_READER = Symbol('QUEUE_READER');
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
      provide: METRICS,
      inject: [PRISMA, WATCHLIST_SOURCE, QUEUE_READER],
      useFactory: (prisma: PrismaClient, watchlist: WatchlistSource, queues: QueueDepthReader) => {
        const statuses = new MetricsRepository(prisma);
        // Derived from the watchlist in use: a reload adds or drops targets' series at the next scrape.
        const windows = watchlist.derived((w) => new Map(w.targets.map((t) => [t.name, { name: t.name, keepLast: t.releases.keepLast }])));
        const names = watchlist.derived((w) => w.targets.map((t) => t.name));
        const versions = new VerdictVersionFeed(statuses, names);
        const pollWindows = watchlist.derived((w) => [...windows().values()]);
        const polls = new PollStateFeed(statuses, pollWindows);
        const intervals = watchlist.derived((w) => new Map(w.targets.map((t) => [t.name, t.pollIntervalSeconds])));
        const metrics = new ProvwatchMetrics(
          { version: VERSION, pollIntervalSeconds: intervals, watchlist: () => ({ loadedAtMs: watchlist.loadedAt, lastReloadRefused: watchlist.lastReloadRefused, contentHash: watchlist.contentHash }) },
          {
            verdicts: {
              versions: () => versions.read(),
              read: (targets) => statuses.verdicts(targets.flatMap((t) => windows().get(t) ?? [])),
            },
            polls: () => polls.read(),
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
export class MetricsModule implements OnModuleDestroy {
  constructor(@Inject(QUEUE_READER) private readonly queues: QueueDepthReader) {}

  async onModuleDestroy(): Promise<void> {
    await this.queues.close();
  }
}
