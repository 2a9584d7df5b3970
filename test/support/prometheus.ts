// Real Prometheus and Alertmanager (Debian packages `prometheus`, `prometheus-alertmanager`) for
// tests: each on a free loopback port with its own temporary storage, stopped with the test.
// Installed with apt when missing (CI runs as root on a fresh machine).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
export const PROMTOOL_BINARY = '/usr/bin/promtool';
export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';
export const AMTOOL_BINARY = '/usr/bin/amtool';

const PACKAGES: Record<string, string> = {
  [PROMETHEUS_BINARY]: 'prometheus',
  [PROMTOOL_BINARY]: 'prometheus',
  [ALERTMANAGER_BINARY]: 'prometheus-alertmanager',
  [AMTOOL_BINARY]: 'prometheus-alertmanager',
};

/** Installs the package holding `binary` when it is missing (as root), else says how to. */
export function ensureBinary(binary: string): string {
  if (existsSync(binary)) return binary;
  const pkg = PACKAGES[binary];
  if (process.getuid?.() !== 0) throw new Error(`${binary} is missing: install the Debian package ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The packages' own services must not start (and take 9090/9093): policy-rc.d says no.
  const args = ['-o', 'Dpkg::Options::=--force-confdef', 'install', '-y', '--no-install-recommends', pkg];
  let install = spawnSync('apt-get', args, { stdio: 'ignore', env: { ...env, RUNLEVEL: '1' } });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    install = spawnSync('apt-get', args, { stdio: 'ignore', env: { ...env, RUNLEVEL: '1' } });
  }
  if (install.status !== 0 || !existsSync(binary)) throw new Error(`apt-get install ${pkg} failed`);
  return binary;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface Daemon {
  url: string;
  stop(): Promise<void>;
}

/** Starts a daemon and waits for `/-/ready`; retries on another port if the first was taken. */
async function startDaemon(binary: string, argsFor: (port: number, dir: string) => string[], prepare: (dir: string) => void, name: string): Promise<Daemon> {
  ensureBinary(binary);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `provwatch-${name}-`));
    prepare(dir);
    const port = await freePort();
    const child = spawn(binary, argsFor(port, dir), { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      running.delete(child);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitReady(`${url}/-/ready`, child, 20_000);
      return { url, stop };
    } catch (err) {
      await stop();
      lastError = new Error(`${name} did not become ready: ${(err as Error).message}\n${stderr}`);
    }
  }
  throw lastError;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

export interface PrometheusOptions {
  /** `host:port` targets serving /metrics. */
  scrapeTargets: string[];
  ruleFiles?: string[];
  /** Alertmanager base URLs (http://host:port). */
  alertmanagers?: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  /** An instant query; throws with Prometheus's message when the expression is invalid. */
  query(promql: string): Promise<PromSample[]>;
  /** Active alerts (pending and firing) from the rules. */
  alerts(): Promise<PromAlert[]>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const config = (dir: string) => {
    const lines = [
      'global:',
      `  scrape_interval: ${options.scrapeInterval ?? '1s'}`,
      `  evaluation_interval: ${options.evaluationInterval ?? '1s'}`,
      'scrape_configs:',
      '  - job_name: provwatch',
      `    static_configs: [{ targets: ${JSON.stringify(options.scrapeTargets)} }]`,
    ];
    if (options.ruleFiles?.length) lines.push('rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
    if (options.alertmanagers?.length) {
      const hosts = options.alertmanagers.map((u) => new URL(u).host);
      lines.push('alerting:', '  alertmanagers:', `    - static_configs: [{ targets: ${JSON.stringify(hosts)} }]`);
    }
    writeFileSync(join(dir, 'prometheus.yml'), `${lines.join('\n')}\n`);
  };
  const daemon = await startDaemon(
    PROMETHEUS_BINARY,
    (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    config,
    'prometheus',
  );
  return {
    ...daemon,
    async query(promql: string) {
      const res = await fetch(`${daemon.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
      if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
      const result = body.data!.result;
      // Scalars come back as one [time, value] pair: treat them as one sample.
      return body.data!.resultType === 'scalar' ? [{ metric: {}, value: result as [number, string] }] : (result as PromSample[]);
    },
    async alerts() {
      const res = await fetch(`${daemon.url}/api/v1/alerts`);
      const body = (await res.json()) as { data: { alerts: PromAlert[] } };
      return body.data.alerts;
    },
  };
}

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
}

export interface RunningAlertmanager {
  url: string;
  stop(): Promise<void>;
  /** The alerts Alertmanager holds now (resolved ones drop out). */
  alerts(): Promise<AmAlert[]>;
}

/** An Alertmanager with a receiver that sends nowhere: tests read its API, not notifications. */
export async function startAlertmanager(configYaml?: string): Promise<RunningAlertmanager> {
  const daemon = await startDaemon(
    ALERTMANAGER_BINARY,
    (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: a single instance, and no second port to collide on.
      '--cluster.listen-address=',
    ],
    (dir) => writeFileSync(join(dir, 'alertmanager.yml'), configYaml ?? 'route:\n  receiver: none\n  group_wait: 0s\nreceivers:\n  - name: none\n'),
    'alertmanager',
  );
  return {
    ...daemon,
    async alerts() {
      const res = await fetch(`${daemon.url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`alertmanager answered ${res.status}`);
      const all = (await res.json()) as AmAlert[];
      return all.filter((a) => Date.parse(a.endsAt) > Date.now() || a.endsAt.startsWith('0001'));
    },
  };
}
