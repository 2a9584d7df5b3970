// docs/observability.md as data: the metric names it publishes, for tests of rules and dashboards.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/** Metric names in docs/observability.md's table: the published contract. */
export function documentedMetrics(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'observability.md'), 'utf8');
  return new Set([...doc.matchAll(/^\| `(provwatch_[a-z_]+)` \|/gm)].map((m) => m[1]));
}

/** provwatch_* names an expression uses (histogram series map back to their family). */
export function metricsIn(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(provwatch_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')))];
}
