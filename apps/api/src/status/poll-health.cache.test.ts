import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { PollStateRow } from '@provwatch/persistence';
import { PollHealthCache } from './poll-health.cache';

describe('poll health cache', () => {
  const row = (source: string, code: string | null = null): PollStateRow => ({ source, lastPolledAt: new Date(0), lastSuccessAt: null, lastErrorCode: code });

  function setup(options: { maxEntries?: number } = {}) {
    let now = 0;
    const reads: string[] = [];
    let state: Map<string, PollStateRow[]> | Error = new Map([['a', [row('github-releases')]]]);
    let release: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    const cache = new PollHealthCache(
      async (target) => {
        reads.push(target);
        if (gate) await gate;
        if (state instanceof Error) throw state;
        return state.get(target) ?? [];
      },
      { maxAgeMs: 1000, hardMaxAgeMs: 10_000, now: () => now, ...options },
    );
    return {
      cache,
      tick: (ms: number) => (now += ms),
      set: (s: Map<string, PollStateRow[]> | Error) => (state = s),
      reads: () => reads.length,
      readsOf: (target: string) => reads.filter((t) => t === target).length,
      hold: () => (gate = new Promise((r) => (release = r))),
      letGo: () => {
        gate = undefined;
        release?.();
      },
    };
  }

  test('one read per target serves every request within a second; other targets are not read', async () => {
    const c = setup();
    assert.deepEqual(await c.cache.get('a'), [row('github-releases')]);
    assert.deepEqual(await c.cache.get('unknown'), []);
    c.tick(999);
    await Promise.all([c.cache.get('a'), c.cache.get('a'), c.cache.get('unknown')]);
    assert.equal(c.readsOf('a'), 1);
    assert.equal(c.readsOf('unknown'), 1);
    assert.equal(c.reads(), 2, 'only the targets asked for are read');
  });

  test('concurrent first requests for a target share one read', async () => {
    const c = setup();
    c.hold();
    const pending = Promise.all([c.cache.get('a'), c.cache.get('a'), c.cache.get('a')]);
    c.letGo();
    assert.deepEqual(await pending, [[row('github-releases')], [row('github-releases')], [row('github-releases')]]);
    assert.equal(c.reads(), 1);
  });

  test('an old entry is answered while one refresh runs; the next request sees the new state', async () => {
    const c = setup();
    await c.cache.get('a');
    c.set(new Map([['a', [row('github-releases', 'rate-limited')]]]));
    c.tick(1000);
    c.hold();
    const during = await Promise.all([c.cache.get('a'), c.cache.get('a'), c.cache.get('a')]);
    assert.deepEqual(during, [[row('github-releases')], [row('github-releases')], [row('github-releases')]], 'no request waits for the refresh');
    assert.equal(c.reads(), 2, 'concurrent requests share one refresh');
    c.letGo();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await c.cache.get('a'), [row('github-releases', 'rate-limited')]);
  });

  test('a failing refresh keeps the entry only up to the hard limit, then fails the request', async () => {
    const c = setup();
    await c.cache.get('a');
    c.set(new Error('postgres down'));
    c.tick(1500);
    assert.deepEqual(await c.cache.get('a'), [row('github-releases')]);
    c.tick(10_000);
    await assert.rejects(c.cache.get('a'), /postgres down/);
    c.set(new Map());
    assert.deepEqual(await c.cache.get('a'), []);
  });

  test('the first request waits for the first read, and its failure is not cached', async () => {
    const c = setup();
    c.set(new Error('postgres down'));
    await assert.rejects(c.cache.get('a'), /postgres down/);
    c.set(new Map([['a', []]]));
    assert.deepEqual(await c.cache.get('a'), []);
  });

  test('the number of entries is bounded: the oldest read goes first', async () => {
    const c = setup({ maxEntries: 2 });
    await c.cache.get('a');
    await c.cache.get('b');
    await c.cache.get('c');
    await c.cache.get('c');
    await c.cache.get('b');
    assert.equal(c.readsOf('b'), 1);
    await c.cache.get('a');
    assert.equal(c.readsOf('a'), 2, 'a was dropped to make room and is read again');
  });
});
