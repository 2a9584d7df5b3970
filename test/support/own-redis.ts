import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { ensureRedis } from './redis';
import { reachable, waitForPort } from './tcp';

/** A free loopback TCP port (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own on a free port, without persistence (as `npm start` runs it):
 * a fault test kills and restarts it, and a restart comes back empty. Never the shared instance.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    await ensureRedis(); // installs redis-server on a fresh machine
    if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server is not installed');
    const redis = new OwnRedis(await freePort());
    await redis.up();
    return redis;
  }

  /** A free port reserved for a redis-server that is not running yet (`up()` starts it). */
  static async reserve(): Promise<OwnRedis> {
    await ensureRedis();
    if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server is not installed');
    return new OwnRedis(await freePort());
  }

  get connection() {
    return { host: '127.0.0.1', port: this.port, maxRetriesPerRequest: null };
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again): an empty Redis, its data gone with the last process. */
  async up(): Promise<void> {
    this.child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    if (!(await waitForPort('127.0.0.1', this.port))) throw new Error(`own redis-server did not start on ${this.port}`);
  }

  /** SIGSTOP: connections stay open and nothing answers (a host gone off the network). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL, as a crash: no shutdown, no save. Resolves once the port refuses connections. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    for (let i = 0; i < 50 && (await reachable('127.0.0.1', this.port)); i++) await new Promise((r) => setTimeout(r, 100));
  }
}
