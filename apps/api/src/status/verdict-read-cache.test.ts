import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VerdictReadCache } from './verdict-read-cache';
import { reportChanges } from '../../../../test/support/verdict-versions';

describe('verdict read cache', () => {
  function setup(options: { maxEntries?: number } = {}) {
    let now = 0;
    let version = 'v1';
    let versionReads = 0;
    let gate: Promise<void> | undefined;
    const cache = new VerdictReadCache(
      {
        versions: reportChanges(async () => {
          versionReads++;
          await gate;
          if (version === 'down') throw new Error('postgres down');
          return new Map([['t', version], ['other', 'steady']]);
        }),
      },
      { checkEveryMs: 1000, maxStaleMs: 10_000, now: () => now, ...options },
    );
    return {
      cache,
      tick: (ms: number) => (now += ms),
      setVersion: (v: string) => (version = v),
      versionReads: () => versionReads,
      /** Holds every version read until the returned function is called. */
      hold: () => {
        let release!: () => void;
        gate = new Promise<void>((r) => (release = r));
        return () => {
          gate = undefined;
          release();
        };
      },
    };
  }

  test('answers from memory until the version moves; reads versions at most once a second, in the background', async () => {
    const { cache, tick, setVersion, versionReads } = setup();
    let computed = 0;
    const compute = async () => ++computed;
    assert.equal(await cache.get('a', ['t'], compute), 1);
    assert.equal(await cache.get('a', ['t'], compute), 1);
    assert.equal(versionReads(), 1);
    setVersion('v2');
    assert.equal(await cache.get('a', ['t'], compute), 1, 'within the check interval: no read');
    tick(1001);
    assert.equal(await cache.get('a', ['t'], compute), 1, 'the read it started runs in the background');
    await cache.settled();
    assert.equal(await cache.get('a', ['t'], compute), 2, 'the version moved: computed again');
    tick(1001);
    await cache.get('a', ['t'], compute);
    await cache.settled();
    assert.equal(await cache.get('a', ['t'], compute), 2, 'same version: still cached');
    assert.equal(versionReads(), 3);
  });

  test('no request waits for a slow version read inside the staleness bound', async () => {
    const { cache, tick, hold } = setup();
    await cache.get('a', ['t'], async () => 'a1');
    const release = hold();
    tick(1001);
    const answer = await Promise.race([cache.get('a', ['t'], async () => 'a2'), new Promise((r) => setTimeout(() => r('waited'), 200))]);
    assert.equal(answer, 'a1');
    release();
    await cache.settled();
  });

  test('concurrent requests share one computation; errors are not cached', async () => {
    const { cache } = setup();
    let computed = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++computed), 20));
    assert.deepEqual(await Promise.all([cache.get('k', ['t'], slow), cache.get('k', ['t'], slow)]), [1, 1]);
    let fail = true;
    const flaky = async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    };
    await assert.rejects(cache.get('f', ['t'], flaky), /boom/);
    fail = false;
    assert.equal(await cache.get('f', ['t'], flaky), 'ok');
  });

  test('a change drops only the answers that show the changed target (and lists across targets)', async () => {
    const { cache, tick, setVersion } = setup();
    await cache.get('mine', ['t'], async () => 'mine1');
    await cache.get('theirs', ['other'], async () => 'theirs1');
    await cache.get('list', 'all', async () => 'list1');
    setVersion('v2');
    tick(1001);
    await cache.get('theirs', ['other'], async () => 'unused');
    await cache.settled();
    assert.equal(await cache.get('theirs', ['other'], async () => 'theirs2'), 'theirs1');
    assert.equal(await cache.get('mine', ['t'], async () => 'mine2'), 'mine2');
    assert.equal(await cache.get('list', 'all', async () => 'list2'), 'list2');
  });

  test('versions that cannot be read: stale answers within the bound, then requests wait and fail; a cold cache fails at once', async () => {
    const { cache, tick, setVersion } = setup();
    setVersion('down');
    await assert.rejects(cache.get('a', ['t'], async () => 'never'), /postgres down/, 'nothing read yet: no answer of unknown age');
    setVersion('v1');
    await cache.get('a', ['t'], async () => 'old');
    setVersion('down');
    tick(5000);
    assert.equal(await cache.get('a', ['t'], async () => 'new'), 'old', 'inside the bound: the last good answer');
    await cache.settled();
    tick(6000);
    await assert.rejects(cache.get('a', ['t'], async () => 'new'), /postgres down/, 'past the bound: the request fails with the read');
    setVersion('v1');
    tick(1001);
    assert.equal(await cache.get('a', ['t'], async () => 'fresh'), 'old', 'same version as before the outage: the answer still holds');
  });

  test('bounded: the least recently used entry goes first', async () => {
    const { cache } = setup({ maxEntries: 2 });
    await cache.get('a', ['t'], async () => 'a1');
    await cache.get('b', ['t'], async () => 'b1');
    await cache.get('a', ['t'], async () => 'a2');
    await cache.get('c', ['t'], async () => 'c1');
    assert.equal(await cache.get('a', ['t'], async () => 'a3'), 'a1');
    assert.equal(await cache.get('b', ['t'], async () => 'b2'), 'b2', 'b was evicted');
  });
});
