import { spawnSync } from 'node:child_process';
import { Socket } from 'node:net';

/** Admin URL of the local PostgreSQL for tests (trust auth on this machine kind). */
export const TEST_DATABASE_URL = process.env.PROVWATCH_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.connect(port, host);
  });
}

let ensured: Promise<void> | undefined;

/** Starts the machine's PostgreSQL cluster when it is not running (CI on a fresh machine). */
export function ensurePostgres(): Promise<void> {
  ensured ??= (async () => {
    const url = new URL(TEST_DATABASE_URL);
    const host = url.hostname;
    const port = Number(url.port || 5432);
    if (await reachable(host, port)) return;
    spawnSync('sh', ['-c', 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await reachable(host, port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`PostgreSQL is not reachable at ${host}:${port} and could not be started`);
  })();
  return ensured;
}
