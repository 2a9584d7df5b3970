import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AlertmanagerClient, type PostableAlert, type VerdictSnapshot } from '@provwatch/observability';
import { startHttpServer, type TestHttpServer } from '../../../../test/support/http-server';
import { redisConnectionOptions } from '../../../../test/support/redis';
import { AlertPublisher } from './alert-publisher';
import { ResendTurn } from './resend-turn';

describe('direct alert push', () => {
  let am: TestHttpServer;
  let received: PostableAlert[][] = [];
  let status = 200;
  const now = new Date('2026-11-25T12:00:00Z');
  let checks: VerdictSnapshot['checks'] = [];
  const logs: string[] = [];
  let publisher: AlertPublisher;

  before(async () => {
    am = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as PostableAlert[]);
        res.writeHead(status).end();
      });
    });
    publisher = new AlertPublisher({
      client: new AlertmanagerClient({ urls: [am.origin] }),
      snapshot: async () => ({ checks }),
      resendIntervalMs: 60_000,
      publicUrl: 'https://provwatch.example.net',
      now: () => now,
      log: (m) => logs.push(m),
    });
  });
  beforeEach(() => {
    received = [];
    status = 200;
  });
  after(() => am.close());

  const subject = { target: 'pbs-exporter', release: 'v0.9.0' };

  test('a check turning fail fires at once, with an expiry five resend intervals ahead and a link to the evidence', async () => {
    await publisher.publishChanges(subject, [{ check: 'artifact-provenance', from: 'pass', to: 'fail' }]);
    assert.equal(received.length, 1);
    const [alert] = received[0];
    assert.deepEqual(alert.labels, { alertname: 'ProvwatchReleaseProvenanceFailed', severity: 'critical', target: 'pbs-exporter', release: 'v0.9.0', check: 'artifact-provenance' });
    assert.equal(alert.startsAt, now.toISOString());
    assert.equal(alert.endsAt, new Date(now.getTime() + 300_000).toISOString());
    assert.equal(alert.generatorURL, 'https://provwatch.example.net/api/v1/targets/pbs-exporter/releases/v0.9.0');
  });

  test('turning pass resolves the alert at once (endsAt = now)', async () => {
    await publisher.publishChanges({ ...subject, image: 'ghcr.io/natrontech/pbs-exporter' }, [{ check: 'image-sbom', from: 'missing', to: 'pass' }]);
    const [alert] = received[0];
    assert.equal(alert.labels.alertname, 'ProvwatchEvidenceMissing');
    assert.equal(alert.labels.image, 'ghcr.io/natrontech/pbs-exporter');
    assert.equal(alert.endsAt, now.toISOString());
  });

  test('missing turning fail resolves the missing alert and fires the failure', async () => {
    await publisher.publishChanges(subject, [{ check: 'release-sbom', from: 'missing', to: 'fail' }]);
    assert.deepEqual(
      received[0].map((a) => [a.labels.alertname, a.endsAt === now.toISOString() ? 'resolved' : 'firing']),
      [
        ['ProvwatchEvidenceMissing', 'resolved'],
        ['ProvwatchSbomAttestationFailed', 'firing'],
      ],
    );
  });

  test('pass, error and first-seen pass send nothing', async () => {
    await publisher.publishChanges(subject, [
      { check: 'artifact-provenance', from: null, to: 'pass' },
      { check: 'checksums-signature', from: 'pass', to: 'error' },
    ]);
    assert.equal(received.length, 0);
  });

  test('an outage after a failure keeps the alert; leaving it for pass resolves whichever alert was active', async () => {
    await publisher.publishChanges(subject, [{ check: 'image-signature', from: 'fail', to: 'error' }]);
    assert.equal(received.length, 0, 'no resolve: the check could not be re-checked');
    await publisher.publishChanges({ ...subject, image: 'ghcr.io/o/t' }, [{ check: 'image-signature', from: 'error', to: 'pass' }]);
    assert.deepEqual(received[0].map((a) => [a.labels.alertname, a.endsAt === now.toISOString()]).sort(), [
      ['ProvwatchEvidenceMissing', true],
      ['ProvwatchSignatureFailed', true],
    ]);
    received = [];
    await publisher.publishChanges(subject, [{ check: 'image-signature', from: 'error', to: 'fail' }]);
    assert.deepEqual(received[0].map((a) => [a.labels.alertname, a.endsAt === now.toISOString() ? 'resolved' : 'firing']).sort(), [
      ['ProvwatchEvidenceMissing', 'resolved'],
      ['ProvwatchSignatureFailed', 'firing'],
    ]);
  });

  test('resend: every active fail and missing from Postgres, with its original start', async () => {
    const since = new Date('2026-11-20T08:00:00Z');
    checks = [
      { target: 'pbs-exporter', image: null, release: 'v0.9.0', check: 'checksums-signature', status: 'fail', since, updatedAt: now },
      { target: 'pbs-exporter', image: 'ghcr.io/natrontech/pbs-exporter', release: 'v0.9.0', check: 'image-sbom', status: 'missing', since, updatedAt: now },
      { target: 'pbs-exporter', image: null, release: 'v0.8.0', check: 'artifact-provenance', status: 'pass', since, updatedAt: now },
      { target: 'pbs-exporter', image: null, release: 'v0.8.0', check: 'release-sbom', status: 'error', since, updatedAt: now, lastVerdict: 'pass' },
      { target: 'pbs-exporter', image: null, release: 'v0.7.0', check: 'release-sbom', status: 'error', since, updatedAt: now, lastVerdict: 'fail' },
    ];
    await publisher.resendActive();
    assert.deepEqual(received[0].map((a) => `${a.labels.alertname} ${a.labels.release}`).sort(), [
      'ProvwatchEvidenceMissing v0.9.0',
      'ProvwatchSbomAttestationFailed v0.7.0',
      'ProvwatchSignatureFailed v0.9.0',
    ]);
    assert.ok(received[0].every((a) => a.startsAt === since.toISOString()));
  });

  test('an Alertmanager answering 500 is logged without the URL credentials, and nothing throws', async () => {
    status = 500;
    await publisher.publishChanges(subject, [{ check: 'artifact-provenance', from: 'pass', to: 'fail' }]);
    assert.match(logs.at(-1) ?? '', new RegExp(`alertmanager ${am.host}: push of 1 alert\\(s\\) failed: HTTP 500`));
  });

  test('of several replicas, one re-sends per interval; the next interval is a new turn', async () => {
    const since = new Date('2026-11-20T08:00:00Z');
    checks = [{ target: 'pbs-exporter', image: null, release: 'v0.9.0', check: 'checksums-signature', status: 'fail', since, updatedAt: now }];
    const connection = await redisConnectionOptions();
    const key = `alerts-${randomUUID()}:alert-resend-turn`;
    const replicas = ['a', 'b', 'c'].map(
      (name) =>
        new AlertPublisher({
          client: new AlertmanagerClient({ urls: [am.origin] }),
          snapshot: async () => ({ checks }),
          resendIntervalMs: 500,
          turn: new ResendTurn(connection, key, name),
          now: () => now,
        }),
    );
    try {
      await Promise.all(replicas.map((r) => r.resendActive()));
      assert.equal(received.length, 1, 'one replica re-sent');
      await Promise.all(replicas.map((r) => r.resendActive()));
      assert.equal(received.length, 1, 'still inside the turn');
      await new Promise((r) => setTimeout(r, 500));
      await Promise.all(replicas.map((r) => r.resendActive()));
      assert.equal(received.length, 2, 'after the turn, the next re-send goes out once');
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });

  test('when Redis cannot be asked, every replica re-sends (a duplicate is harmless, silence is not)', async () => {
    checks = [{ target: 'pbs-exporter', image: null, release: 'v0.9.0', check: 'checksums-signature', status: 'fail', since: now, updatedAt: now }];
    const turnLogs: string[] = [];
    const replicas = ['a', 'b'].map(
      (name) =>
        new AlertPublisher({
          client: new AlertmanagerClient({ urls: [am.origin] }),
          snapshot: async () => ({ checks }),
          resendIntervalMs: 60_000,
          turn: new ResendTurn({ host: '127.0.0.1', port: 9, connectTimeout: 500 }, 'unreachable:alert-resend-turn', name, (m) => turnLogs.push(m)),
          now: () => now,
        }),
    );
    try {
      await Promise.all(replicas.map((r) => r.resendActive()));
      assert.equal(received.length, 2);
      assert.equal(turnLogs.length, 2);
      assert.match(turnLogs[0], /sending anyway/);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });

  test('without Alertmanager URLs nothing is sent and no timer runs', async () => {
    const quiet = new AlertPublisher({ client: new AlertmanagerClient({ urls: [] }), snapshot: async () => ({ checks }), resendIntervalMs: 10 });
    quiet.start();
    await quiet.publishChanges(subject, [{ check: 'artifact-provenance', from: 'pass', to: 'fail' }]);
    await quiet.stop();
    assert.equal(received.length, 0);
  });
});
