import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { CoalescedReader, type PollSnapshot, ProvwatchMetrics, type VerdictSnapshot, escapeLabelValue } from '../index';
import { reportChanges } from '../../../../test/support/verdict-versions';

const at = (iso: string) => new Date(iso);

function snapshot(): VerdictSnapshot & PollSnapshot {
  return {
    checks: [
      { target: 'pbs-exporter', image: null, release: 'v0.9.0', check: 'artifact-provenance', status: 'pass', since: at('2026-11-01T00:00:00Z'), updatedAt: at('2026-11-20T00:00:00Z') },
      { target: 'pbs-exporter', image: 'ghcr.io/natrontech/pbs-exporter', release: 'v0.9.0', check: 'image-sbom', status: 'fail', since: at('2026-11-02T00:00:00Z'), updatedAt: at('2026-11-21T00:00:00Z') },
      { target: 'pbs-exporter', image: null, release: 'v0.8.0', check: 'artifact-provenance', status: 'pass', since: at('2026-10-01T00:00:00Z'), updatedAt: at('2026-11-19T00:00:00Z') },
      // An undecided check is not a verification: it must not move the "last verified" time.
      { target: 'pbs-exporter', image: null, release: 'v0.8.0', check: 'checksums-signature', status: 'error', since: at('2026-11-24T00:00:00Z'), updatedAt: at('2026-11-24T00:00:00Z'), lastVerdict: 'fail' },
    ],
    releases: [
      { target: 'pbs-exporter', release: 'v0.9.0', publishedAt: at('2026-11-01T00:00:00Z'), firstVerdictAt: at('2026-11-01T00:00:42Z') },
      { target: 'pbs-exporter', release: 'v0.8.0', publishedAt: at('2026-10-01T00:00:00Z'), firstVerdictAt: null },
    ],
    polls: [
      { target: 'pbs-exporter', source: 'github-releases', lastPolledAt: at('2026-11-25T00:00:00Z'), lastSuccessAt: at('2026-11-25T00:00:00Z'), lastErrorCode: null },
      { target: 'pbs-exporter', source: 'oci-tags:ghcr.io/natrontech/pbs-exporter', lastPolledAt: at('2026-11-25T00:00:00Z'), lastSuccessAt: at('2026-11-24T00:00:00Z'), lastErrorCode: 'registry-unavailable' },
    ],
    githubRateLimitRemaining: 4711,
    targets: 1,
  };
}

/** Both sources from one fixture; `version` changes when the test says so. */
function sources(data = snapshot(), counters = { reads: 0, version: 'v1' }) {
  return {
    verdicts: {
      // One target in these fixtures; its version is the test's to move.
      versions: reportChanges(async () => new Map([['pbs-exporter', counters.version]])),
      read: async (targets: string[]) => {
        counters.reads++;
        return { checks: data.checks.filter((c) => targets.includes(c.target)), releases: data.releases.filter((r) => targets.includes(r.target)) };
      },
    },
    polls: async () => data,
  };
}

/** Parses the exposition format into `name{labels}` → value (enough for these assertions). */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describe('metrics exposition', () => {
  test('check status: one series per check with its current status; image empty for release checks', async () => {
    const m = new ProvwatchMetrics({ version: '1.2.3', defaultMetrics: false }, sources());
    const s = series(await m.render());
    assert.equal(s.get('provwatch_check_status{target="pbs-exporter",image="",release="v0.9.0",check="artifact-provenance",status="pass"}'), 1);
    assert.equal(s.has('provwatch_check_status{target="pbs-exporter",image="",release="v0.9.0",check="artifact-provenance",status="fail"}'), false);
    assert.equal(s.get('provwatch_check_status{target="pbs-exporter",image="ghcr.io/natrontech/pbs-exporter",release="v0.9.0",check="image-sbom",status="fail"}'), 1);
    assert.equal([...s.keys()].filter((k) => k.startsWith('provwatch_check_status{')).length, 4);
    // An undecided check names its last verdict, so rules keep paging on an earlier failure.
    assert.equal(s.get('provwatch_check_status{target="pbs-exporter",image="",release="v0.8.0",check="checksums-signature",status="error",last_verdict="fail"}'), 1);
    assert.equal(s.get('provwatch_check_status_since_timestamp_seconds{target="pbs-exporter",image="ghcr.io/natrontech/pbs-exporter",release="v0.9.0",check="image-sbom"}'), Date.parse('2026-11-02T00:00:00Z') / 1000);
    assert.equal(s.has('provwatch_check_status_since_timestamp_seconds{target="pbs-exporter",image="",release="v0.9.0",check="artifact-provenance"}'), false, 'passing checks carry no since series');
  });

  test('every metric has HELP and TYPE once, and label values are escaped', async () => {
    const data = snapshot();
    data.checks = [{ ...data.checks[0], release: 'v1"\\\nx' }];
    const text = await new ProvwatchMetrics({ version: '1', defaultMetrics: false }, sources(data)).render();
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    assert.equal(new Set(types).size, types.length);
    for (const name of ['provwatch_check_status', 'provwatch_release_verified', 'provwatch_up', 'provwatch_build_info']) assert.ok(types.includes(name), name);
    assert.match(text, /release="v1\\"\\\\\\nx"/);
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  });

  test('verdicts are read again only when their version changed', async () => {
    const counters = { reads: 0, version: 'v1' };
    const m = new ProvwatchMetrics({ version: '1', defaultMetrics: false, snapshotMaxAgeMs: 0, verdictMaxStalenessMs: 0 }, sources(snapshot(), counters));
    const first = await m.render();
    await m.render();
    assert.equal(counters.reads, 1);
    counters.version = 'v2';
    assert.equal(await m.render(), first);
    assert.equal(counters.reads, 2);
  });

  test('only targets whose version moved are read again; a target that left the watchlist drops out', async () => {
    const versions = new Map([['a', '1'], ['b', '1']]);
    const reads: string[][] = [];
    const check = (target: string, status: 'pass' | 'fail') => ({ target, image: null, release: 'v1', check: 'artifact-provenance', status, since: new Date(0), updatedAt: new Date(0) });
    let statusOfA: 'pass' | 'fail' = 'pass';
    const m = new ProvwatchMetrics(
      { version: '1', defaultMetrics: false, snapshotMaxAgeMs: 0, verdictMaxStalenessMs: 0 },
      {
        verdicts: {
          versions: reportChanges(async () => new Map(versions)),
          read: async (targets) => {
            reads.push([...targets].sort());
            return { checks: targets.map((t) => check(t, t === 'a' ? statusOfA : 'pass')), releases: [] };
          },
        },
      },
    );
    await m.render();
    statusOfA = 'fail';
    versions.set('a', '2');
    const s = series(await m.render());
    assert.deepEqual(reads, [['a', 'b'], ['a']]);
    assert.equal(s.get('provwatch_check_status{target="a",image="",release="v1",check="artifact-provenance",status="fail"}'), 1);
    assert.equal(s.get('provwatch_check_status{target="b",image="",release="v1",check="artifact-provenance",status="pass"}'), 1);
    versions.delete('b');
    const after = series(await m.render());
    assert.equal(reads.length, 2, 'nothing to read');
    assert.equal([...after.keys()].some((k) => k.includes('target="b"')), false);
  });

  test('within the staleness bound a scrape answers from the last text and refreshes behind it', async () => {
    const counters = { reads: 0, version: 'v1' };
    const data = snapshot();
    const m = new ProvwatchMetrics({ version: '1', defaultMetrics: false, snapshotMaxAgeMs: 0 }, sources(data, counters));
    await m.render();
    data.checks = data.checks.map((c) => ({ ...c, status: 'fail' as const }));
    counters.version = 'v2';
    const served = series(await m.render());
    assert.equal(served.get('provwatch_check_status{target="pbs-exporter",image="",release="v0.9.0",check="artifact-provenance",status="pass"}'), 1, 'the previous text');
    await m.refreshVerdicts();
    const fresh = series(await m.render());
    assert.equal(fresh.get('provwatch_check_status{target="pbs-exporter",image="",release="v0.9.0",check="artifact-provenance",status="fail"}'), 1);
    assert.equal(counters.reads, 2);
  });

  test('a release is verified only when its image checks at the same tag pass too', async () => {
    const m = new ProvwatchMetrics({ version: '1', defaultMetrics: false }, sources());
    const s = series(await m.render());
    assert.equal(s.get('provwatch_release_verified{target="pbs-exporter",release="v0.9.0"}'), 0, 'the image SBOM fails');
    assert.equal(s.get('provwatch_release_verified{target="pbs-exporter",release="v0.8.0"}'), 0, 'an undecided check is not verified');
    const passing = snapshot();
    passing.checks = passing.checks.filter((c) => c.release === 'v0.8.0' && c.status === 'pass');
    const s2 = series(await new ProvwatchMetrics({ version: '1', defaultMetrics: false }, sources(passing)).render());
    assert.equal(s2.get('provwatch_release_verified{target="pbs-exporter",release="v0.8.0"}'), 1);
  });

  test('poll intervals of more targets than one formatting slice: each once, in the watchlist order, and a reload shows the new ones', async () => {
    const names = Array.from({ length: 2500 }, (_, i) => `t${i}`);
    let intervals = new Map(names.map((name, i) => [name, 60 + i]));
    const m = new ProvwatchMetrics({ version: '1', defaultMetrics: false, pollIntervalSeconds: () => intervals });
    const lines = (text: string) => text.split('\n').filter((line) => line.startsWith('provwatch_poll_interval_seconds{'));
    const first = lines(await m.render());
    assert.deepEqual(first, names.map((name, i) => `provwatch_poll_interval_seconds{target="${name}"} ${60 + i}`));
    intervals = new Map([['only', 300]]);
    assert.deepEqual(lines(await m.render()), ['provwatch_poll_interval_seconds{target="only"} 300']);
  });

  test('rendering once at boot changes nothing a scrape shows, and returns the registry text', async () => {
    const make = () => new ProvwatchMetrics({ version: '1.2.3', defaultMetrics: false, pollIntervalSeconds: new Map([['pbs-exporter', 300]]) }, sources());
    const warmed = make();
    const sample = await warmed.prepareFirstScrape();
    assert.match(sample, /^provwatch_build_info\{version="1\.2\.3"/m);
    assert.equal(await warmed.render(), await make().render());
  });

  test('timings, polls, rate limit and build info', async () => {
    const m = new ProvwatchMetrics({ version: '1.2.3', defaultMetrics: false, pollIntervalSeconds: new Map([['pbs-exporter', 300]]) }, sources());
    const s = series(await m.render());
    // A failed poll is still a poll: the oci source was polled on the 25th though it last succeeded on the 24th.
    assert.equal(s.get('provwatch_last_poll_timestamp_seconds{target="pbs-exporter",source="oci-tags",image="ghcr.io/natrontech/pbs-exporter"}'), Date.parse('2026-11-25T00:00:00Z') / 1000);
    assert.equal(s.get('provwatch_poll_interval_seconds{target="pbs-exporter"}'), 300);
    assert.equal(s.get('provwatch_release_time_to_verdict_seconds{target="pbs-exporter",release="v0.9.0"}'), 42);
    assert.equal(s.has('provwatch_release_time_to_verdict_seconds{target="pbs-exporter",release="v0.8.0"}'), false, 'no verdict yet: no series');
    assert.equal(s.get('provwatch_release_published_timestamp_seconds{target="pbs-exporter",release="v0.8.0"}'), Date.parse('2026-10-01T00:00:00Z') / 1000);
    assert.equal(s.get('provwatch_last_verification_timestamp_seconds{target="pbs-exporter"}'), Date.parse('2026-11-21T00:00:00Z') / 1000);
    assert.equal(s.get('provwatch_up{target="pbs-exporter",source="github-releases",image=""}'), 1);
    assert.equal(s.get('provwatch_up{target="pbs-exporter",source="oci-tags",image="ghcr.io/natrontech/pbs-exporter"}'), 0);
    assert.equal(s.get('provwatch_poll_last_success_timestamp_seconds{target="pbs-exporter",source="oci-tags",image="ghcr.io/natrontech/pbs-exporter"}'), Date.parse('2026-11-24T00:00:00Z') / 1000);
    assert.equal(s.get('provwatch_github_rate_limit_remaining'), 4711);
    assert.equal(s.get('provwatch_targets'), 1);
    assert.equal(s.get(`provwatch_build_info{version="1.2.3",node_version="${process.version}"}`), 1);
  });

  test('process counters and the verification histogram', async () => {
    const m = new ProvwatchMetrics({ version: '1', defaultMetrics: false });
    m.countRequest('github', 304);
    m.countRequest('github', 304);
    m.countRequest('oci', 'timeout');
    m.verificationDuration.observe({ subject: 'release' }, 0.3);
    m.verificationsTotal.inc({ target: 't', subject: 'release', status: 'fail' });
    m.alertsSentTotal.inc({ state: 'firing', result: 'success' }, 3);
    const s = series(await m.render());
    assert.equal(s.get('provwatch_poll_requests_total{source="github",code="304"}'), 2);
    assert.equal(s.get('provwatch_poll_requests_total{source="oci",code="timeout"}'), 1);
    assert.equal(s.get('provwatch_verification_duration_seconds_bucket{le="0.5",subject="release"}'), 1);
    assert.equal(s.get('provwatch_verification_duration_seconds_bucket{le="0.25",subject="release"}'), 0);
    assert.equal(s.get('provwatch_verifications_total{target="t",subject="release",status="fail"}'), 1);
    assert.equal(s.get('provwatch_alerts_sent_total{state="firing",result="success"}'), 3);
  });

  test('default Node metrics are exported unless turned off', async () => {
    const text = await new ProvwatchMetrics({ version: '1' }).render();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
  });

  test('a failed Postgres read leaves the status gauges empty, is counted, and the scrape still answers', async () => {
    let reads = 0;
    const down = async () => {
      reads++;
      throw new Error('connection refused');
    };
    const m = new ProvwatchMetrics(
      { version: '1', defaultMetrics: false },
      { verdicts: { versions: down, read: down }, polls: down, queues: async () => [{ queue: 'provwatch-verify', state: 'waiting', count: 7 }] },
    );
    const s = series(await m.render());
    assert.equal(reads, 2, 'one verdict version and one poll read per scrape');
    assert.equal([...s.keys()].some((k) => k.startsWith('provwatch_check_status') || k.startsWith('provwatch_up')), false);
    assert.equal(s.get('provwatch_scrape_errors_total{collector="postgres"}'), 2);
    assert.equal(s.get('provwatch_queue_jobs{queue="provwatch-verify",state="waiting"}'), 7);
  });

  test('no label value carries a digest or a URL', async () => {
    const text = await new ProvwatchMetrics({ version: '1', defaultMetrics: false }, sources()).render();
    assert.doesNotMatch(text, /sha256:|https?:\/\//);
  });
});

describe('coalesced reader', () => {
  test('concurrent readers share one read; a fresh one is reused within its max age; errors are not cached', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    const reader = new CoalescedReader(
      async () => {
        reads++;
        if (fail) throw new Error('down');
        return reads;
      },
      1000,
      () => now,
    );
    assert.deepEqual(await Promise.all([reader.get(), reader.get()]), [1, 1]);
    now = 500;
    assert.equal(await reader.get(), 1);
    now = 1500;
    fail = true;
    await assert.rejects(reader.get());
    fail = false;
    assert.equal(await reader.get(), 3);
  });
});
