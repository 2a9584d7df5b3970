import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUES } from '@provwatch/jobs';
import { type PrismaClient, createPrismaClient } from '@provwatch/persistence';
import { eventually } from '../support/eventually';
import { latest, v14 } from '../support/fault-worker';
import { GitHubDouble } from '../support/github-double';
import { createTestDatabase } from '../support/postgres';
import { ensureRedis, redisConnectionOptions } from '../support/redis';
import { ServiceProcess, doubleServiceEnv, faultWatchlistYaml, removeQueues } from '../support/service-process';
import { type TestHttpServer, startHttpServer } from '../support/http-server';
import { EXAMPLE_PACKAGE_V14_COMMIT } from '../support/watch-targets';

/**
 * Fault: the worker process is killed (`kill -9`, an OOM kill, a node lost) while a verification
 * is mid-way, holding at its asset download. Its BullMQ lock is never released; a new worker must
 * take the job over once the lock expires, and the release must end with exactly one completed
 * verification: the job not lost, and not run twice into the history.
 */
// Long enough that a busy 2-core machine never loses a live worker's lock (renewed at half of it).
const LOCK_SECONDS = 8;
const STALLED_SECONDS = 1;
const prefix = `workerkill-${randomUUID().slice(0, 8)}`;
let gh: GitHubDouble | undefined;
let db: { url: string; drop(): Promise<void> } | undefined;
let prisma: PrismaClient | undefined;
let verifyQueue: Queue | undefined;
let dir: string | undefined;
const services: ServiceProcess[] = [];
let env: Record<string, string>;

before(async () => {
  await ensureRedis();
  gh = await GitHubDouble.start();
  gh.repos.set('fault/killed', [{ ...v14(3000), commit: EXAMPLE_PACKAGE_V14_COMMIT }]);
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'provwatch-workerkill-'));
  writeFileSync(join(dir, 'provwatch.yaml'), faultWatchlistYaml(['killed'], '10s'));
  env = doubleServiceEnv(
    { config: join(dir, 'provwatch.yaml'), databaseUrl: db.url, prefix, gh },
    { PROVWATCH_ROLES: 'worker', PROVWATCH_JOB_LOCK_DURATION: String(LOCK_SECONDS), PROVWATCH_JOB_STALLED_INTERVAL: String(STALLED_SECONDS) },
  );
  verifyQueue = new Queue(QUEUES.verify, { connection: await redisConnectionOptions(), prefix });
});

after(async () => {
  for (const service of services) await service.kill().catch(() => undefined);
  await verifyQueue?.close().catch(() => undefined);
  await removeQueues(prefix);
  await prisma?.$disconnect().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  await gh?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const runsOf = (target: string) => prisma!.verificationRun.findMany({ where: { subjectKey: 'v14', target: { name: target } }, orderBy: { id: 'asc' }, include: { checks: true } });

test('kill -9 of the worker mid-verification: a new worker completes the job, once', { timeout: 240_000 }, async () => {
  const double = gh!;
  prisma = createPrismaClient(db!.url);
  double.holdAssets();
  const first = await ServiceProcess.start(env);
  services.push(first);
  const progress = async () => `services ${services.map((s) => s.exited ?? 'running').join(', ')}; log tail: ${services.at(-1)!.log.slice(-1500)}`;

  await eventually('the verification to hang at its asset download', async () => (double.heldDownloads > 0 ? true : undefined), { timeoutMs: 90_000, progress });
  const [active] = await eventually('the verify job to be active', async () => {
    const jobs = await verifyQueue!.getActive();
    return jobs.length > 0 ? jobs : undefined;
  });
  // Only the sighting is on record: the verification in flight has written nothing yet.
  assert.deepEqual((await runsOf('killed')).map((r) => [...new Set(r.checks.map((c) => c.code))].join()), ['not-yet-verified']);

  await first.kill();
  const killedAt = Date.now();
  const second = await ServiceProcess.start(env);
  services.push(second);
  double.releaseAssets();

  await eventually('v14 verified by the new worker', async () => ((await latest(prisma!, 'killed', 'artifact-provenance'))?.status === 'pass' ? true : undefined), {
    timeoutMs: 120_000,
    progress,
  });
  const recoveredMs = Date.now() - killedAt;
  const job = await eventually('the taken-over job to complete', async () => {
    const found = await verifyQueue!.getJob(active.id!);
    return found && (await found.getState()) === 'completed' ? found : undefined;
  });
  // Taken over through BullMQ's stalled-job check (the dead worker's lock expired), not re-added.
  assert.equal(job.stalledCounter, 1);
  // The lock and check are the shortened ones from the environment: with the defaults (60 s lock,
  // 30 s check) the take-over could not happen this soon.
  assert.ok(recoveredMs < 30_000, `recovered ${recoveredMs} ms after the kill`);
  // Nothing else left to run the release again (no second copy waiting, delayed or active).
  const pending = await verifyQueue!.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
  assert.deepEqual(pending.map((j) => j.id), []);
  const runs = await runsOf('killed');
  assert.equal(runs.length, 2, `the sighting and one completed verification, no duplicate: ${runs.map((r) => `${r.id}:${r.status}`).join(' ')}`);
  assert.equal(runs[1].status, 'pass');
  assert.equal(second.exited, undefined);
  console.log(
    `# worker kill -9 mid-verification: job ${job.id} taken over and completed, release verified ${recoveredMs} ms after the kill (lock ${LOCK_SECONDS} s, stalled check ${STALLED_SECONDS} s); ${runs.length} runs; peak RSS ${first.peakRssMiB} / ${second.peakRssMiB} MiB (killed / new worker)`,
  );
});

test('kill -9 after the run is recorded, before the job completes: the new worker does not record it twice, and pushes its alerts again', { timeout: 240_000 }, async () => {
  // The job's last step after recording is the direct alert push: an Alertmanager that does not
  // answer holds it there (for up to the client's 10 s timeout), the run already in Postgres.
  let holding = true;
  const held: Array<() => void> = [];
  const pushes: Array<{ at: number; alerts: Array<{ labels: Record<string, string>; endsAt?: string }> }> = [];
  const alertmanager: TestHttpServer = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/api/v2/alerts') pushes.push({ at: Date.now(), alerts: JSON.parse(body) });
      const answer = () => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (holding) held.push(answer);
      else answer();
    });
  });
  const secondDb = await createTestDatabase();
  const secondPrefix = `${prefix}-recorded`;
  const queue = new Queue(QUEUES.verify, { connection: await redisConnectionOptions(), prefix: secondPrefix });
  const started: ServiceProcess[] = [];
  const runs = createPrismaClient(secondDb.url);
  try {
    gh!.repos.set('fault/recorded', [{ ...v14(4000), commit: EXAMPLE_PACKAGE_V14_COMMIT }]);
    writeFileSync(join(dir!, 'recorded.yaml'), faultWatchlistYaml(['recorded'], '10s'));
    const recordedEnv = { ...env, PROVWATCH_CONFIG: join(dir!, 'recorded.yaml'), DATABASE_URL: secondDb.url, PROVWATCH_QUEUE_PREFIX: secondPrefix, ALERTMANAGER_URLS: alertmanager.origin };
    const first = await ServiceProcess.start(recordedEnv);
    started.push(first);
    const progress = async () => `log tail: ${started.at(-1)!.log.slice(-1500)}`;
    const passRun = () => runs.verificationRun.findFirst({ where: { subjectKey: 'v14', status: 'pass', target: { name: 'recorded' } } });
    await eventually('the pass recorded and its alert push held', async () => ((await passRun()) && alertmanager.requests.some((r) => r.url === '/api/v2/alerts') ? true : undefined), {
      timeoutMs: 90_000,
      progress,
    });
    const [active] = await queue.getActive();
    assert.ok(active, 'the verify job is still active (its alert push held)');
    await first.kill();
    const killedAt = Date.now();
    holding = false;
    for (const answer of held) answer();
    const second = await ServiceProcess.start(recordedEnv);
    started.push(second);
    const job = await eventually('the taken-over job to complete', async () => {
      const found = await queue.getJob(active.id!);
      return found && (await found.getState()) === 'completed' ? found : undefined;
    }, { timeoutMs: 90_000, progress });
    const recoveredMs = Date.now() - killedAt;
    const history = await runs.verificationRun.findMany({ where: { subjectKey: 'v14', target: { name: 'recorded' } }, orderBy: { id: 'asc' } });
    console.log(`# worker kill -9 after recording: job completed ${recoveredMs} ms after the kill (stalled ${job.stalledCounter}); runs ${history.map((r) => `${r.id}:${r.status}:${r.trigger}`).join(' ')}`);
    assert.equal(history.length, 2, `the sighting and one verification: ${history.map((r) => `${r.id}:${r.status}`).join(' ')}`);
    assert.deepEqual(history.map((r) => r.status), ['error', 'pass']);
    assert.match(second.log, /its run was recorded before its worker stopped; not verified again/);
    // The dead worker's push may never have arrived: the new one sends the same resolves again.
    const resolves = (push: (typeof pushes)[number]) => push.alerts.filter((a) => a.labels.target === 'recorded' && a.labels.check === 'artifact-provenance').map((a) => a.labels.alertname).sort();
    const before = pushes.filter((p) => p.at < killedAt).map(resolves).find((names) => names.length > 0);
    assert.ok(before, 'the killed worker had pushed the resolves');
    assert.deepEqual(pushes.filter((p) => p.at >= killedAt).map(resolves).find((names) => names.length > 0), before);
  } finally {
    for (const service of started) await service.kill().catch(() => undefined);
    await queue.close().catch(() => undefined);
    await removeQueues(secondPrefix);
    await runs.$disconnect().catch(() => undefined);
    await secondDb.drop().catch(() => undefined);
    await alertmanager.close();
  }
});
