import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VerdictReadCache } from './verdict-read-cache';

describe('verdict read cache', () => {
  function setup(options: { maxEntries?: number } = {}) {
    let now = 0;
    let version = 'v1';
    let versionReads = 0;
    const cache = new VerdictReadCache(
      {
        versions: async () => {
          versionReads++;
          if (version === 'down') throw new Error('postgres down');
          return new Map([['t', version], ['other', 'steady']]);
        },
      },
      { checkEveryMs: 1000, now: () => now, ...options },
    );
    return {
      cache,
      tick: (ms: number) => (now += ms),
      setVersion: (v: string) => (version = v),
      versionReads: () => versionReads,
    };
  }

  test('answers from memory until the version moves; checks the version at most once a second', async () => {
    const { cache, tick, setVersion, versionReads } = setup();
    let computed = 0;
    const compute = async () => ++computed;
    assert.equal(await cache.get('a', ['t'], compute), 1);
    assert.equal(await cache.get('a', ['t'], compute), 1);
    assert.equal(versionReads(), 1);
    setVersion('v2');
    assert.equal(await cache.get('a', ['t'], compute), 1, 'within the check interval: the old answer');
    tick(1001);
    assert.equal(await cache.get('a', ['t'], compute), 2, 'the version moved: computed again');
    tick(1001);
    assert.equal(await cache.get('a', ['t'], compute), 2, 'same version: still cached');
    assert.equal(versionReads(), 3);
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
    assert.equal(await cache.get('theirs', ['other'], async () => 'theirs2'), 'theirs1');
    assert.equal(await cache.get('mine', ['t'], async () => 'mine2'), 'mine2');
    assert.equal(await cache.get('list', 'all', async () => 'list2'), 'list2');
  });

  test('a version that cannot be read empties the cache and fails the request', async () => {
    const { cache, tick, setVersion } = setup();
    await cache.get('a', ['t'], async () => 'old');
    setVersion('down');
    tick(1001);
    await assert.rejects(cache.get('a', ['t'], async () => 'new'), /postgres down/);
    setVersion('v1');
    tick(1001);
    assert.equal(await cache.get('a', ['t'], async () => 'fresh'), 'fresh');
  });

  test('per-target versions are read only when the change marker moves, and on the slow timer', async () => {
    let now = 0;
    let marker = 'm1';
    let versionReads = 0;
    let version = 'v1';
    const cache = new VerdictReadCache(
      {
        changeMarker: async () => marker,
        versions: async () => {
          versionReads++;
          return new Map([['t', version]]);
        },
      },
      { checkEveryMs: 1000, fullCheckEveryMs: 30_000, now: () => now },
    );
    assert.equal(await cache.get('a', ['t'], async () => 'a1'), 'a1');
    now += 1001;
    await cache.get('a', ['t'], async () => 'a2');
    assert.equal(versionReads, 1, 'marker unchanged: no per-target read');
    marker = 'm2';
    version = 'v2';
    now += 1001;
    assert.equal(await cache.get('a', ['t'], async () => 'a3'), 'a3');
    assert.equal(versionReads, 2);
    // A late commit that left the marker alone is caught by the slow timer.
    version = 'v3';
    now += 31_000;
    assert.equal(await cache.get('a', ['t'], async () => 'a4'), 'a4');
    assert.equal(versionReads, 3);
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
