import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadServiceConfig } from '@provwatch/config';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { WorkerRuntime } from '../../apps/worker/src/worker.runtime';
import { GitHubDouble } from '../support/github-double';
import { OwnRedis } from '../support/own-redis';
import { createTestDatabase } from '../support/postgres';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';
import { exampleRelease, exampleTarget } from '../support/watch-targets';

/**
 * Fault: the worker's Redis dies and comes back EMPTY (no persistence, as `npm start` runs it).
 * Every job scheduler lived only in Redis; before the fix nothing polled again, for good.
 * Polling must resume within two poll intervals of Redis being back, without a restart of provwatch.
 */
const MIGRATIONS = join(resolve(__dirname, '../../../prisma'), 'migrations');
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const POLL_SECONDS = 3;

let redis: OwnRedis;
let gh: GitHubDouble;
let db: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let runtime: WorkerRuntime;
const logs: string[] = [];

const listRequests = () => gh.requests.filter((r) => r.server === 'api' && /\/releases\?/.test(r.path)).length;

before(async () => {
  redis = await OwnRedis.start();
  gh = await GitHubDouble.start();
  gh.repos.set('slsa-framework/example-package', [exampleRelease(BINARY, PROVENANCE)]);
  db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  prisma = createPrismaClient(db.url);
  const config = loadServiceConfig({ DATABASE_URL: db.url, GITHUB_API_URL: gh.url, PROVWATCH_INSECURE_REGISTRIES: gh.storageHost, REKOR_URL: 'http://127.0.0.1:9' });
  const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
  runtime = new WorkerRuntime({
    config,
    watchlist: { defaults: { pollIntervalSeconds: POLL_SECONDS, gracePeriodSeconds: 60, reverifyIntervalSeconds: 86_400 }, targets: [exampleTarget({ pollIntervalSeconds: POLL_SECONDS })] },
    prisma,
    trustRoot: () => trustRoot,
    connection: redis.connection,
    prefix: `test-${randomUUID()}`,
    log: (m) => logs.push(m),
    // The periodic reconcile is the safety net; the reconnect event is what must act here.
    scheduleReconcileMs: 10 * 60_000,
  });
});

after(async () => {
  await runtime?.stop().catch(() => undefined);
  await redis?.kill();
  await prisma?.$disconnect();
  await db?.drop();
  await gh?.close();
});

test('Redis restarted empty: polling resumes within two poll intervals', { timeout: 60_000 }, async () => {
  await runtime.start();
  // Polling works: at least two polls.
  const deadline = Date.now() + 4 * POLL_SECONDS * 1000;
  while (listRequests() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(listRequests() >= 2, 'polling ran before the fault');

  await redis.kill();
  const atKill = listRequests();
  await new Promise((r) => setTimeout(r, 2000));
  const duringOutage = listRequests() - atKill;
  await redis.up();
  const backAt = Date.now();
  const before = listRequests();
  const limit = backAt + 2 * POLL_SECONDS * 1000;
  while (listRequests() === before && Date.now() < limit) await new Promise((r) => setTimeout(r, 50));
  const recoveredMs = Date.now() - backAt;
  assert.ok(listRequests() > before, `no release-list request within ${2 * POLL_SECONDS} s of Redis coming back empty (logs: ${logs.join(' | ')})`);
  // And it keeps polling: the scheduler exists again, not just one job.
  const schedulers = await runtime.discoverQueue.getJobSchedulers(0, -1);
  assert.deepEqual(schedulers.map((s) => s.id ?? s.key), ['discover:example-package']);
  console.log(`# redis empty restart: recovered in ${recoveredMs} ms, ${duringOutage} GitHub list request(s) during the 2 s outage, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
});
