import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VerdictReadCache } from './verdict-read-cache';

describe('verdict read cache', () => {
  function setup(options: { maxEntries?: number } = {}) {
    let now = 0;
    let version = 'v1';
    let versionReads = 0;
    const cache = new VerdictReadCache(
      async () => {
        versionReads++;
        if (version === 'down') throw new Error('postgres down');
        return version;
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
    assert.equal(await cache.get('a', compute), 1);
    assert.equal(await cache.get('a', compute), 1);
    assert.equal(versionReads(), 1);
    setVersion('v2');
    assert.equal(await cache.get('a', compute), 1, 'within the check interval: the old answer');
    tick(1001);
    assert.equal(await cache.get('a', compute), 2, 'the version moved: computed again');
    tick(1001);
    assert.equal(await cache.get('a', compute), 2, 'same version: still cached');
    assert.equal(versionReads(), 3);
  });

  test('concurrent requests share one computation; errors are not cached', async () => {
    const { cache } = setup();
    let computed = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++computed), 20));
    assert.deepEqual(await Promise.all([cache.get('k', slow), cache.get('k', slow)]), [1, 1]);
    let fail = true;
    const flaky = async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    };
    await assert.rejects(cache.get('f', flaky), /boom/);
    fail = false;
    assert.equal(await cache.get('f', flaky), 'ok');
  });

  test('a version that cannot be read empties the cache and fails the request', async () => {
    const { cache, tick, setVersion } = setup();
    await cache.get('a', async () => 'old');
    setVersion('down');
    tick(1001);
    await assert.rejects(cache.get('a', async () => 'new'), /postgres down/);
    setVersion('v1');
    tick(1001);
    assert.equal(await cache.get('a', async () => 'fresh'), 'fresh');
  });

  test('bounded: the least recently used entry goes first', async () => {
    const { cache } = setup({ maxEntries: 2 });
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    await cache.get('a', async () => 'a2');
    await cache.get('c', async () => 'c1');
    assert.equal(await cache.get('a', async () => 'a3'), 'a1');
    assert.equal(await cache.get('b', async () => 'b2'), 'b2', 'b was evicted');
  });
});
