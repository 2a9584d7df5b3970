import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadServiceConfig } from '@provwatch/config';
import { ProvwatchMetrics } from '@provwatch/observability';
import { MetricsRepository, type PrismaClient, VerdictVersionFeed, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { QueueDepthReader } from '../../apps/api/src/metrics/metrics.module';
import { OwnRedis } from '../support/own-redis';
import { createTestDatabase } from '../support/postgres';

/**
 * Fault: Redis unreachable while Prometheus scrapes. Before the fix the queue-depth read never
 * settled while ioredis reconnected, and /metrics hung with it: every status gauge, the Postgres
 * ones too, was lost for the whole outage. The scrape must answer within 5 s with the Postgres
 * gauges, the Redis outage visible as provwatch_dependency_up{dependency="redis"} 0.
 */
const MIGRATIONS = join(resolve(__dirname, '../../../prisma'), 'migrations');
let redis: OwnRedis;
let db: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let queues: QueueDepthReader;
let metrics: ProvwatchMetrics;

before(async () => {
  redis = await OwnRedis.start();
  db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  prisma = createPrismaClient(db.url);
  await prisma.target.create({ data: { name: 'example-package', github: 'slsa-framework/example-package', configHash: 'x' } });
  const config = loadServiceConfig({ DATABASE_URL: db.url, REDIS_URL: redis.url, PROVWATCH_QUEUE_PREFIX: 'metrics-fault' });
  queues = new QueueDepthReader(config);
  const statuses = new MetricsRepository(prisma);
  const windows = [{ name: 'example-package', keepLast: 10 }];
  const watched = ['example-package'];
  const versions = new VerdictVersionFeed(statuses, () => watched);
  metrics = new ProvwatchMetrics(
    { version: 'test', defaultMetrics: false, snapshotMaxAgeMs: 0 },
    {
      verdicts: { versions: () => versions.read(), read: () => statuses.verdicts(windows) },
      polls: () => statuses.polls(windows),
      queues: () => queues.depths(),
    },
  );
});

after(async () => {
  await queues?.close().catch(() => undefined);
  await redis?.kill();
  await prisma?.$disconnect();
  await db?.drop();
});

async function timedRender(): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  const text = await Promise.race([metrics.render(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('/metrics did not answer within 5 s')), 5000))]);
  return { text, ms: Date.now() - started };
}

test('/metrics answers within 5 s with Redis down, Postgres gauges still served', { timeout: 60_000 }, async () => {
  const up = await timedRender();
  assert.match(up.text, /^provwatch_queue_jobs\{queue="provwatch-verify",state="waiting"\} 0$/m);
  assert.match(up.text, /^provwatch_dependency_up\{dependency="redis"\} 1$/m);
  // Unreachable first (nothing answers, connections stay open), then gone (connections refused).
  redis.pause();
  const hung = await timedRender();
  assert.match(hung.text, /^provwatch_targets 1$/m);
  assert.match(hung.text, /^provwatch_dependency_up\{dependency="redis"\} 0$/m);
  redis.resume();
  await redis.kill();
  const timings: number[] = [hung.ms];
  for (let i = 0; i < 3; i++) {
    const down = await timedRender();
    timings.push(down.ms);
    assert.match(down.text, /^provwatch_targets 1$/m, 'the Postgres gauges are still served');
    assert.match(down.text, /^provwatch_dependency_up\{dependency="redis"\} 0$/m);
    assert.match(down.text, /^provwatch_dependency_up\{dependency="postgres"\} 1$/m);
    assert.doesNotMatch(down.text, /^provwatch_queue_jobs\{/m, 'no stale queue depths');
    assert.match(down.text, /^provwatch_scrape_errors_total\{collector="redis"\} [1-9]/m);
  }
  await redis.up();
  const back = await timedRender();
  assert.match(back.text, /^provwatch_dependency_up\{dependency="redis"\} (0|1)$/m);
  console.log(`# /metrics with Redis down: ${timings.join(', ')} ms per scrape (bound 5000)`);
});
