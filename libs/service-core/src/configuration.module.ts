import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ServiceConfig, WatchlistSource } from '@provwatch/config';

/** Injection tokens for the validated configuration (see libs/config). */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
/**
 * The WatchlistSource: the watchlist in use (`current()`) and its reloads. Not a plain value,
 * so that no module keeps the watchlist of the start after a reload.
 */
export const WATCHLIST_SOURCE = Symbol('WATCHLIST_SOURCE');

/** The validated configuration, global so every module injects it instead of reading process.env. */
@Global()
@Module({})
export class ConfigurationModule {
  static register(config: ServiceConfig, watchlist: WatchlistSource): DynamicModule {
    return {
      module: ConfigurationModule,
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: WATCHLIST_SOURCE, useValue: watchlist },
      ],
      exports: [SERVICE_CONFIG, WATCHLIST_SOURCE],
    };
  }
}
