#!/usr/bin/env node
// Writes provwatch.prometheusrule.yaml (Prometheus Operator) from provwatch.rules.yml, so the two
// cannot drift: `node deploy/prometheus/generate-prometheusrule.mjs` after editing the rules
// (a test fails while the committed file differs from what this prints).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const YAML = createRequire(import.meta.url)('yaml');

export function prometheusRule(rulesText) {
  const { groups } = YAML.parse(rulesText);
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'provwatch', labels: { 'app.kubernetes.io/name': 'provwatch', 'app.kubernetes.io/component': 'alert-rules' } },
    spec: { groups },
  };
  return `# Generated from provwatch.rules.yml by generate-prometheusrule.mjs: edit the rules file, not this one.\n${YAML.stringify(resource, { lineWidth: 0 })}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = prometheusRule(readFileSync(join(here, 'provwatch.rules.yml'), 'utf8'));
  writeFileSync(join(here, 'provwatch.prometheusrule.yaml'), out);
}
