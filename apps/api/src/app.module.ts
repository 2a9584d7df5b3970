import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ServiceConfig, Watchlist } from '@provwatch/config';
import { SERVICE_CONFIG, WATCHLIST } from './config/config.tokens';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { PersistenceModule } from './persistence/persistence.module';
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
  /** Modules by role: `api` serves HTTP (health for now), `worker` discovers and verifies. */
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
        ...(worker ? [WorkerModule] : []),
      ],
    };
  }
}
