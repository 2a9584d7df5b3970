/**
 * The shipped Grafana dashboard: well-formed, every panel queries the data source variable, the
 * provisioning points at it, every query is valid PromQL for a real Prometheus and uses only
 * documented metrics. (That every query returns data is checked in test/e2e, against a Prometheus
 * that scraped a running provwatch.)
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { dashboardQueries, loadDashboard } from '../support/grafana-dashboard';
import { type RunningPrometheus, startPrometheus } from '../support/prometheus';
import { documentedMetrics, metricsIn } from '../support/observability-contract';

const ROOT = resolve(__dirname, '../../..');

describe('Grafana dashboard', () => {
  let prometheus: RunningPrometheus;
  before(async () => {
    prometheus = await startPrometheus({ scrapeTargets: ['127.0.0.1:9'] });
  });
  after(() => prometheus?.stop());

  test('panels are laid out, typed and query the data source variable', () => {
    const dashboard = loadDashboard();
    assert.equal(dashboard.uid, 'provwatch-overview');
    assert.ok(dashboard.schemaVersion >= 38);
    const names = dashboard.templating.list.map((v) => v.name);
    assert.deepEqual(names, ['datasource', 'target']);
    const ids = new Set<number>();
    for (const panel of dashboard.panels) {
      assert.ok(!ids.has(panel.id), `duplicate panel id ${panel.id}`);
      ids.add(panel.id);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} is wider than the grid`);
      if (panel.type === 'row') continue;
      assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
      for (const target of panel.targets!) assert.ok(target.expr.trim().length > 0, `${panel.title} ${target.refId}`);
    }
  });

  test('not-applicable is neither pass nor fail: no panel of failing or not-passing checks counts it, one panel shows it', () => {
    const queries = dashboardQueries();
    const statusQueries = queries.filter((q) => q.expr.includes('provwatch_check_status'));
    for (const q of statusQueries) {
      // `status!="pass"` would list evidence a project never promised among the failures.
      assert.doesNotMatch(q.expr, /status!="pass"/, `${q.panel}: ${q.expr}`);
      const selected = /status=~"([^"]+)"/.exec(q.expr)?.[1].split('|') ?? [];
      assert.ok(!selected.includes('not-applicable'), `${q.panel} selects not-applicable among ${selected.join(', ')}`);
    }
    assert.ok(statusQueries.some((q) => /status="not-applicable"/.test(q.expr)), 'a panel shows the not-applicable checks');
  });

  test('panels do not overlap', () => {
    const boxes = loadDashboard().panels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `${a.title} overlaps ${b.title}`);
      }
    }
  });

  test('provisioning: a Prometheus data source and a file provider for the dashboard folder', () => {
    const datasources = YAML.parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    assert.equal(datasources.datasources[0].type, 'prometheus');
    const providers = YAML.parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/provwatch.yml'), 'utf8'));
    assert.equal(providers.providers[0].type, 'file');
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    assert.ok(compose.includes(`./deploy/grafana/dashboards:${providers.providers[0].options.path}`), 'docker-compose mounts the dashboards where the provider looks');
  });

  test('every query is valid PromQL for a real Prometheus and uses only documented metrics', async () => {
    const documented = documentedMetrics();
    const queries = dashboardQueries();
    assert.ok(queries.length >= 20);
    for (const q of queries) {
      await assert.doesNotReject(prometheus.query(q.expr), `${q.panel}: ${q.expr}`);
      for (const metric of metricsIn(q.expr)) assert.ok(documented.has(metric), `${q.panel} uses ${metric}, not in docs/observability.md`);
    }
  });
});
