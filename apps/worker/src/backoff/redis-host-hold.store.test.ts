import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { UpstreamBackoff, UpstreamBackoffPolicy } from '@provwatch/sources';
import { redisConnectionOptions } from '../../../../test/support/redis';
import { type HoldRedis, RedisHostHoldStore } from './redis-host-hold.store';

/** Against the real local Redis, under a prefix of its own. */
const prefix = `test-${randomUUID()}`;
let queue: Queue;
let client: () => Promise<HoldRedis>;
before(async () => {
  queue = new Queue('backoff-store', { connection: await redisConnectionOptions(), prefix });
  client = () => queue.getBackend().client as unknown as Promise<HoldRedis>;
});
after(async () => {
  const raw = (await client()) as unknown as { del(...k: string[]): Promise<number> };
  await raw.del(new RedisHostHoldStore(client, prefix).key('api.github.com'), new RedisHostHoldStore(client, prefix).key('other.example'));
  await queue.close();
});

test('holds in Redis: under the queue prefix, the later hold wins, two replicas see one hold, one probe after it', async () => {
  const now = Date.now();
  const store = new RedisHostHoldStore(client, prefix);
  assert.equal(store.key('API.GitHub.com'), `${prefix}:upstream-backoff:api.github.com`);
  assert.deepEqual(await store.peek('api.github.com', now), { failures: 0, recorded: false });
  await store.hold('api.github.com', { untilMs: now + 6000, reason: 'rate-limited' });
  await store.hold('api.github.com', { untilMs: now + 1000, reason: 'unavailable' });
  // Another replica (another store on the same Redis) sees the same, longer hold.
  const replica = new RedisHostHoldStore(client, prefix);
  assert.deepEqual(await replica.admit('api.github.com', now, now + 30_000), { hold: { untilMs: now + 6000, reason: 'rate-limited' }, failures: 0, recorded: true });
  assert.deepEqual(await store.peek('other.example', now), { failures: 0, recorded: false });
  // After the hold: the first caller may probe, the second waits for the probe.
  const later = now + 6001;
  assert.deepEqual(await store.admit('api.github.com', later, later + 30_000), { failures: 0, recorded: true });
  assert.deepEqual(await replica.admit('api.github.com', later, later + 30_000), { hold: { untilMs: later + 30_000, reason: 'rate-limited' }, failures: 0, recorded: true, probing: true });
  assert.deepEqual(await replica.peek('api.github.com', later), { hold: { untilMs: later + 30_000, reason: 'rate-limited' }, failures: 0, recorded: true, probing: true });
  assert.equal(await store.countFailure('api.github.com'), 1);
  assert.equal(await replica.countFailure('api.github.com'), 2);
  await store.clear('api.github.com');
  assert.deepEqual(await replica.admit('api.github.com', later, later + 30_000), { failures: 0, recorded: false });
});

test('UpstreamBackoff over Redis: an outage hold grows with failures counted across replicas', async () => {
  const policy = new UpstreamBackoffPolicy({ outageBaseSeconds: 1, outageCapSeconds: 8 });
  const a = new UpstreamBackoff(new RedisHostHoldStore(client, prefix), policy);
  const b = new UpstreamBackoff(new RedisHostHoldStore(client, prefix), policy);
  const first = await a.observe('other.example', { status: 500 });
  const second = await b.observe('other.example', { status: 502 });
  assert.ok(first && second);
  assert.equal(second.untilMs - Date.now() > 1000, true, 'the second failure (other replica) waits 2 s');
  assert.equal((await a.heldUntil('other.example'))?.untilMs, second.untilMs);
  await b.observe('other.example', { status: 200 });
  assert.equal(await a.heldUntil('other.example'), undefined, 'a normal answer frees the host for everyone');
});
