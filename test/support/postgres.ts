import { spawnSync } from 'node:child_process';
import { reachable, waitForPort } from './tcp';

/** Admin URL of the local PostgreSQL for tests (trust auth on this machine kind). */
export const TEST_DATABASE_URL = process.env.PROVWATCH_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';


let ensured: Promise<void> | undefined;

/** Starts the machine's PostgreSQL cluster when it is not running (CI on a fresh machine). */
export function ensurePostgres(): Promise<void> {
  ensured ??= (async () => {
    const url = new URL(TEST_DATABASE_URL);
    const host = url.hostname;
    const port = Number(url.port || 5432);
    if (await reachable(host, port)) return;
    spawnSync('sh', ['-c', 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start'], { stdio: 'ignore' });
    if (await waitForPort(host, port)) return;
    throw new Error(`PostgreSQL is not reachable at ${host}:${port} and could not be started`);
  })();
  return ensured;
}

/** A fresh database per test file, dropped afterwards: tests never share state. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  await ensurePostgres();
  const { Client } = await import('pg');
  const name = `provwatch_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
