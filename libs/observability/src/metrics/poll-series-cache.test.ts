import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { PollSeriesCache } from './poll-series-cache';
import type { PollSnapshot } from './status-snapshot';

type Row = PollSnapshot['polls'][number];
const row = (target: string, source: string, second: number, error: string | null = null): Row => ({
  target,
  source,
  lastPolledAt: new Date(second * 1000),
  lastSuccessAt: error ? null : new Date(second * 1000),
  lastErrorCode: error,
});
const text = async (snapshot: PollSnapshot, cache = new PollSeriesCache()) => {
  await cache.apply(snapshot);
  return cache.chunks().map(String).join('');
};

describe('poll series cache', () => {
  test('rows changed since the last read, applied one read after another, give the text of a full read of the same rows', async () => {
    const rows = new Map<string, Row>();
    const put = (r: Row) => rows.set(`${r.target} ${r.source}`, r);
    for (let i = 0; i < 300; i++) put(row(`t${i}`, 'github-releases', 100 + i));
    const cache = new PollSeriesCache();
    await cache.apply({ polls: [...rows.values()], githubRateLimitRemaining: 4000, targets: 300, complete: true });
    // A poll that failed, a new image source of an existing target, a target seen for the first time.
    const changed = [row('t7', 'github-releases', 900, 'rate-limited'), row('t7', 'oci-tags:registry.test/t7', 901), row('t99', 'github-releases', 902), row('u1', 'github-releases', 903)];
    changed.forEach(put);
    await cache.apply({ polls: changed, githubRateLimitRemaining: 3990, targets: 301, complete: false });
    const full = await text({ polls: [...rows.values()], githubRateLimitRemaining: 3990, targets: 301 });
    assert.equal(cache.chunks().map(String).join(''), full);
    assert.match(full, /^provwatch_up\{target="t7",source="github-releases",image=""\} 0$/m);
    assert.match(full, /^provwatch_up\{target="t7",source="oci-tags",image="registry.test\/t7"\} 1$/m);
    assert.doesNotMatch(full, /provwatch_poll_last_success_timestamp_seconds\{target="t7",source="github-releases"/, 'no success yet after the failure');
    assert.match(full, /^provwatch_github_rate_limit_remaining 3990$/m);
    // An empty change set keeps everything; a complete read drops rows it no longer has.
    await cache.apply({ polls: [], githubRateLimitRemaining: 3990, targets: 301, complete: false });
    assert.equal(cache.chunks().map(String).join(''), full);
    rows.delete('u1 github-releases');
    await cache.apply({ polls: [...rows.values()], githubRateLimitRemaining: 3990, targets: 300, complete: true });
    assert.doesNotMatch(cache.chunks().map(String).join(''), /target="u1"/);
    assert.equal(cache.chunks().map(String).join(''), await text({ polls: [...rows.values()], githubRateLimitRemaining: 3990, targets: 300 }));
  });

  test('series in (target, source) order whatever the order of the rows; every gauge a single group', async () => {
    const out = await text({ polls: [row('b', 'github-releases', 2), row('a', 'oci-tags:r/a', 3), row('a', 'github-releases', 1)], githubRateLimitRemaining: null, targets: 2 });
    const ups = out.split('\n').filter((l) => l.startsWith('provwatch_up{'));
    assert.deepEqual(ups, [
      'provwatch_up{target="a",source="github-releases",image=""} 1',
      'provwatch_up{target="a",source="oci-tags",image="r/a"} 1',
      'provwatch_up{target="b",source="github-releases",image=""} 1',
    ]);
    assert.doesNotMatch(out, /provwatch_github_rate_limit_remaining \d/, 'no reading, no series');
    for (const name of ['provwatch_up', 'provwatch_last_poll_timestamp_seconds', 'provwatch_poll_last_success_timestamp_seconds']) {
      const at = out.split('\n').flatMap((l, i) => (l.startsWith(`${name}{`) ? [i] : []));
      assert.equal(at[at.length - 1] - at[0], at.length - 1, `${name}: one contiguous group`);
    }
  });
});
