import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { ServiceConfig, Watchlist } from '@provwatch/config';
import { SERVICE_CONFIG, WATCHLIST } from './config/config.tokens';
import { ApiTokenGuard } from './auth/api-token.guard';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { PersistenceModule } from './persistence/persistence.module';
import { StatusModule } from './status/status.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkerModule } from '../../worker/src/worker.module';

/** The validated configuration, global so every module injects it instead of reading process.env. */
@Global()
@Module({})
class ConfigurationModule {
  static register(config: ServiceConfig, watchlist: Watchlist): DynamicModule {
    return {
      module: ConfigurationModule,
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: WATCHLIST, useValue: watchlist },
      ],
      exports: [SERVICE_CONFIG, WATCHLIST],
    };
  }
}

@Module({})
export class AppModule {
  /** Modules by role: `api` serves the status API and the webhook, `worker` discovers and verifies. */
  static register(config: ServiceConfig, watchlist: Watchlist): DynamicModule {
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
