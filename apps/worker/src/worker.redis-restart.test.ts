import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadServiceConfig } from '@provwatch/config';
import { JOBS } from '@provwatch/jobs';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { GitHubDouble } from '../../../test/support/github-double';
import { createTestDatabase } from '../../../test/support/postgres';
import { ensureRedis } from '../../../test/support/redis';
import { waitForPort } from '../../../test/support/tcp';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../test/support/vectors';
import { exampleRelease, exampleTarget } from '../../../test/support/watch-targets';
import { WorkerRuntime } from './worker.runtime';

/**
 * A Redis of its own (append-only file, fsync always, as a production Redis for queues should
 * run) is killed and restarted while a verification is in flight: the job must not be lost.
 */
const MIGRATIONS = join(resolve(__dirname, '../../../../prisma'), 'migrations');
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let redis: ChildProcess | undefined;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'provwatch-redis-'));
async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
  assert.ok(await waitForPort('127.0.0.1', port), 'redis did not start');
}

let gh: GitHubDouble;
let db: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let runtime: WorkerRuntime;

before(async () => {
  await ensureRedis(); // installs redis-server on a fresh machine
  assert.equal(spawnSync('sh', ['-c', 'command -v redis-server']).status, 0);
  port = await freePort();
  await startRedis();
  gh = await GitHubDouble.start();
  gh.repos.set('slsa-framework/example-package', [
    exampleRelease(BINARY, PROVENANCE),
  ]);
  db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  prisma = createPrismaClient(db.url);
  const config = loadServiceConfig({ DATABASE_URL: db.url, GITHUB_API_URL: gh.url, PROVWATCH_INSECURE_REGISTRIES: gh.storageHost, REKOR_URL: 'http://127.0.0.1:9' });
  const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
  runtime = new WorkerRuntime({
    config,
    watchlist: { defaults: { pollIntervalSeconds: 3600, gracePeriodSeconds: 60, reverifyIntervalSeconds: 86_400 }, targets: [exampleTarget({ pollIntervalSeconds: 3600 })] },
    prisma,
    trustRoot: () => trustRoot,
    connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null },
    prefix: `test-${randomUUID()}`,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
  });
});

after(async () => {
  await runtime?.stop().catch(() => undefined);
  redis?.kill('SIGKILL');
  await prisma?.$disconnect();
  await db?.drop();
  await gh?.close();
});

test('a Redis restart in the middle of a run loses no job', async () => {
  // Every GitHub answer takes 1.5 s: the scheduled discovery and its verify job are in flight when Redis dies.
  gh.delayMs = 1500;
  await runtime.start();
  await new Promise((r) => setTimeout(r, 800));
  redis!.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  await startRedis();
  gh.delayMs = 0;
  // Whatever was in flight is recovered (stalled-job detection) or retried; a manual poll is not needed.
  const deadline = Date.now() + 60_000;
  let row;
  while (Date.now() < deadline) {
    row = await prisma.latestCheckStatus.findFirst({ where: { check: 'artifact-provenance', status: { not: 'error' } } });
    if (row) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(row, 'the release was verified after Redis came back');
  assert.equal(row.status, 'pass');
  // And the queue still works after the restart.
  const job = await runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'example-package', trigger: 'manual' });
  const done = Date.now() + 20_000;
  while (!(await job.isCompleted()) && Date.now() < done) await new Promise((r) => setTimeout(r, 200));
  assert.ok(await job.isCompleted());
});
