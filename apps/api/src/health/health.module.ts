import { Module } from '@nestjs/common';
import type { ServiceConfig } from '@provwatch/config';
import { SERVICE_CONFIG, SCHEMA_GATE, type SchemaGate } from '@provwatch/service-core';
import { DEPENDENCY_PROBES, PostgresProbe, RedisProbe } from './dependency.probe';
import { HealthController } from './health.controller';

@Module({
  controllers: [HealthController],
  providers: [
    {
      provide: DEPENDENCY_PROBES,
      inject: [SERVICE_CONFIG, SCHEMA_GATE],
      useFactory: (config: ServiceConfig, schema: SchemaGate) => [
        new PostgresProbe(config.databaseUrl),
        new RedisProbe(config.redisUrl),
        {
          name: 'schema',
          check: async () => {
            if (!schema.ready) throw new Error('database migrations not applied yet');
          },
        },
      ],
    },
  ],
})
export class HealthModule {}
