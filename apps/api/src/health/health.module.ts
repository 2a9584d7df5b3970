import { Module } from '@nestjs/common';
import type { ServiceConfig } from '@provwatch/config';
import { SERVICE_CONFIG, SCHEMA_GATE, type SchemaGate, WORKER_READINESS, type WorkerReadiness } from '@provwatch/service-core';
import { DEPENDENCY_PROBES, PostgresProbe, RedisProbe } from '@provwatch/service-core';
import { HealthController } from './health.controller';

@Module({
  controllers: [HealthController],
  providers: [
    {
      provide: DEPENDENCY_PROBES,
      inject: [SERVICE_CONFIG, SCHEMA_GATE, { token: WORKER_READINESS, optional: true }],
      useFactory: (config: ServiceConfig, schema: SchemaGate, worker?: WorkerReadiness) => [
        new PostgresProbe(config.databaseUrl),
        new RedisProbe(config.redisUrl),
        {
          name: 'schema',
          check: async () => {
            if (!schema.ready) throw new Error(schema.reason ?? 'database migrations not applied yet');
          },
        },
        // Present in a process with the worker role: Redis and Postgres answering is not enough,
        // the worker must actually run (it starts in the background once they do).
        ...(worker
          ? [
              {
                name: 'worker',
                check: async () => {
                  if (!worker.running) throw new Error(`not started: ${worker.reason ?? 'starting'}`);
                },
              },
            ]
          : []),
      ],
    },
  ],
})
export class HealthModule {}
