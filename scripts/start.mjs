#!/usr/bin/env node
// `npm start`: runs provwatch (api + worker) on this machine. Uses DATABASE_URL and REDIS_URL when
// set; otherwise the local PostgreSQL and Redis, started if they are not running, with a
// `provwatch` database created on first start. Migrations are applied by the service itself.
import { spawn, spawnSync } from 'node:child_process';
import { Socket } from 'node:net';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);

const reachable = (host, port) =>
  new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.connect(port, host);
  });

async function ensure(name, host, port, startCommand) {
  if (await reachable(host, port)) return;
  console.error(`${name} is not running on ${host}:${port}; starting it`);
  spawnSync('sh', ['-c', startCommand], { stdio: 'inherit' });
  for (let i = 0; i < 100 && !(await reachable(host, port)); i++) await new Promise((r) => setTimeout(r, 100));
}

const env = { ...process.env };
if (!env.DATABASE_URL) {
  await ensure('PostgreSQL', '127.0.0.1', 5432, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start');
  spawnSync('sh', ['-c', `psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='provwatch'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE provwatch'`], { stdio: 'inherit' });
  env.DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/provwatch';
}
if (!env.REDIS_URL) {
  await ensure('Redis', '127.0.0.1', 6379, 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no');
}
// The service's Node flags (apps/api/src/runtime-flags.ts), from the build just made.
const { SERVICE_NODE_FLAGS } = await import('../dist/apps/api/src/runtime-flags.js');
const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, 'dist/apps/api/src/main.js'], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
