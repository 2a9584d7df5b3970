import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import type { ServiceConfig } from '@provwatch/config';
import { TEST_REDIS_URL, ensureRedis } from '../../../../test/support/redis';
import { JobQueueService } from './job-queue.service';

describe('webhook delivery claims', () => {
  const prefix = `claims-${randomUUID().slice(0, 8)}`;
  let jobs: JobQueueService;
  let redis: Redis;

  before(async () => {
    await ensureRedis();
    jobs = new JobQueueService({ redisUrl: TEST_REDIS_URL, queuePrefix: prefix } as ServiceConfig);
    redis = new Redis(TEST_REDIS_URL);
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await jobs.onModuleDestroy();
  });

  test('a delivery id is claimed once; a released claim can be taken again', async () => {
    const id = randomUUID();
    assert.equal(await jobs.claimDelivery(id), true);
    assert.equal(await jobs.claimDelivery(id), false);
    assert.equal(await jobs.claimDelivery(randomUUID()), true, 'another delivery is not a duplicate');
    await jobs.releaseDelivery(id);
    assert.equal(await jobs.claimDelivery(id), true);
  });

  test('the claim expires, and Redis holds a hash of the id under the queue prefix, not the id', async () => {
    const id = randomUUID();
    assert.equal(await jobs.claimDelivery(id, 1), true);
    const keys = await redis.keys(`${prefix}:webhook-delivery:*`);
    assert.ok(keys.length > 0);
    assert.ok(keys.every((k) => /^[^:]+:webhook-delivery:[0-9a-f]{32}$/.test(k) && !k.includes(id)));
    const ttls = await Promise.all(keys.map((k) => redis.ttl(k)));
    assert.ok(ttls.every((t) => t > 0), 'every claim expires');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await jobs.claimDelivery(id), true, 'claimable again after its time');
  });

  test('with Redis down a claim fails at once instead of hanging', async () => {
    const down = new JobQueueService({ redisUrl: 'redis://127.0.0.1:9', queuePrefix: prefix } as ServiceConfig);
    try {
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(down.claimDelivery(randomUUID()));
    } finally {
      await down.onModuleDestroy();
    }
  });
});
