import { Module } from '@nestjs/common';
import type { ServiceConfig } from '@provwatch/config';
import { SERVICE_CONFIG } from '../config/config.tokens';
import { DEPENDENCY_PROBES, PostgresProbe, RedisProbe } from './dependency.probe';
import { HealthController } from './health.controller';

@Module({
  controllers: [HealthController],
  providers: [
    {
      provide: DEPENDENCY_PROBES,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ServiceConfig) => [new PostgresProbe(config.databaseUrl), new RedisProbe(config.redisUrl)],
    },
  ],
})
export class HealthModule {}
