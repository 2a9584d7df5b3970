import { hostname } from 'node:os';
import { Global, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type ServiceConfig, type WatchlistSource, redisConnectionFromUrl } from '@provwatch/config';
import { AlertmanagerClient, type ProvwatchMetrics } from '@provwatch/observability';
import { MetricsRepository, type PrismaClient } from '@provwatch/persistence';
import { loadTrustRootDocument } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { SERVICE_CONFIG, WATCHLIST_SOURCE, METRICS, PRISMA, SCHEMA_GATE, type SchemaGate, PostgresProbe, RedisProbe, WORKER_READINESS } from '@provwatch/service-core';
import { AlertPublisher } from './alerts/alert-publisher';
import { ResendTurn } from './alerts/resend-turn';
import { TrustRootKeeper } from './trust/trust-root.keeper';
import { WorkerRuntime } from './worker.runtime';
import { WorkerStarter } from './worker.starter';

export const WORKER_STARTER = Symbol('WORKER_STARTER');

/**
 * The worker role: BullMQ processors and the discovery schedules. Nothing here waits for Redis or
 * Postgres: the WorkerStarter starts the runtime in the background once both answer and the
 * schema is migrated, so the process listens and reports not-ready meanwhile.
 */
@Global()
@Module({
  providers: [
    {
      provide: WORKER_STARTER,
      inject: [SERVICE_CONFIG, WATCHLIST_SOURCE, PRISMA, METRICS, SCHEMA_GATE],
      useFactory: (config: ServiceConfig, watchlist: WatchlistSource, prisma: PrismaClient, metrics: ProvwatchMetrics, schema: SchemaGate) => {
        const logger = new Logger('worker');
        // One subscription for the process, forwarded to the runtime of the latest start attempt
        // (a failed attempt's runtime is stopped and ignores it); failures are logged by the runtime.
        let runtime: WorkerRuntime | undefined;
        watchlist.onChange((next) => runtime?.updateWatchlist(next).catch(() => undefined));
        const redis = new RedisProbe(config.redisUrl);
        const postgres = new PostgresProbe(config.databaseUrl);
        return new WorkerStarter({
          preconditions: async () => {
            await redis.check(2000).catch((err: Error) => {
              throw new Error(`redis ${redis.address} unreachable (${err.message})`);
            });
            await postgres.check(2000).catch((err: Error) => {
              throw new Error(`postgres ${postgres.address} unreachable (${err.message})`);
            });
            // The worker writes from its first job on: without the schema it must not start.
            await schema.ensure();
          },
          create: async () => {
            const trustRoots = new TrustRootKeeper({
              load: () => loadTrustRootDocument({ trustedRootFile: config.trustedRootFile, tufMirrorUrl: config.tufMirrorUrl }),
              parse: (json) => SigstoreTrustRoot.fromJSON(json),
              refreshIntervalMs: config.trustRootRefreshSeconds * 1000,
              log: (message) => logger.warn(message),
              onRefresh: (_state, ok) => {
                if (!ok) metrics.trustRootRefreshFailuresTotal.inc();
              },
            });
            await trustRoots.start();
            metrics.trackTrustRoot(() => trustRoots.state);
            const statuses = new MetricsRepository(prisma);
            const windows = watchlist.derived((w) => w.targets.map((t) => ({ name: t.name, keepLast: t.releases.keepLast })));
            const alerts = new AlertPublisher({
              client: new AlertmanagerClient({
                urls: config.alertmanagerUrls,
                onResult: (state, result, count) => metrics.alertsSentTotal.inc({ state, result }, count),
              }),
              snapshot: () => statuses.verdicts(windows(), { notPassing: true }),
              resendIntervalMs: config.alertResendIntervalSeconds * 1000,
              turn: config.alertmanagerUrls.length > 0 ? new ResendTurn(redisConnectionFromUrl(config.redisUrl), `${config.queuePrefix}:alert-resend-turn`, `${hostname()}:${process.pid}`, (m) => logger.warn(m)) : undefined,
              publicUrl: config.publicUrl,
              log: (message) => logger.warn(message),
            });
            runtime = new WorkerRuntime({
              config,
              watchlist: watchlist.current(),
              prisma,
              trustRoot: () => trustRoots.current(),
              trustRoots,
              connection: redisConnectionFromUrl(config.redisUrl),
              lockDurationMs: config.jobLockDurationSeconds * 1000,
              stalledIntervalMs: config.jobStalledIntervalSeconds * 1000,
              log: (message, fields) => {
                const { level = 'warn', ...rest } = fields ?? {};
                const line = fields ? { msg: message, ...rest } : message;
                if (level === 'debug') logger.debug(line);
                else if (level === 'info') logger.log(line);
                else logger.warn(line);
              },
              metrics,
              alerts,
            });
            return runtime;
          },
          log: (message) => logger.warn(message),
          maxDelayMs: config.startRetryMaxSeconds * 1000,
        });
      },
    },
    // /readyz (HealthModule) asks this: not ready until the worker actually runs.
    { provide: WORKER_READINESS, useExisting: WORKER_STARTER },
  ],
  exports: [WORKER_READINESS],
})
export class WorkerModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WORKER_STARTER) private readonly starter: WorkerStarter) {}

  onApplicationBootstrap(): void {
    this.starter.begin();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.starter.stop();
  }
}
