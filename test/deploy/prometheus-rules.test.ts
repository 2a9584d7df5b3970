/**
 * The shipped alerting: rules valid and unit-tested with promtool, the PrometheusRule in step with
 * them, the verdict alerts identical to what the worker pushes, every alert documented in the
 * runbook, every metric they use documented, the Alertmanager example valid.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { VERDICT_ALERTS } from '@provwatch/observability';
import { documentedMetrics, metricsIn } from '../support/observability-contract';
import { AMTOOL_BINARY, PROMTOOL_BINARY, ensureBinary } from '../support/prometheus';

const ROOT = resolve(__dirname, '../../..');
const DEPLOY = join(ROOT, 'deploy', 'prometheus');
const RULES_FILE = join(DEPLOY, 'provwatch.rules.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const groups = (YAML.parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const rules = groups.flatMap((g) => g.rules);

function run(binary: string, args: string[], cwd = DEPLOY) {
  const result = spawnSync(ensureBinary(binary), args, { cwd, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}\n${result.stderr}` };
}

describe('Prometheus alert rules', () => {
  test('promtool accepts the rules and their unit tests pass', () => {
    const check = run(PROMTOOL_BINARY, ['check', 'rules', RULES_FILE]);
    assert.ok(check.ok, check.output);
    const unit = run(PROMTOOL_BINARY, ['test', 'rules', 'provwatch.rules.test.yml']);
    assert.ok(unit.ok, unit.output);
    assert.match(unit.output, /SUCCESS/);
  });

  test('every alert the unit tests cover exists, and every alert is covered', () => {
    const tests = YAML.parse(readFileSync(join(DEPLOY, 'provwatch.rules.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    assert.deepEqual([...firing].sort(), rules.map((r) => r.alert).sort());
  });

  test('the example Prometheus configuration is valid (with the rules at their repository path)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-promcfg-'));
    const config = readFileSync(join(DEPLOY, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/provwatch.rules.yml', RULES_FILE);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const check = run(PROMTOOL_BINARY, ['check', 'config', join(dir, 'prometheus.yml')]);
    assert.ok(check.ok, check.output);
  });

  test('the PrometheusRule is generated from the rules file and up to date', async () => {
    const { prometheusRule } = (await import(join(DEPLOY, 'generate-prometheusrule.mjs'))) as { prometheusRule(text: string): string };
    const committed = readFileSync(join(DEPLOY, 'provwatch.prometheusrule.yaml'), 'utf8');
    assert.equal(committed, prometheusRule(readFileSync(RULES_FILE, 'utf8')), 'run: node deploy/prometheus/generate-prometheusrule.mjs');
    const resource = YAML.parse(committed) as { kind: string; spec: { groups: unknown } };
    assert.equal(resource.kind, 'PrometheusRule');
    assert.deepEqual(resource.spec.groups, groups);
  });

  test('monitoring-mixin conventions: Provwatch names, severity, summary, description, runbook section', () => {
    const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
    const sections = new Set([...runbook.matchAll(/^## (\w+)$/gm)].map((m) => m[1]));
    const contract = readFileSync(join(ROOT, 'docs', 'observability.md'), 'utf8');
    for (const rule of rules) {
      assert.match(rule.alert, /^Provwatch[A-Z][A-Za-z]+$/);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels.severity), `${rule.alert} severity`);
      assert.ok(rule.annotations.summary && rule.annotations.description, `${rule.alert} summary and description`);
      assert.equal(rule.annotations.runbook_url, `https://github.com/provwatch/provwatch/blob/main/docs/runbook.md#${rule.alert.toLowerCase()}`);
      assert.ok(sections.has(rule.alert), `docs/runbook.md has no section for ${rule.alert}`);
      assert.ok(contract.includes(`| \`${rule.alert}\` |`), `docs/observability.md does not list ${rule.alert}`);
    }
  });

  test('only fail and missing page; the push and the rules define the same verdict alerts', () => {
    const critical = rules.filter((r) => r.labels.severity === 'critical');
    assert.deepEqual(critical.map((r) => r.alert).sort(), VERDICT_ALERTS.map((a) => a.alertname).sort());
    for (const definition of VERDICT_ALERTS) {
      const rule = rules.find((r) => r.alert === definition.alertname)!;
      assert.equal(rule.labels.severity, definition.severity);
      assert.equal(rule.annotations.summary, definition.summary, `${definition.alertname} summary`);
      assert.equal(rule.annotations.description, definition.description, `${definition.alertname} description`);
      // The rule keeps exactly the labels the push sends.
      assert.match(rule.expr, /^max by \(target, image, release, check\) \(provwatch_check_status\{/);
      assert.match(rule.expr, new RegExp(`status="${definition.status}"`));
      // An undecided check keeps paging on its last verdict.
      assert.match(rule.expr, new RegExp(`status="error", last_verdict="${definition.status}"`));
      if (definition.checks) assert.match(rule.expr, new RegExp(`check=~"${definition.checks.join('\\|')}"`));
      assert.equal(rule.for, undefined, 'a verdict pages at once: the worker already waited for the grace period');
    }
  });

  test('every metric the rules use is a documented provwatch metric', () => {
    const documented = documentedMetrics();
    for (const rule of rules) for (const metric of metricsIn(rule.expr)) assert.ok(documented.has(metric), `${rule.alert} uses ${metric}, not in docs/observability.md`);
  });

  test('the example Alertmanager configuration is valid', () => {
    const check = run(AMTOOL_BINARY, ['check-config', join(ROOT, 'deploy', 'alertmanager', 'alertmanager.yml')]);
    assert.ok(check.ok, check.output);
  });
});
