import { spawnSync } from 'node:child_process';
import { reachable, waitForPort } from './tcp';

/** Local Redis for tests (REDIS_URL or 127.0.0.1:6379); started when not running, as CI needs. */
export const TEST_REDIS_URL = process.env.PROVWATCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';


let ensured: Promise<void> | undefined;

export function ensureRedis(): Promise<void> {
  ensured ??= (async () => {
    const url = new URL(TEST_REDIS_URL);
    const host = url.hostname;
    const port = Number(url.port || 6379);
    if (await reachable(host, port)) return;
    // The machine kind's own start command; installs the Debian package first when absent.
    if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
      spawnSync('sh', ['-c', 'apt-get install -y redis-server || (apt-get update && apt-get install -y redis-server)'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    spawnSync('redis-server', ['--daemonize', 'yes', '--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    if (await waitForPort(host, port)) return;
    throw new Error(`Redis is not reachable at ${host}:${port} and could not be started`);
  })();
  return ensured;
}

/** BullMQ connection options for the test Redis. */
export async function redisConnectionOptions(): Promise<{ host: string; port: number; maxRetriesPerRequest: null }> {
  await ensureRedis();
  const url = new URL(TEST_REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}
