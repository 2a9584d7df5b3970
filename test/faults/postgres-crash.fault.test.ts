import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type PrismaClient, createPrismaClient } from '@provwatch/persistence';
import { eventually } from '../support/eventually';
import { latest, v14 } from '../support/fault-worker';
import { GitHubDouble } from '../support/github-double';
import { OwnPostgres } from '../support/own-postgres';
import { ensureRedis } from '../support/redis';
import { ServiceProcess, doubleServiceEnv, faultWatchlistYaml, removeQueues } from '../support/service-process';
import { EXAMPLE_PACKAGE_V14_COMMIT } from '../support/watch-targets';

/**
 * Fault: provwatch's PostgreSQL crashes (SIGKILL of the postmaster and its backends) while a
 * verification is in flight, stays down ~10 s, and comes back through crash recovery. The service
 * (api + worker in one process, as `npm start` runs it) must survive: reads answer the documented
 * 503 `unavailable`, /readyz says not ready, /metrics still answers in time with the Redis-derived
 * series. Once Postgres is back, polling and verification resume by themselves, a release
 * published during the outage is verified, and nothing recorded before the crash is lost.
 */
const POLL_SECONDS = 10; // the watchlist minimum
const API_TOKEN = 'postgres-crash-fault-token';
const prefix = `pgcrash-${randomUUID().slice(0, 8)}`;
let pg: OwnPostgres | undefined;
let gh: GitHubDouble | undefined;
let service: ServiceProcess | undefined;
let prisma: PrismaClient | undefined;
let dir: string | undefined;

before(async () => {
  await ensureRedis();
  pg = await OwnPostgres.start();
  const databaseUrl = await pg.createDatabase('provwatch');
  gh = await GitHubDouble.start();
  // v14 with the commit its provenance names: every check of the run can pass.
  gh.repos.set('fault/earlier', [{ ...v14(1000), commit: EXAMPLE_PACKAGE_V14_COMMIT }]);
  // Published while Postgres is down.
  gh.repos.set('fault/during', []);
  dir = mkdtempSync(join(tmpdir(), 'provwatch-pgcrash-'));
  writeFileSync(join(dir, 'provwatch.yaml'), faultWatchlistYaml(['earlier', 'during'], `${POLL_SECONDS}s`));
  service = await ServiceProcess.start(doubleServiceEnv({ config: join(dir, 'provwatch.yaml'), databaseUrl, prefix, gh }, { PROVWATCH_ROLES: 'api,worker', PROVWATCH_API_TOKEN: API_TOKEN }));
  prisma = createPrismaClient(databaseUrl);
});

after(async () => {
  await service?.stop().catch(() => undefined);
  await prisma?.$disconnect().catch(() => undefined);
  await pg?.destroy().catch(() => undefined);
  await gh?.close().catch(() => undefined);
  await removeQueues(prefix).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, timeoutMs = 10_000): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${service!.origin}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text(), ms: Date.now() - started };
}

const errorCode = (body: string) => (JSON.parse(body) as { error?: { code?: string } }).error?.code;
const passed = async (target: string) => ((await latest(prisma!, target, 'artifact-provenance'))?.status === 'pass' ? true : undefined);

test('Postgres crashes mid-verification and restarts: the service survives, resumes, loses no verdict', { timeout: 240_000 }, async () => {
  const svc = service!;
  const db = pg!;
  const double = gh!;
  const progress = async () => `service ${svc.exited ?? 'running'}; log tail: ${svc.log.slice(-1500)}`;

  await eventually('v14 of `earlier` verified before the crash', () => passed('earlier'), { timeoutMs: 90_000, progress });
  const runsBefore = await prisma!.verificationRun.findMany({ where: { target: { name: 'earlier' } }, select: { id: true, status: true, trigger: true } });
  assert.ok(runsBefore.some((r) => r.status === 'pass'), runsBefore.map((r) => `${r.id}:${r.status}`).join(' '));
  const cachedRead = '/api/v1/targets/earlier/releases/v14';
  assert.equal((await get(cachedRead)).status, 200);
  assert.equal((await get('/readyz')).status, 200);

  // Mid-operation: a re-verification holds at its asset download when Postgres dies; released
  // during the outage, it has to record its result into a database that is not there.
  double.holdAssets();
  const queued = await fetch(`${svc.origin}/api/v1/targets/earlier/releases/v14/verify`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` } });
  assert.equal(queued.status, 202, await queued.text());
  await eventually('the re-verification to hang at its download', async () => (double.heldDownloads > 0 ? true : undefined), { timeoutMs: 60_000, progress });

  await db.kill();
  const downAt = Date.now();
  const requestsAtCrash = double.requests.length;
  double.releaseAssets();
  double.repos.set('fault/during', [{ ...v14(2000), commit: EXAMPLE_PACKAGE_V14_COMMIT }]);

  // The outage: at least 10 s, and until the cached read's staleness bound has passed too.
  const metricsMs: number[] = [];
  const seen = { readyz: false, freshRead: false, cachedRead: false };
  while (Date.now() - downAt < 10_000 || !seen.cachedRead) {
    assert.ok(Date.now() - downAt < 60_000, `reads still not 503 after 60 s of outage: ${JSON.stringify(seen)}`);
    assert.equal(svc.exited, undefined, `provwatch died during the outage: ${svc.log.slice(-3000)}`);
    const ready = await get('/readyz');
    assert.equal(ready.status, 503, ready.body);
    assert.notEqual((JSON.parse(ready.body) as { checks: Record<string, string> }).checks.postgres, 'ok');
    seen.readyz = true;
    // Never read before: nothing cached, so straight to the database.
    const fresh = await get(`/api/v1/targets/during/releases/v14/runs?limit=${1 + metricsMs.length}`);
    assert.equal(fresh.status, 503, fresh.body);
    assert.equal(errorCode(fresh.body), 'unavailable');
    seen.freshRead = true;
    const cached = await get(cachedRead);
    // Served from memory while younger than the cache's staleness bound, then the 503.
    if (cached.status !== 200) {
      assert.equal(cached.status, 503, cached.body);
      assert.equal(errorCode(cached.body), 'unavailable');
      seen.cachedRead = true;
    }
    const metrics = await get('/metrics', 5000);
    metricsMs.push(metrics.ms);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^provwatch_queue_jobs\{queue="provwatch-verify",state="waiting"\} \d+$/m, 'the Redis-derived series are still served');
    assert.match(metrics.body, /^provwatch_dependency_up\{dependency="postgres"\} 0$/m);
    await new Promise((r) => setTimeout(r, 500));
  }
  const outageMs = Date.now() - downAt;
  const requestsDuringOutage = double.requests.length - requestsAtCrash;

  await db.up();
  const backAt = Date.now();
  const firstSeen = await eventually(
    'the release published during the outage to be recorded',
    async () => ((await prisma!.release.findFirst({ where: { tag: 'v14', target: { name: 'during' } } })) ? Date.now() - backAt : undefined),
    { timeoutMs: 60_000, progress },
  );
  const verified = await eventually('the release published during the outage to be verified', async () => ((await passed('during')) ? Date.now() - backAt : undefined), {
    timeoutMs: 90_000,
    progress,
  });
  assert.ok(firstSeen <= 2 * POLL_SECONDS * 1000, `polling resumed ${firstSeen} ms after Postgres was back (bound ${2 * POLL_SECONDS} s)`);
  assert.ok(verified <= 2 * POLL_SECONDS * 1000, `verification resumed ${verified} ms after Postgres was back (bound ${2 * POLL_SECONDS} s)`);

  // No verdict lost: every run recorded before the crash is still there, and still says pass.
  const runsAfter = await prisma!.verificationRun.findMany({ where: { target: { name: 'earlier' } }, select: { id: true, status: true, trigger: true } });
  for (const run of runsBefore) assert.deepEqual(runsAfter.find((r) => r.id === run.id), run);
  assert.equal((await latest(prisma!, 'earlier', 'artifact-provenance'))?.status, 'pass');
  const ready = await eventually('/readyz ready again', async () => ((await get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 30_000 });
  assert.ok(ready);
  assert.equal((await get(cachedRead)).status, 200);
  // The re-verification the crash interrupted could record neither its result nor its failure;
  // its job is retried on BullMQ's back-off (30 s) and ends on record.
  const interrupted = await eventually(
    'the interrupted re-verification to be recorded',
    async () => {
      const known = new Set(runsBefore.map((r) => r.id));
      const run = await prisma!.verificationRun.findFirst({ where: { target: { name: 'earlier' }, id: { notIn: [...known] } }, orderBy: { id: 'desc' } });
      return run ? { ...run, afterMs: Date.now() - backAt } : undefined;
    },
    { timeoutMs: 120_000, progress },
  );
  assert.equal(interrupted.status, 'pass');
  assert.equal(svc.exited, undefined);
  // Expected faults are one-line warnings: no stack trace, no "unexpected error".
  assert.doesNotMatch(svc.log, /unexpected error|^\s+at .+:\d+:\d+\)?$/m);
  console.log(
    `# postgres crash: down ${outageMs} ms; after restart polled in ${firstSeen} ms, verified in ${verified} ms, the interrupted re-verification recorded after ${interrupted.afterMs} ms (${interrupted.trigger}); ${requestsDuringOutage} request(s) to the GitHub double during the outage; /metrics ${Math.max(...metricsMs)} ms at worst (${metricsMs.length} scrapes); service peak RSS ${svc.peakRssMiB} MiB`,
  );
});
