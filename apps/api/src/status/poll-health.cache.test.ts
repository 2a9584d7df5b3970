import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { PollRow } from '@provwatch/persistence';
import { type PollHealthRead, PollHealthCache } from './poll-health.cache';

describe('poll health cache (one change feed for every target)', () => {
  const poll = (target: string, source: string, code: string | null = null): PollRow => ({ target, source, lastPolledAt: new Date(0), lastSuccessAt: null, lastErrorCode: code });
  const row = ({ target: _target, ...rest }: PollRow) => rest;

  /** A feed double: each read returns the next queued answer (or throws it), counted. */
  function setup() {
    let now = 0;
    let reads = 0;
    const answers: Array<PollHealthRead | Error> = [];
    let release: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    const cache = new PollHealthCache(
      async () => {
        reads++;
        if (gate) await gate;
        const next = answers.shift() ?? { polls: [], complete: false };
        if (next instanceof Error) throw next;
        return next;
      },
      { maxAgeMs: 1000, hardMaxAgeMs: 10_000, now: () => now },
    );
    return {
      cache,
      tick: (ms: number) => (now += ms),
      answer: (a: PollHealthRead | Error) => answers.push(a),
      reads: () => reads,
      hold: () => (gate = new Promise((r) => (release = r))),
      letGo: () => {
        gate = undefined;
        release?.();
      },
    };
  }

  test('one read serves every target within a second, known or not', async () => {
    const c = setup();
    c.answer({ polls: [poll('a', 'github-releases'), poll('b', 'github-releases')], complete: true });
    assert.deepEqual(await c.cache.get('a'), [row(poll('a', 'github-releases'))]);
    assert.deepEqual(await c.cache.get('b'), [row(poll('b', 'github-releases'))]);
    assert.deepEqual(await c.cache.get('never-polled'), []);
    c.tick(999);
    await Promise.all([c.cache.get('a'), c.cache.get('b'), c.cache.get('never-polled')]);
    assert.equal(c.reads(), 1, 'one read for all targets, not one per target');
  });

  test('concurrent first requests for many targets share one read', async () => {
    const c = setup();
    c.answer({ polls: [poll('a', 'github-releases')], complete: true });
    c.hold();
    const pending = Promise.all(['a', 'a', 'b', 'c'].map((t) => c.cache.get(t)));
    c.letGo();
    assert.deepEqual(await pending, [[row(poll('a', 'github-releases'))], [row(poll('a', 'github-releases'))], [], []]);
    assert.equal(c.reads(), 1);
  });

  test('old data is answered while one refresh runs; changes are merged by source, in source order', async () => {
    const c = setup();
    c.answer({ polls: [poll('a', 'github-releases'), poll('a', 'oci-tags:ghcr.io/x/a'), poll('b', 'github-releases')], complete: true });
    await c.cache.get('a');
    const before = await c.cache.get('a');
    c.tick(1000);
    // Only what changed: a's image source failed, c was polled for the first time.
    c.answer({ polls: [poll('a', 'oci-tags:ghcr.io/x/a', 'registry-unavailable'), poll('c', 'oci-tags:ghcr.io/x/c'), poll('c', 'github-releases')], complete: false });
    c.hold();
    const during = await Promise.all([c.cache.get('a'), c.cache.get('a'), c.cache.get('c')]);
    assert.deepEqual(during, [before, before, []], 'no request waits for the refresh');
    assert.equal(c.reads(), 2, 'concurrent requests share one refresh');
    c.letGo();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await c.cache.get('a'), [row(poll('a', 'github-releases')), row(poll('a', 'oci-tags:ghcr.io/x/a', 'registry-unavailable'))]);
    assert.deepEqual(await c.cache.get('b'), [row(poll('b', 'github-releases'))], 'an unchanged target keeps its rows');
    assert.deepEqual(await c.cache.get('c'), [row(poll('c', 'github-releases')), row(poll('c', 'oci-tags:ghcr.io/x/c'))]);
    // The array a request was given is not changed under it.
    assert.deepEqual(before, [row(poll('a', 'github-releases')), row(poll('a', 'oci-tags:ghcr.io/x/a'))]);
  });

  test('a complete read (the watchlist changed) replaces everything: a removed target has no rows', async () => {
    const c = setup();
    c.answer({ polls: [poll('a', 'github-releases'), poll('gone', 'github-releases')], complete: true });
    assert.equal((await c.cache.get('gone')).length, 1);
    c.tick(10_000);
    c.answer({ polls: [poll('a', 'github-releases', 'rate-limited')], complete: true });
    assert.deepEqual(await c.cache.get('gone'), []);
    assert.deepEqual(await c.cache.get('a'), [row(poll('a', 'github-releases', 'rate-limited'))]);
  });

  test('a failing refresh keeps the data only up to the hard limit, then fails the request', async () => {
    const c = setup();
    c.answer({ polls: [poll('a', 'github-releases')], complete: true });
    await c.cache.get('a');
    c.answer(new Error('postgres down'));
    c.tick(1500);
    assert.deepEqual(await c.cache.get('a'), [row(poll('a', 'github-releases'))]);
    await new Promise((r) => setImmediate(r));
    c.tick(10_000);
    c.answer(new Error('postgres down'));
    await assert.rejects(c.cache.get('a'), /postgres down/);
    // Postgres back: the feed repeats what it could not deliver; the data is trusted again.
    c.answer({ polls: [poll('a', 'github-releases', 'rate-limited')], complete: false });
    assert.deepEqual(await c.cache.get('a'), [row(poll('a', 'github-releases', 'rate-limited'))]);
  });

  test('the first request waits for the first read, and its failure is not kept', async () => {
    const c = setup();
    c.answer(new Error('postgres down'));
    await assert.rejects(c.cache.get('a'), /postgres down/);
    c.answer({ polls: [], complete: true });
    assert.deepEqual(await c.cache.get('a'), []);
  });

  test('a complete read of 10,000 targets is applied in slices and swapped in whole', async () => {
    const c = setup();
    const many = Array.from({ length: 10_000 }, (_, i) => poll(`t${i}`, 'github-releases'));
    c.answer({ polls: many, complete: true });
    assert.equal((await c.cache.get('t9999')).length, 1);
    c.tick(10_000);
    c.answer({ polls: many.slice(0, 5000), complete: true });
    const turns: string[] = [];
    const reading = c.cache.get('t9999').then((r) => turns.push(`answered ${r.length}`));
    // Other work runs while the read is applied: a turn of the event loop between slices.
    await new Promise((r) => setImmediate(r));
    turns.push('another turn');
    await reading;
    assert.deepEqual(turns, ['another turn', 'answered 0']);
  });
});
