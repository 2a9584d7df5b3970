import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ServiceConfig, Watchlist } from '@provwatch/config';

/** Injection tokens for the validated configuration (see libs/config). */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const WATCHLIST = Symbol('WATCHLIST');

/** The validated configuration, global so every module injects it instead of reading process.env. */
@Global()
@Module({})
export class ConfigurationModule {
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
