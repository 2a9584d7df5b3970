import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { ServiceConfig, WatchlistSource } from '@provwatch/config';
import { ConfigurationModule, PersistenceModule } from '@provwatch/service-core';
import { ApiTokenGuard } from './auth/api-token.guard';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { StatusModule } from './status/status.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkerModule } from '../../worker/src/worker.module';

@Module({})
export class AppModule {
  /** Modules by role: `api` serves the status API and the webhook, `worker` discovers and verifies. */
  static register(config: ServiceConfig, watchlist: WatchlistSource): DynamicModule {
    const worker = config.roles.includes('worker');
    return {
      module: AppModule,
      imports: [
        ConfigurationModule.register(config, watchlist),
        // Every role serves health and /metrics: a worker-only process has counters of its own.
        PersistenceModule,
        HealthModule,
        MetricsModule,
        ...(config.roles.includes('api') ? [StatusModule, WebhooksModule] : []),
        ...(worker ? [WorkerModule] : []),
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiTokenGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
