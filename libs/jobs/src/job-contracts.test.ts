import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { requestedDiscoveryJobId, requestedImageJobId, requestedReleaseJobId, verifyReleaseJobId } from './job-contracts';

describe('job ids of requested work (re-verify, webhook)', () => {
  const release = { target: 'pbs-exporter', releaseId: 42 };
  const image = { target: 'pbs-exporter', image: 'ghcr.io/natrontech/pbs-exporter', digest: `sha256:${'ab'.repeat(32)}` };
  const t0 = Date.UTC(2026, 10, 25, 12, 0, 0);

  test('a burst inside one bucket collapses into one job', () => {
    assert.equal(requestedReleaseJobId(release, t0), requestedReleaseJobId(release, t0 + 9_999));
    assert.equal(requestedImageJobId(image, t0), requestedImageJobId(image, t0 + 9_999));
    assert.equal(requestedDiscoveryJobId('pbs-exporter', t0), requestedDiscoveryJobId('pbs-exporter', t0 + 4_999));
  });

  test('a later request is new work, not swallowed by a completed job of the same id', () => {
    assert.notEqual(requestedReleaseJobId(release, t0), requestedReleaseJobId(release, t0 + 10_000));
    assert.notEqual(requestedDiscoveryJobId('pbs-exporter', t0), requestedDiscoveryJobId('pbs-exporter', t0 + 5_000));
    assert.notEqual(requestedReleaseJobId(release, t0, 60_000), requestedReleaseJobId(release, t0 + 60_000, 60_000));
  });

  test('different subjects never share an id, nor with the scheduled jobs', () => {
    assert.notEqual(requestedReleaseJobId(release, t0), requestedReleaseJobId({ ...release, releaseId: 43 }, t0));
    assert.notEqual(requestedImageJobId(image, t0), requestedImageJobId({ ...image, digest: `sha256:${'cd'.repeat(32)}` }, t0));
    assert.notEqual(requestedDiscoveryJobId('a', t0), requestedDiscoveryJobId('b', t0));
    assert.notEqual(requestedReleaseJobId(release, t0), verifyReleaseJobId(release, ''));
  });

  test('ids carry no user data and no ":" (BullMQ reserves it)', () => {
    const odd = { target: 'x', image: 'registry:5000/a', digest: 'sha256:00' };
    for (const id of [requestedImageJobId(odd, t0), requestedDiscoveryJobId('pbs-exporter', t0), requestedReleaseJobId(release, t0)]) {
      assert.match(id, /^[a-z-]+-[0-9a-f]{32}$/);
    }
  });
});
