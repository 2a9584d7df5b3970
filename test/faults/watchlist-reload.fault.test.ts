import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import type { Watchlist } from '@provwatch/config';
import { JOBS } from '@provwatch/jobs';
import { eventually, faultTarget, type FaultWorld, startFaultWorld } from '../support/fault-worker';

/**
 * Fault: the database refuses the targets of a reloaded watchlist (Postgres down, a lock, a
 * table being migrated). The worker must keep running the previous targets, not half of the new
 * ones, and apply the reload by itself once the database answers, without another edit or a
 * restart. Then: a job left for a removed target fails as not in the watchlist (not as an
 * internal error, not by polling it), and a changed poll interval reaches its scheduler.
 */
const watchlist = (...targets: Watchlist['targets']): Watchlist => ({ defaults: { pollIntervalSeconds: 2, gracePeriodSeconds: 60, reverifyIntervalSeconds: 86_400 }, targets });

let world: FaultWorld;
const polls = (name: string) => world.gh.requests.filter((r) => r.server === 'api' && r.path.startsWith(`/repos/fault/${name}/releases`)).length;
const schedulers = async () => (await world.runtime.discoverQueue.getJobSchedulers(0, -1)).map((s) => ({ id: s.id ?? s.key, every: Number(s.every) })).sort((a, b) => a.id.localeCompare(b.id));

before(async () => {
  world = await startFaultWorld([faultTarget('one', 2)], { scheduleReconcileMs: 1000 });
  world.gh.repos.set('fault/one', []);
  world.gh.repos.set('fault/two', []);
});

after(async () => {
  await world?.close();
});

test('a reload the database refuses keeps the old targets and is applied once it answers; removed and changed targets', { timeout: 90_000 }, async () => {
  await world.runtime.start();
  await eventually('the first poll of one', async () => (polls('one') > 0 ? true : undefined));

  // The targets table is away: the new watchlist cannot be registered.
  await world.prisma.$executeRawUnsafe('ALTER TABLE targets RENAME TO targets_away');
  const next = watchlist(faultTarget('one', 2), faultTarget('two', 2));
  await assert.rejects(world.runtime.updateWatchlist(next));
  assert.ok(world.logs.some((l) => /reloaded watchlist not applied yet, the previous targets stay in use/.test(l)), world.logs.join('\n'));
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(polls('two'), 0, 'no target of a watchlist that is not registered is polled');
  assert.deepEqual((await schedulers()).map((s) => s.id), ['discover:one']);
  assert.ok(polls('one') > 1, 'the previous target keeps being polled');

  // The database answers again: the timer applies the pending watchlist.
  await world.prisma.$executeRawUnsafe('ALTER TABLE targets_away RENAME TO targets');
  const back = Date.now();
  await eventually('the added target to be polled', async () => (polls('two') > 0 ? true : undefined), 15_000);
  const appliedMs = Date.now() - back;
  assert.deepEqual((await schedulers()).map((s) => s.id), ['discover:one', 'discover:two']);

  // Removed: its scheduler goes; a job queued for it before (a webhook's) fails cleanly.
  await world.runtime.updateWatchlist(watchlist(faultTarget('two', 2)));
  assert.deepEqual((await schedulers()).map((s) => s.id), ['discover:two']);
  const before = polls('one');
  const job = await world.runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'one', trigger: 'webhook' }, { attempts: 1 });
  const failed = await eventually('the job for the removed target to fail', async () => {
    const state = await job.getState();
    return state === 'failed' ? (await world.runtime.discoverQueue.getJob(job.id!))!.failedReason : undefined;
  });
  assert.equal(failed, 'target one is not in the watchlist');
  assert.equal(polls('one'), before, 'the removed target is not polled');

  // Changed: the new poll interval reaches the scheduler at once.
  await world.runtime.updateWatchlist(watchlist(faultTarget('two', 5)));
  assert.deepEqual(await schedulers(), [{ id: 'discover:two', every: 5000 }]);
  process.stdout.write(`# refused reload applied ${appliedMs} ms after the database answered again\n`);
});

test('a reload during the start is applied by it; reloads in quick succession end on the last one', { timeout: 60_000 }, async () => {
  const early = await startFaultWorld([faultTarget('one', 2)], { scheduleReconcileMs: 60_000 });
  try {
    early.gh.repos.set('fault/one', []);
    early.gh.repos.set('fault/two', []);
    early.gh.repos.set('fault/three', []);
    const startPolls = (name: string) => early.gh.requests.filter((r) => r.server === 'api' && r.path.startsWith(`/repos/fault/${name}/releases`)).length;
    const ids = async () => (await early.runtime.discoverQueue.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key).sort();
    // Reloaded before the worker started (it waits for Redis and Postgres at boot).
    const reloaded = early.runtime.updateWatchlist(watchlist(faultTarget('two', 2)));
    await early.runtime.start();
    await reloaded;
    assert.deepEqual(await ids(), ['discover:two']);
    await eventually('the reloaded target to be polled', async () => (startPolls('two') > 0 ? true : undefined));
    assert.equal(startPolls('one'), 0, 'the target of the start watchlist, reloaded away, is never polled');

    // Three reloads, not awaited one by one (three saves, three SIGHUPs).
    const all = Promise.all([
      early.runtime.updateWatchlist(watchlist(faultTarget('one', 2))),
      early.runtime.updateWatchlist(watchlist(faultTarget('one', 2), faultTarget('two', 2))),
      early.runtime.updateWatchlist(watchlist(faultTarget('three', 2))),
    ]);
    await all;
    assert.deepEqual(await ids(), ['discover:three']);
  } finally {
    await early.close();
  }
});
