/**
 * provwatch as operators run it, end to end: the service (api + worker roles) watches a project on
 * the GitHub double and an image in a real registry, a real Prometheus scrapes /metrics and
 * evaluates the shipped rules, and two real Alertmanagers receive the alerts: one from the
 * worker's direct push, one from Prometheus. A release whose provenance names none of its assets
 * fails; the alert fires on both paths; the maintainers upload the right asset and GitHub's signed
 * release webhook makes provwatch look again at once; it resolves on both. Every PromQL expression of the shipped Grafana dashboard must return data in that run.
 */
import { strict as assert } from 'node:assert';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrap } from '../../apps/api/src/main';
import { dashboardQueries } from '../support/grafana-dashboard';
import { GitHubDouble } from '../support/github-double';
import { type TestHttpServer, startHttpServer } from '../support/http-server';
import { createTestDatabase } from '../support/postgres';
import { eventually as waitFor } from '../support/eventually';
import { type RunningAlertmanager, type RunningPrometheus, startAlertmanager, startPrometheus } from '../support/prometheus';
import { TEST_REDIS_URL, ensureRedis } from '../support/redis';
import { type TestRegistry, pushOciLayout, startRegistry } from '../support/registry';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

const ROOT = resolve(__dirname, '../../..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'provwatch.rules.yml');
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const SUBJECT_NAME = 'gha_generic-binary-linux-amd64-v14';
const WEBHOOK_SECRET = 'e2e-webhook-secret';
const ALERT = { alertname: 'ProvwatchReleaseProvenanceFailed', target: 'example-package', release: 'v14', check: 'artifact-provenance' };

/** The shared poller with the minute an end-to-end step may take here (Prometheus scrapes every second). */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitFor(what, probe, { timeoutMs });

type Labels = Record<string, string>;
/** Alertmanager's webhook payload (version 4), the parts the test reads. */
interface Notification {
  status: 'firing' | 'resolved';
  commonLabels: Labels;
  alerts: Array<{ status: 'firing' | 'resolved'; labels: Labels }>;
}
const matches = (labels: Labels, wanted: Labels) => Object.entries(wanted).every(([k, v]) => labels[k] === v);

describe('alerting end to end: provwatch, Prometheus, Alertmanager', { timeout: 240_000 }, () => {
  let gh: GitHubDouble;
  let registry: TestRegistry;
  let db: { url: string; drop(): Promise<void> };
  let service: { close(): Promise<void>; port: number };
  let prometheus: RunningPrometheus;
  let pushedTo: RunningAlertmanager;
  let ruledTo: RunningAlertmanager;
  const receivers: { pager?: TestHttpServer; chat?: TestHttpServer } = {};
  const notifications: Array<{ receiver: 'pager' | 'chat'; body: Notification }> = [];
  const prefix = `e2e-${randomUUID().slice(0, 8)}`;

  before(async () => {
    await ensureRedis();
    // The rules' Alertmanager runs the shipped example configuration, its receivers pointed at
    // local webhook servers (and its timers shortened): the page must reach the pager route.
    for (const receiver of ['pager', 'chat'] as const) {
      receivers[receiver] = await startHttpServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          notifications.push({ receiver, body: JSON.parse(body) as Notification });
          res.writeHead(200).end();
        });
      });
    }
    const shipped = readFileSync(join(ROOT, 'deploy', 'alertmanager', 'alertmanager.yml'), 'utf8')
      .replace('http://pager.example.internal/hooks/provwatch', `${receivers.pager!.origin}/hook`)
      .replace('http://chat.example.internal/hooks/provwatch', `${receivers.chat!.origin}/hook`)
      .replace(/group_wait: \S+/, 'group_wait: 0s')
      .replace(/group_interval: \S+/, 'group_interval: 1s');
    [gh, registry, db, pushedTo, ruledTo] = await Promise.all([GitHubDouble.start(), startRegistry(), createTestDatabase(), startAlertmanager(), startAlertmanager(shipped)]);
    await pushOciLayout(registry.host, 'slsa/example-package', vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch'), 'v14');
    // A rebuilt binary went up under a name the provenance does not know: no subject has its
    // name or its bytes, so the provenance covers nothing.
    gh.repos.set('slsa-framework/example-package', [
      {
        id: 14,
        tag: 'v14',
        publishedAt: '2025-02-25T21:00:00Z',
        assets: [
          { id: 1401, name: 'example-package-linux-amd64', bytes: Buffer.concat([BINARY, Buffer.from('rebuilt')]), updatedAt: '2025-02-25T21:05:00Z' },
          { id: 1402, name: 'multiple.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
        ],
      },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-e2e-'));
    const watchlist = join(dir, 'provwatch.yaml');
    // Polls are an hour apart: only the webhook can make the fix visible within the test.
    writeFileSync(
      watchlist,
      `defaults:
  poll_interval: 1h
  grace_period: 10s
  reverify_interval: 1d
targets:
  - name: example-package
    github: slsa-framework/example-package
    source_uri: github.com/slsa-framework/example-package
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github\\.com/slsa-framework/example-package/'
    artifacts:
      provenance: multiple.intoto.jsonl
    images:
      - ref: ${registry.host}/slsa/example-package
`,
    );
    service = await bootstrap({
      PROVWATCH_CONFIG: watchlist,
      PORT: '0',
      PROVWATCH_ROLES: 'api,worker',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      PROVWATCH_QUEUE_PREFIX: prefix,
      GITHUB_API_URL: gh.url,
      PROVWATCH_INSECURE_REGISTRIES: `${gh.storageHost},${registry.host}`,
      REKOR_URL: 'http://127.0.0.1:9',
      PROVWATCH_TRUSTED_ROOT: PUBLIC_GOOD_TRUSTED_ROOT,
      ALERTMANAGER_URLS: pushedTo.url,
      PROVWATCH_ALERT_RESEND_INTERVAL: '1',
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    prometheus = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${service.port}`],
      ruleFiles: [RULES],
      alertmanagers: [ruledTo.url],
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
  });

  after(async () => {
    await service?.close();
    await Promise.allSettled([prometheus?.stop(), pushedTo?.stop(), ruledTo?.stop(), registry?.stop(), gh?.close(), receivers.pager?.close(), receivers.chat?.close()]);
    await db?.drop();
  });

  const firingIn = async (am: RunningAlertmanager) => (await am.alerts()).find((a) => matches(a.labels, ALERT) && a.status.state === 'active');

  test('a release whose provenance covers none of its assets fires the provenance alert on both paths', async () => {
    const pushed = await eventually('the pushed alert in Alertmanager', () => firingIn(pushedTo));
    assert.equal(pushed.labels.severity, 'critical');
    assert.equal(pushed.labels.image, undefined);
    assert.match(pushed.annotations.summary, /example-package v14/);

    const rule = await eventually('the rule firing in Prometheus', async () =>
      (await prometheus.alerts()).find((a) => matches(a.labels, ALERT) && a.state === 'firing'),
    );
    assert.equal(rule.labels.severity, 'critical');
    const ruled = await eventually('the rule-based alert in Alertmanager', () => firingIn(ruledTo));
    // Same label set on both paths: one Alertmanager fed by both would see one alert.
    assert.deepEqual(ruled.labels, pushed.labels);
    // The shipped routing pages: the critical verdict goes to the pager receiver.
    const page = await eventually('a page through the shipped routing', async () =>
      notifications.find((n) => n.receiver === 'pager' && n.body.status === 'firing' && n.body.alerts.some((a) => matches(a.labels, ALERT))),
    );
    assert.equal(page.body.commonLabels.severity, 'critical');
  });

  test('every query of the Grafana dashboard returns data', async () => {
    // Let rate() windows and the histogram fill with a few scrapes.
    const queries = dashboardQueries();
    assert.ok(queries.length >= 8, `the dashboard has ${queries.length} queries`);
    const empty: string[] = [];
    await eventually(
      'every dashboard query to return data',
      async () => {
        empty.length = 0;
        for (const q of queries) if ((await prometheus.query(q.expr)).length === 0) empty.push(`${q.panel}: ${q.expr}`);
        return empty.length === 0 ? true : undefined;
      },
      60_000,
    ).catch((err: Error) => assert.fail(`${err.message}; no data for:\n${empty.join('\n')}`));
  });

  test('after the maintainers upload the asset under its provenance name, both alerts resolve', async () => {
    const release = gh.repos.get('slsa-framework/example-package')![0];
    release.assets = [
      { id: 1403, name: SUBJECT_NAME, bytes: BINARY, updatedAt: '2026-11-25T09:00:00Z' },
      release.assets[1],
    ];
    // GitHub tells provwatch at once (signed release webhook) instead of waiting for the next poll.
    const delivery = JSON.stringify({ action: 'edited', release: { tag_name: 'v14' }, repository: { full_name: 'slsa-framework/example-package' } });
    const hook = await fetch(`http://127.0.0.1:${service.port}/api/v1/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(delivery).digest('hex')}` },
      body: delivery,
    });
    assert.equal(hook.status, 202, await hook.text());
    await eventually('the pushed alert to resolve', async () => ((await firingIn(pushedTo)) ? undefined : true));
    await eventually('the rule to stop firing', async () => ((await prometheus.alerts()).some((a) => matches(a.labels, ALERT)) ? undefined : true));
    await eventually('the rule-based alert to resolve in Alertmanager', async () => ((await firingIn(ruledTo)) ? undefined : true));
    await eventually('the resolved notification to the pager', async () =>
      notifications.some((n) => n.receiver === 'pager' && n.body.alerts.some((a) => matches(a.labels, ALERT) && a.status === 'resolved')) ? true : undefined,
    );
    const status = await prometheus.query('provwatch_check_status{target="example-package",release="v14",check="artifact-provenance"} == 1');
    assert.equal(status[0]?.metric.status, 'pass');
  });
});
