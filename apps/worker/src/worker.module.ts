import { Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig, Watchlist } from '@provwatch/config';
import type { PrismaClient } from '@provwatch/persistence';
import { loadTrustRootDocument } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { SERVICE_CONFIG, WATCHLIST } from '../../api/src/config/config.tokens';
import { PRISMA } from '../../api/src/persistence/persistence.module';
import { WorkerRuntime } from './worker.runtime';

export const WORKER_RUNTIME = Symbol('WORKER_RUNTIME');

/** The worker role: BullMQ processors and the discovery schedules, started after bootstrap. */
@Module({
  providers: [
    {
      provide: WORKER_RUNTIME,
      inject: [SERVICE_CONFIG, WATCHLIST, PRISMA],
      useFactory: async (config: ServiceConfig, watchlist: Watchlist, prisma: PrismaClient) => {
        const logger = new Logger('worker');
        const document = await loadTrustRootDocument({ trustedRootFile: config.trustedRootFile, tufMirrorUrl: config.tufMirrorUrl });
        if (document.warning) logger.warn(document.warning);
        const trustRoot = SigstoreTrustRoot.fromJSON(document.json);
        const redis = new URL(config.redisUrl);
        return new WorkerRuntime({
          config,
          watchlist,
          prisma,
          trustRoot: () => trustRoot,
          connection: {
            host: redis.hostname,
            port: Number(redis.port || 6379),
            username: redis.username || undefined,
            password: redis.password ? decodeURIComponent(redis.password) : undefined,
            tls: redis.protocol === 'rediss:' ? {} : undefined,
            maxRetriesPerRequest: null,
          },
          log: (message) => logger.warn(message),
        });
      },
    },
  ],
})
export class WorkerModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WORKER_RUNTIME) private readonly runtime: WorkerRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}
