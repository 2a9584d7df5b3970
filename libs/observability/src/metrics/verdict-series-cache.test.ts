import { strict as assert } from 'node:assert';
import { describe, mock, test } from 'node:test';
import type { CheckStatusEntry, VerdictSnapshot } from './status-snapshot';
import { formatVerdictGauges } from './verdict-exposition';
import { VerdictSeriesCache } from './verdict-series-cache';
import { ProvwatchMetrics } from './provwatch-metrics';
import { reportChanges } from '../../../../test/support/verdict-versions';

/** A fake Postgres: per target a status and a version the test moves; counts what is read. */
function fakeSource(targets: string[]) {
  const versions = new Map(targets.map((t) => [t, '1']));
  const status = new Map<string, CheckStatusEntry['status']>(targets.map((t) => [t, 'pass']));
  const reads: string[][] = [];
  const snapshotOf = (names: string[]): VerdictSnapshot => ({
    checks: names.flatMap((t) =>
      ['v1', 'v2'].map((release) => ({ target: t, image: null, release, check: 'artifact-provenance', status: status.get(t)!, since: new Date(1000), updatedAt: new Date(2000) })),
    ),
    releases: names.flatMap((t) => ['v1', 'v2'].map((release) => ({ target: t, release, publishedAt: new Date(500), firstVerdictAt: new Date(1500) }))),
  });
  return {
    versions,
    status,
    reads,
    snapshotOf,
    source: {
      versions: reportChanges(async () => new Map(versions)),
      read: async (names: string[]) => {
        reads.push([...names]);
        return snapshotOf(names);
      },
    },
  };
}

const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
const lines = (chunks: Buffer[], target: string) => chunks.filter((c) => c.toString().includes(`target="${target}"`));

describe('verdict series cache', () => {
  test('output equals a from-scratch render of the same snapshot', async () => {
    const fake = fakeSource(['b', 'a', 'c']);
    const cache = new VerdictSeriesCache(fake.source, { batchSize: 2 });
    await cache.refresh();
    assert.equal(text(cache.chunks()), formatVerdictGauges(fake.snapshotOf(['a', 'b', 'c'])));
    assert.equal(cache.complete, true);
  });

  test('with a busy share below 1 the build pauses on a timer after each slice but the last, and builds the same', async () => {
    assert.throws(() => new VerdictSeriesCache(fakeSource(['a']).source, { busyShare: 0 }), RangeError);
    assert.throws(() => new VerdictSeriesCache(fakeSource(['a']).source, { busyShare: 1.5 }), RangeError);
    // Time moves only when the test ticks: a pause holds until then, however long it is.
    mock.timers.enable({ apis: ['setTimeout'] });
    const turns = async (count: number) => {
      for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      const unpaced = fakeSource(['a', 'b', 'c']);
      let unpacedDone = false;
      void new VerdictSeriesCache(unpaced.source, { batchSize: 1 }).refresh().then(() => (unpacedDone = true));
      await turns(100);
      assert.equal(unpacedDone, true, 'the control: unpaced, the same turns build everything');

      const fake = fakeSource(['a', 'b', 'c']);
      const paced = new VerdictSeriesCache(fake.source, { batchSize: 1, busyShare: 0.5 });
      let done = false;
      void paced.refresh().then(() => (done = true));
      await turns(100);
      assert.equal(fake.reads.length, 1, 'paused after the first slice');
      mock.timers.tick(1000);
      await turns(100);
      assert.equal(fake.reads.length, 2);
      assert.equal(done, false);
      mock.timers.tick(1000);
      await turns(100);
      assert.equal(fake.reads.length, 3);
      assert.equal(done, true, 'no pause after the last slice');
      assert.equal(text(paced.chunks()), formatVerdictGauges(fake.snapshotOf(['a', 'b', 'c'])));
    } finally {
      mock.timers.reset();
    }
  });

  test('a changed target is rebuilt; unchanged ones are reused byte for byte (the same Buffers)', async () => {
    const fake = fakeSource(['a', 'b', 'c']);
    // One target per packed page: a page that holds no changed target keeps its Buffers.
    const cache = new VerdictSeriesCache(fake.source, { pageTargets: 1 });
    await cache.refresh();
    const before = cache.chunks();
    fake.status.set('b', 'fail');
    fake.versions.set('b', '2');
    await cache.refresh();
    const after = cache.chunks();
    assert.deepEqual(fake.reads, [['a', 'b', 'c'], ['b']], 'only b is read again');
    for (const target of ['a', 'c']) {
      const old = lines(before, target);
      const now = lines(after, target);
      assert.equal(now.length, old.length);
      now.forEach((chunk, i) => assert.equal(chunk, old[i], `${target}: the very same Buffer`));
    }
    assert.match(text(after), /provwatch_check_status\{target="b",image="",release="v1",check="artifact-provenance",status="fail"\} 1/);
    assert.equal(text(after), formatVerdictGauges(fake.snapshotOf(['a', 'b', 'c'])));
    // Nothing changed: not even the list is re-assembled.
    await cache.refresh();
    assert.equal(cache.chunks(), after);
    assert.equal(fake.reads.length, 2);
  });

  test('targets are packed into pages: the same text in a few Buffers, through changes, joins and removals', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const fake = fakeSource(names);
    const cache = new VerdictSeriesCache(fake.source, { batchSize: 7, pageTargets: 64 });
    const expected = () => formatVerdictGauges(fake.snapshotOf([...fake.versions.keys()].sort()));
    await cache.refresh();
    assert.equal(text(cache.chunks()), expected());
    // 6 gauges, of which 2 have series here (check status, published/verified/time-to-verdict: 4 more), 3 pages each at most.
    assert.ok(cache.chunks().length <= 6 * 4, `${cache.chunks().length} Buffers`);
    const beforeChange = cache.chunks();
    // A change in page 1 repacks page 1 only.
    fake.status.set('t070', 'fail');
    fake.versions.set('t070', '2');
    await cache.refresh();
    assert.equal(text(cache.chunks()), expected());
    const pageZero = (chunks: Buffer[]) => chunks.find((c) => c.toString().includes('target="t000"') && c.toString().startsWith('provwatch_check_status{'));
    assert.equal(pageZero(cache.chunks()), pageZero(beforeChange), 'page 0 is the very same Buffer');
    assert.match(text(cache.chunks()), /target="t070".*status="fail"/);
    // A target that appears in the database in the middle of the order, then one that leaves.
    fake.versions.set('t0695', '1');
    await cache.refresh();
    assert.equal(text(cache.chunks()), expected());
    fake.versions.delete('t001');
    await cache.refresh();
    assert.equal(text(cache.chunks()), expected());
    assert.equal(cache.complete, true);
  });

  test('a target removed from the watchlist disappears', async () => {
    const fake = fakeSource(['a', 'b']);
    const cache = new VerdictSeriesCache(fake.source);
    await cache.refresh();
    fake.versions.delete('a');
    await cache.refresh();
    assert.doesNotMatch(text(cache.chunks()), /target="a"/);
    assert.equal(text(cache.chunks()), formatVerdictGauges(fake.snapshotOf(['b'])));
    assert.equal(fake.reads.length, 1, 'removing reads nothing');
  });

  test('a slice whose read failed is read again by the next refresh, though no version moved since', async () => {
    const fake = fakeSource(['a', 'b', 'c']);
    let failFor: string | undefined;
    const cache = new VerdictSeriesCache(
      { versions: fake.source.versions, read: async (names) => (failFor && names.includes(failFor) ? Promise.reject(new Error('connection lost')) : fake.source.read(names)) },
      { batchSize: 1 },
    );
    await cache.refresh();
    fake.status.set('b', 'fail');
    fake.versions.set('b', '2');
    failFor = 'b';
    await assert.rejects(cache.refresh(), /connection lost/);
    assert.match(text(cache.chunks()), /target="b".*status="pass"/, 'the old series stays until the new one is read');
    failFor = undefined;
    await cache.refresh();
    assert.equal(text(cache.chunks()), formatVerdictGauges(fake.snapshotOf(['a', 'b', 'c'])));
    assert.match(text(cache.chunks()), /target="b".*status="fail"/);
  });

  test('a target without checks has no series but counts as built', async () => {
    const cache = new VerdictSeriesCache({ versions: reportChanges(async () => new Map([['empty', '1']])), read: async () => ({ checks: [], releases: [] }) });
    await cache.refresh();
    assert.equal(cache.complete, true);
    assert.equal(text(cache.chunks()), formatVerdictGauges({ checks: [], releases: [] }));
  });

  test('the build runs in slices: the event loop runs between them, and a partial build serves the targets built so far', async () => {
    const targets = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const fake = fakeSource(targets);
    const cache = new VerdictSeriesCache(fake.source, { batchSize: 3 });
    let immediates = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      immediates++;
      setImmediate(tick);
    };
    setImmediate(tick);
    try {
      const building = cache.refresh();
      // After the first slice (and before the build is over), what is built is served.
      for (let turns = 0; turns < 1000 && !/target="t0"/.test(text(cache.chunks())); turns++) await new Promise((r) => setImmediate(r));
      assert.match(text(cache.chunks()), /target="t0"/);
      assert.equal(cache.complete, false);
      assert.doesNotMatch(text(cache.chunks()), /target="t9"/);
      await building;
    } finally {
      stop = true;
    }
    assert.equal(cache.complete, true);
    assert.deepEqual(fake.reads.map((r) => r.length), [3, 3, 3, 1]);
    assert.ok(immediates >= 3, `other callbacks ran between slices (${immediates})`);
  });
});

describe('/metrics during the first build', () => {
  test('answers quickly with the process metrics, what is built, and provwatch_status_series_complete 0', async () => {
    const fake = fakeSource(['a', 'b', 'c', 'd']);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // Postgres answers the version read at once, but each slice of the build takes "forever".
    const slow = { versions: fake.source.versions, read: async (names: string[]) => (names.includes('a') ? fake.source.read(names) : gate.then(() => fake.source.read(names))) };
    const metrics = new ProvwatchMetrics({ version: '1', defaultMetrics: false, verdictBatchSize: 1, verdictBuildWaitMs: 50 }, { verdicts: slow });
    const started = Date.now();
    const first = await metrics.render();
    assert.ok(Date.now() - started < 2000, 'well within the 2 s dependency bound');
    assert.match(first, /^provwatch_status_series_complete 0$/m);
    assert.match(first, /^provwatch_build_info\{/m);
    assert.match(first, /provwatch_check_status\{target="a"/);
    assert.doesNotMatch(first, /target="b"/);
    assert.match(first, /^provwatch_dependency_up\{dependency="postgres"\} 1$/m);
    release();
    await metrics.refreshVerdicts();
    const done = await metrics.render();
    assert.match(done, /^provwatch_status_series_complete 1$/m);
    assert.match(done, /provwatch_check_status\{target="d"/);
  });
});
