import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { JOBS } from '@provwatch/jobs';
import { redisConnectionOptions } from '../../../../test/support/redis';
import { reconcileDiscoverySchedules } from './discovery-schedule.reconciler';

/** Against the real local Redis, in a queue of its own. */
let queue: Queue;
before(async () => {
  queue = new Queue(`test-discover-${randomUUID()}`, { connection: await redisConnectionOptions() });
});
after(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
});

test('one scheduler per target at its interval; idempotent; targets that leave are removed', async () => {
  const first = await reconcileDiscoverySchedules(queue, [
    { name: 'pbs-exporter', pollIntervalSeconds: 300 },
    { name: 'other', pollIntervalSeconds: 60 },
  ]);
  assert.deepEqual(first.removed, []);
  let schedulers = await queue.getJobSchedulers(0, -1);
  assert.deepEqual(schedulers.map((s) => [s.id ?? s.key, s.every, s.name]).sort(), [
    ['discover:other', 60_000, JOBS.discoverTarget],
    ['discover:pbs-exporter', 300_000, JOBS.discoverTarget],
  ]);

  // Running it again (another replica, a restart) changes nothing.
  await reconcileDiscoverySchedules(queue, [
    { name: 'pbs-exporter', pollIntervalSeconds: 300 },
    { name: 'other', pollIntervalSeconds: 60 },
  ]);
  assert.equal(await queue.getJobSchedulersCount(), 2);

  // A target leaves the watchlist and another changes its interval.
  const second = await reconcileDiscoverySchedules(queue, [{ name: 'pbs-exporter', pollIntervalSeconds: 120 }]);
  assert.deepEqual(second.removed, ['discover:other']);
  schedulers = await queue.getJobSchedulers(0, -1);
  assert.deepEqual(schedulers.map((s) => [s.id ?? s.key, s.every]), [['discover:pbs-exporter', 120_000]]);
  // The first iteration is queued with the payload the worker expects.
  const delayed = await queue.getJobs(['delayed', 'waiting']);
  assert.ok(delayed.some((j) => j.name === JOBS.discoverTarget && j.data.target === 'pbs-exporter' && j.data.trigger === 'schedule'));
  // A failed poll is not retried by BullMQ on top of the schedule: the next poll is the retry.
  for (const job of delayed) assert.equal(job.opts.attempts ?? 1, 1, `${job.id} attempts`);
});
