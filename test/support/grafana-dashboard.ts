// The shipped Grafana dashboard, read for tests: every PromQL expression with Grafana's template
// variables replaced the way Grafana would for "all targets".
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DASHBOARD_FILE = join(resolve(__dirname, '../../..'), 'deploy', 'grafana', 'dashboards', 'provwatch.json');

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { type: string; uid: string } }>;
  gridPos: { h: number; w: number; x: number; y: number };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

const VARIABLES: Record<string, string> = { target: '.*', __rate_interval: '1m', __interval: '15s', __range: '1h' };

export function substituteVariables(expr: string): string {
  return expr.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => VARIABLES[name] ?? whole);
}

/** Every query of every panel, ready to send to Prometheus. */
export function dashboardQueries(): Array<{ panel: string; refId: string; expr: string }> {
  return loadDashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: substituteVariables(t.expr) })));
}
