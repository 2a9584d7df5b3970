import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { TEST_REDIS_URL } from './redis';
import { PUBLIC_GOOD_TRUSTED_ROOT } from './vectors';
import { resolve } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../apps/api/src/runtime-flags';

/** The compiled service entry (`node dist/apps/api/src/main.js`, as the image runs it). */
const MAIN = resolve(__dirname, '../../apps/api/src/main.js');

/**
 * provwatch as a child process, so a test can crash it (`kill -9`) or see it crash: the test
 * runner's process is not the service's. Output is kept for failure messages; the HTTP port is
 * read from the start-up line (PORT=0 picks a free one).
 */
export class ServiceProcess {
  readonly output: string[] = [];
  private peakRssKiB = 0;
  private sampler: NodeJS.Timeout;
  port: number | undefined;

  private constructor(private readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        this.output.push(text);
        const m = /listening on (\d+)/.exec(text);
        if (m) this.port = Number(m[1]);
      });
    }
    // VmHWM (the peak) is only readable while the process lives: sampled, and read at the end.
    this.sampler = setInterval(() => this.sampleRss(), 500);
    this.sampler.unref();
    child.once('exit', () => clearInterval(this.sampler));
  }

  /** Spawns the service with exactly `env` (plus PATH) and waits until it listens. */
  static async start(env: Record<string, string>, timeoutMs = 90_000): Promise<ServiceProcess> {
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, MAIN], {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TZ: 'UTC', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child);
    const deadline = Date.now() + timeoutMs;
    while (service.port === undefined) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`provwatch exited at start (${child.exitCode ?? child.signalCode}): ${service.log.slice(-3000)}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`provwatch did not listen within ${timeoutMs} ms: ${service.log.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return service;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.output.join('');
  }

  /** The output so far, line by line. */
  get lines(): string[] {
    return this.log.split('\n').filter((l) => l.length > 0);
  }

  /** What each line says: the `msg` of a JSON log line (quotes unescaped), or the line itself. */
  get messages(): string[] {
    return this.lines.map((line) => {
      try {
        const event = JSON.parse(line) as { msg?: unknown };
        return typeof event.msg === 'string' ? event.msg : line;
      } catch {
        return line;
      }
    });
  }

  /** Output lines that look like a stack frame (`    at fn (file:1:2)`). */
  stackLines(): string[] {
    return this.lines.filter((l) => /^\s+at\s/.test(l));
  }

  /** The exit code once it ended, null while it runs. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** Exit code or signal once it ended on its own or was killed; undefined while it runs. */
  get exited(): string | undefined {
    if (this.child.exitCode !== null) return `exit code ${this.child.exitCode}`;
    if (this.child.signalCode !== null) return `signal ${this.child.signalCode}`;
    return undefined;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Peak resident set of the service process (MiB), as far as sampled. */
  get peakRssMiB(): number {
    this.sampleRss();
    return Math.round(this.peakRssKiB / 1024);
  }

  private sampleRss(): void {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      if (m) this.peakRssKiB = Math.max(this.peakRssKiB, Number(m[1]));
    } catch {
      // not running (any more)
    }
  }

  /** Sends a signal (SIGHUP: reload the watchlist) without waiting for anything. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL, as a crash or an OOM kill: no shutdown hooks, no lock released. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.sampleRss();
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }

  /** A graceful stop (SIGTERM), a SIGKILL if it does not end within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exited) return;
    this.sampleRss();
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * A watchlist file for fault targets `fault/<name>` on the GitHub double (v14's provenance names
 * example-package, as `faultTarget` in fault-worker.ts), for a service started as a process.
 */
export function faultWatchlistYaml(names: string[], pollInterval: string, gracePeriod = '60s'): string {
  const targets = names.map(
    (name) => `  - name: ${name}
    github: fault/${name}
    source_uri: github.com/slsa-framework/example-package
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github\\.com/slsa-framework/example-package/'
    artifacts:
      provenance: multiple.intoto.jsonl
`,
  );
  return `defaults:
  poll_interval: ${pollInterval}
  grace_period: ${gracePeriod}
  reverify_interval: 1d
targets:
${targets.join('')}`;
}

/**
 * The environment of a service started as a process against the GitHub double: its watchlist,
 * database, the shared Redis under `prefix`, no Rekor, the public-good root; `extra` on top.
 */
export function doubleServiceEnv(options: { config: string; databaseUrl: string; prefix: string; gh: { url: string; storageHost: string } }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PROVWATCH_CONFIG: options.config,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PROVWATCH_QUEUE_PREFIX: options.prefix,
    GITHUB_API_URL: options.gh.url,
    PROVWATCH_INSECURE_REGISTRIES: options.gh.storageHost,
    REKOR_URL: 'http://127.0.0.1:9',
    PROVWATCH_TRUSTED_ROOT: PUBLIC_GOOD_TRUSTED_ROOT,
    ...extra,
  };
}

/** Deletes every key of a test's queues (discover and verify) from the shared Redis. */
export async function removeQueues(prefix: string): Promise<void> {
  const { Queue } = await import('bullmq');
  const { QUEUES } = await import('@provwatch/jobs');
  const { redisConnectionOptions } = await import('./redis');
  const connection = await redisConnectionOptions();
  for (const name of [QUEUES.discover, QUEUES.verify]) {
    const queue = new Queue(name, { connection, prefix });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}

/**
 * A TCP forwarder on a port of the test's choosing to a real server: "Postgres comes up" is the
 * forwarder starting to listen on a port where nothing answered before, without a cluster of
 * the test's own.
 */
export class TcpForwarder {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  listen(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = new Socket();
      this.sockets.add(inbound).add(outbound);
      const drop = () => (inbound.destroy(), outbound.destroy(), this.sockets.delete(inbound), this.sockets.delete(outbound));
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
      outbound.connect(this.target.port, this.target.host, () => inbound.pipe(outbound).pipe(inbound));
    });
    return new Promise((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(() => r(undefined)) : r(undefined)));
  }
}
