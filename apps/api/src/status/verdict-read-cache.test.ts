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
      /** Caches `answer` under 'a' (target t), then t moves and the move is read. */
      cachedThenMoved: async (answer: string) => {
        await cache.get('a', ['t'], async () => answer);
        version = `${version}+`;
        now += 1001;
        await cache.get('a', ['t'], async () => answer);
        await cache.settled();
      },
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
    assert.equal(await cache.get('a', ['t'], compute), 1, 'the version moved: answered from memory while it is computed again');
    assert.equal(await cache.get('a', ['t'], compute), 2, 'then the new answer');
    tick(1001);
    await cache.get('a', ['t'], compute);
    await cache.settled();
    assert.equal(await cache.get('a', ['t'], compute), 2, 'same version: still cached');
    assert.equal(computed, 2);
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

  /** A computation that resolves when the test says so. */
  function deferred(value: string) {
    let calls = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    return { compute: async () => (calls++, await released, value), release, calls: () => calls };
  }

  test('a change recomputes only the answers that show the changed target (and lists across targets)', async () => {
    const { cache, tick, setVersion } = setup();
    const answers = { mine: ['mine1', 'mine2'], theirs: ['theirs1', 'theirs2'], list: ['list1', 'list2'] };
    const computed: string[] = [];
    const compute = (key: keyof typeof answers) => async () => {
      const value = answers[key].shift()!;
      computed.push(value);
      return value;
    };
    await cache.get('mine', ['t'], compute('mine'));
    await cache.get('theirs', ['other'], compute('theirs'));
    await cache.get('list', 'all', compute('list'));
    setVersion('v2');
    tick(1001);
    await cache.get('theirs', ['other'], compute('theirs'));
    await cache.settled();
    for (const key of ['mine', 'theirs', 'list'] as const) await cache.get(key, key === 'list' ? 'all' : [key === 'mine' ? 't' : 'other'], compute(key));
    assert.equal(await cache.get('theirs', ['other'], compute('theirs')), 'theirs1');
    assert.equal(await cache.get('mine', ['t'], compute('mine')), 'mine2');
    assert.equal(await cache.get('list', 'all', compute('list')), 'list2');
    assert.deepEqual(computed, ['mine1', 'theirs1', 'list1', 'mine2', 'list2']);
  });

  test('a moved answer: the old one while it is recomputed (one recomputation), then the new one', async () => {
    const { cache, cachedThenMoved } = setup();
    await cachedThenMoved('old');
    const next = deferred('new');
    const during = await Promise.all([cache.get('a', ['t'], next.compute), cache.get('a', ['t'], next.compute), cache.get('a', ['t'], next.compute)]);
    assert.deepEqual(during, ['old', 'old', 'old'], 'no request waits for the recomputation');
    assert.equal(next.calls(), 1);
    next.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.get('a', ['t'], async () => 'unused'), 'new');
  });

  test('the old answer only within the window after the move was read; then requests wait for the new one', async () => {
    const { cache, tick, cachedThenMoved } = setup();
    await cachedThenMoved('old');
    // Nobody asks for a while: the move was read, the answer is not recomputed yet.
    tick(1001);
    const next = deferred('new');
    const waiting = cache.get('a', ['t'], next.compute);
    const raced = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting'), 50))]);
    assert.equal(raced, 'still waiting', 'past the window: not the old answer');
    next.release();
    assert.equal(await waiting, 'new');
  });

  test('a recomputation that fails drops the answer: the old one is never shown again', async () => {
    const { cache, cachedThenMoved } = setup();
    await cachedThenMoved('old');
    const failing = async () => {
      throw new Error('postgres went away');
    };
    assert.equal(await cache.get('a', ['t'], failing), 'old', 'within the window');
    await new Promise((r) => setImmediate(r));
    await assert.rejects(cache.get('a', ['t'], failing), /postgres went away/, 'computed again, and failed');
    assert.equal(await cache.get('a', ['t'], async () => 'back'), 'back');
  });

  test('a move read while the answer is recomputed: recomputed again, never taken for current', async () => {
    const { cache, tick, setVersion, cachedThenMoved } = setup();
    await cachedThenMoved('v1 answer');
    const second = deferred('v2 answer');
    assert.equal(await cache.get('a', ['t'], second.compute), 'v1 answer');
    // v3 commits and is read while the v2 recomputation (which may have read v2) still runs.
    setVersion('v3');
    tick(1001);
    // Past the window of the v2 move: this request waits for the recomputation in progress.
    const waiting = cache.get('a', ['t'], async () => 'unused');
    await cache.settled();
    second.release();
    assert.equal(await waiting, 'v2 answer');
    const third = deferred('v3 answer');
    assert.equal(await cache.get('a', ['t'], third.compute), 'v2 answer', 'the newer answer, still marked moved');
    assert.equal(third.calls(), 1, 'and recomputed again');
    third.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.get('a', ['t'], async () => 'unused'), 'v3 answer');
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
