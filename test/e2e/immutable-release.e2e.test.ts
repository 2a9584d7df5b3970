/**
 * An immutable release that stops being immutable pages. GitHub's immutable releases lock a
 * release's assets and tag once published; a release that was locked and is no longer (an
 * organisation owner turned it off to swap something) is exactly the change to be told about.
 * The worker polls the GitHub double; its direct push goes to a real Alertmanager.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { AlertmanagerClient } from '@provwatch/observability';
import { AlertPublisher } from '../../apps/worker/src/alerts/alert-publisher';
import { BINARY, PROVENANCE, type FaultWorld, eventually, faultTarget, latest, startFaultWorld } from '../support/fault-worker';
import { type RunningAlertmanager, startAlertmanager } from '../support/prometheus';

/** configSource.digest.sha1 of the generic-v2.1.0 v14 provenance: the tag points where it built. */
const PROVENANCE_COMMIT = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';
const TARGET = 'immutable';

describe('immutable releases end to end', { timeout: 120_000 }, () => {
  let world: FaultWorld;
  let alertmanager: RunningAlertmanager;

  before(async () => {
    alertmanager = await startAlertmanager();
    const alerts = new AlertPublisher({
      client: new AlertmanagerClient({ urls: [alertmanager.url] }),
      // Resends are not under test here: the change itself is pushed when it is recorded.
      snapshot: async () => ({ checks: [] }),
      resendIntervalMs: 60_000,
    });
    world = await startFaultWorld([faultTarget(TARGET, 1)], { alerts });
    world.gh.repos.set(`fault/${TARGET}`, [
      {
        id: 14,
        tag: 'v14',
        publishedAt: '2025-02-25T21:00:00Z',
        commit: PROVENANCE_COMMIT,
        immutable: true,
        assets: [
          { id: 7001, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' },
          { id: 7002, name: 'multiple.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
        ],
      },
    ]);
    await world.runtime.start();
  });

  after(async () => {
    await world?.close();
    await alertmanager?.stop();
  });

  test('an immutable release passes, and losing the lock fails release-assets and pages', async () => {
    await eventually('the immutable release to pass', async () => ((await latest(world.prisma, TARGET, 'release-assets'))?.status === 'pass' ? true : undefined));
    const row = await world.prisma.release.findFirst({ where: { tag: 'v14', target: { name: TARGET } } });
    assert.equal(row?.immutable, true);

    world.gh.repos.get(`fault/${TARGET}`)![0].immutable = false;
    const failed = await eventually('release-assets to fail', async () => {
      const check = await latest(world.prisma, TARGET, 'release-assets');
      return check?.status === 'fail' ? check : undefined;
    });
    assert.equal(failed.code, 'immutability-revoked');
    const alert = await eventually('the page in Alertmanager', async () =>
      (await alertmanager.alerts()).find((a) => a.labels.alertname === 'ProvwatchReleaseChanged' && a.labels.target === TARGET && a.labels.release === 'v14' && a.status.state === 'active'),
    );
    assert.equal(alert.labels.check, 'release-assets');
    assert.equal(alert.labels.severity, 'critical');
  });
});
