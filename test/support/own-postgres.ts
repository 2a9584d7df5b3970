import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './own-redis';
import { reachable, waitForPort } from './tcp';

/** Debian's server binaries (the postgresql package); PROVWATCH_TEST_PG_BIN names another folder. */
function binDir(): string {
  if (process.env.PROVWATCH_TEST_PG_BIN) return process.env.PROVWATCH_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
  return join(root, versions[0], 'bin');
}

/** initdb and postgres refuse root: as root, the cluster runs as the `postgres` OS user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root and there is no postgres OS user to run the test cluster as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * A PostgreSQL cluster of the test's own (data folder under /tmp, free port, trust auth), so a
 * fault test can crash it: `kill()` is a SIGKILL of the postmaster and of its backends (a host or
 * container dying), and `up()` starts it again on the same data, through crash recovery.
 * Never the shared instance on 5432.
 */
export class OwnPostgres {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const bin = binDir();
    const user = runAs();
    const dataDir = mkdtempSync(join(tmpdir(), 'provwatch-pg-'));
    if (user) chownSync(dataDir, user.uid, user.gid);
    const pg = new OwnPostgres(await freePort(), dataDir, bin, user);
    const init = spawnSync(join(bin, 'initdb'), ['-D', join(dataDir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
      encoding: 'utf8',
      ...(user ?? {}),
    });
    if (init.status !== 0) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
    }
    try {
      await pg.up();
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    return pg;
  }

  /** Admin URL (database `postgres`). */
  get url(): string {
    return this.databaseUrl('postgres');
  }

  databaseUrl(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's log so far (for failure messages). */
  get log(): string {
    return this.output.join('');
  }

  /** Starts the postmaster (again) on the same data folder; resolves once it accepts logins. */
  async up(): Promise<void> {
    if (this.child) throw new Error('own postgres is already running');
    // fsync off: a crash here is a process crash, the kernel keeps what was written; the test
    // machine's disk is not what is tested. The socket lives in the data folder, not /var/run.
    const child = spawn(
      join(this.bin, 'postgres'),
      ['-D', join(this.dataDir, 'data'), '-p', String(this.port), '-k', this.dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50'],
      // Its own process group: the crash kills the postmaster and every backend at one stroke
      // (a backend forked a moment before would otherwise survive and block the restart).
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(this.user ?? {}) },
    );
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if ((await waitForPort('127.0.0.1', this.port, 1000)) && (await this.acceptsLogins())) return;
    }
    this.child = undefined;
    child.kill('SIGKILL');
    throw new Error(`own postgres did not start on ${this.port}: ${this.log.slice(-2000)}`);
  }

  private async acceptsLogins(): Promise<boolean> {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      // "the database system is starting up" (crash recovery) until it is done.
      await new Promise((r) => setTimeout(r, 200));
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Creates a database on this cluster and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return this.databaseUrl(name);
  }

  /**
   * The crash: SIGKILL to the postmaster and its backends (its process group; a backend left
   * behind would hold the shared memory a restart needs). No shutdown checkpoint. Resolves once the
   * port refuses connections and every process of the cluster is gone.
   */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    const backends = childrenOf(child.pid);
    const exited = new Promise((r) => child.once('exit', r));
    signal(-child.pid, 'SIGKILL');
    for (const pid of backends) signal(pid, 'SIGKILL');
    await exited;
    for (let i = 0; i < 100 && (backends.some(alive) || (await reachable('127.0.0.1', this.port))); i++) await new Promise((r) => setTimeout(r, 100));
  }

  /** A clean (fast) shutdown. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the cluster (a crash if it will not stop) and deletes its data folder. */
  async destroy(): Promise<void> {
    const pid = this.child?.pid;
    await this.stop().catch(() => undefined);
    if (pid) signal(-pid, 'SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Direct children of a process, read from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
