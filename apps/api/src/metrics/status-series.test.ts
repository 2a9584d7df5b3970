import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { type Server, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ProvwatchMetrics, type SeriesWorker, StatusSeriesThread, type WatchedTarget } from '@provwatch/observability';
import {
  MetricsRepository,
  PollStateFeed,
  PollStateRepository,
  type PrismaClient,
  ReleaseRepository,
  VerdictVersionFeed,
  VerificationRepository,
  applyMigrations,
  createPrismaClient,
} from '@provwatch/persistence';
import { MIGRATIONS_DIR } from '@provwatch/service-core';
import { createTestDatabase } from '../../../../test/support/postgres';
import { eventually } from '../../../../test/support/eventually';
import { startStatusSeriesThread } from './status-series';

const WORKER_FILE = join(__dirname, 'status-series.worker.js');
const at = (day: number, minute = 0) => new Date(Date.UTC(2026, 10, day, 10, minute));
const TARGETS = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`);
const watched: WatchedTarget[] = TARGETS.map((name) => ({ name, keepLast: 2 }));
const intervals = new Map(TARGETS.map((name) => [name, 300]));

/** A series thread on the real worker file whose Workers the test can reach (to kill them). */
function threadKeepingWorkers(databaseUrl: string, options: { restartDelayMs?: number; closeTimeoutMs?: number }): { thread: StatusSeriesThread; workers: Worker[] } {
  const workers: Worker[] = [];
  const start = () => {
    const worker = new Worker(WORKER_FILE, { workerData: { databaseUrl } });
    workers.push(worker);
    return worker as unknown as SeriesWorker;
  };
  return { thread: new StatusSeriesThread({ ...options, start, watched: () => watched }), workers };
}

/** Lines of one metric (exposition text), to say what a failure saw. */
const linesOf = (text: string, metric: string) => text.split('\n').filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `));

describe('status series built in their own thread', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let ids: Map<string, number>;
  let silent: Server;
  let silentUrl: string;

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS_DIR);
    prisma = createPrismaClient(db.url);
    const releases = new ReleaseRepository(prisma);
    const runs = new VerificationRepository(prisma);
    const polls = new PollStateRepository(prisma);
    ids = new Map();
    for (const [i, name] of TARGETS.entries()) {
      const id = await releases.upsertTarget(name, `example/${name}`, 'h');
      ids.set(name, id);
      for (let r = 1; r <= 3; r++) {
        await releases.upsertRelease(id, { tag: `v${r}`, githubReleaseId: i * 10 + r, name: null, prerelease: false, publishedAt: at(r) });
        await runs.recordRun({
          targetId: id,
          subjectKind: 'release',
          subjectKey: `v${r}`,
          trigger: 'discovery',
          startedAt: at(r, 1),
          finishedAt: at(r, 2),
          checks: [{ check: 'artifact-provenance', status: 'pass', code: 'verified', message: 'ok', evidence: {} }],
        });
      }
      await polls.record(id, 'github-releases', at(20, i), { rateLimitRemaining: 4000 + i });
    }
    // A Postgres that takes connections and never answers: reads hang until their bound.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `postgresql://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/none`;
  });

  after(async () => {
    silent?.close();
    await prisma?.$disconnect();
    await db?.drop();
  });

  /** Refreshes until the verdict series cover every watched target. */
  const built = (metrics: ProvwatchMetrics) =>
    eventually('every target built', async () => {
      await metrics.refreshVerdicts();
      return /^provwatch_status_series_complete 1$/m.test(await metrics.render()) ? true : undefined;
    });

  test('the exposition is byte for byte the one built in the serving thread, before and after verdicts change', async () => {
    const repository = new MetricsRepository(prisma);
    const versions = new VerdictVersionFeed(repository, () => TARGETS);
    const pollFeed = new PollStateFeed(repository, () => watched);
    const windows = new Map(watched.map((t) => [t.name, t]));
    const options = { version: 'test', defaultMetrics: false, pollIntervalSeconds: intervals, snapshotMaxAgeMs: 0 };
    const local = new ProvwatchMetrics(options, {
      verdicts: { versions: () => versions.read(), read: (targets) => repository.verdicts(targets.map((t) => windows.get(t)!)) },
      polls: () => pollFeed.read(),
    });
    // Two targets per slice: the thread pushes partial series while it builds.
    const thread = startStatusSeriesThread({ databaseUrl: db.url, verdictBatchSize: 2 }, () => watched);
    try {
      const threaded = new ProvwatchMetrics(options, { verdictSeries: thread.verdicts, pollSeries: () => thread.readPolls() });
      await built(local);
      await built(threaded);
      const before = await threaded.render();
      assert.equal(before, await local.render());
      assert.equal(linesOf(before, 'provwatch_check_status').length, TARGETS.length * 2, 'keep_last 2: two releases of each target');
      assert.equal(linesOf(before, 'provwatch_up').length, TARGETS.length);

      // A verdict and a poll change: both ends read only what moved, and still agree.
      await new VerificationRepository(prisma).recordRun({
        targetId: ids.get('t03')!,
        subjectKind: 'release',
        subjectKey: 'v3',
        trigger: 'schedule',
        startedAt: at(21),
        finishedAt: at(21, 1),
        checks: [{ check: 'artifact-provenance', status: 'fail', code: 'signature-invalid', message: 'forged', evidence: {} }],
      });
      await new PollStateRepository(prisma).record(ids.get('t05')!, 'github-releases', at(22), { errorCode: 'github-unavailable' });
      await local.refreshVerdicts();
      await threaded.refreshVerdicts();
      const afterChange = await threaded.render();
      assert.equal(afterChange, await local.render());
      assert.match(afterChange, /^provwatch_check_status\{target="t03",image="",release="v3",check="artifact-provenance",status="fail"\} 1$/m);
      assert.match(afterChange, /^provwatch_up\{target="t05",source="github-releases",image=""\} 0$/m);
      assert.notEqual(afterChange, before);
      assert.ok(thread.verdicts.byteLength > 0);
    } finally {
      await thread.close();
    }
  });

  test('a thread that dies fails closed: no verdict series past the staleness bound, Postgres counted down, a new thread after the delay', async () => {
    const { thread, workers } = threadKeepingWorkers(db.url, { restartDelayMs: 1500 });
    try {
      const metrics = new ProvwatchMetrics(
        { version: 'test', defaultMetrics: false, snapshotMaxAgeMs: 0, verdictMaxStalenessMs: 200 },
        { verdictSeries: thread.verdicts, pollSeries: () => thread.readPolls() },
      );
      await built(metrics);
      assert.equal(linesOf(await metrics.render(), 'provwatch_check_status').length, TARGETS.length * 2);

      // The thread is killed (as an out-of-memory abort would end it).
      await workers[0].terminate();
      await new Promise((resolve) => setTimeout(resolve, 250));
      const dead = await metrics.render();
      assert.deepEqual(linesOf(dead, 'provwatch_check_status'), [], 'no verdict series from a thread that is gone');
      assert.deepEqual(linesOf(dead, 'provwatch_up'), [], 'no poll series either');
      assert.match(dead, /^provwatch_status_series_complete 0$/m);
      assert.match(dead, /^provwatch_dependency_up\{dependency="postgres"\} 0$/m);
      assert.match(dead, /^provwatch_scrape_errors_total\{collector="postgres"\} [1-9]/m);
      await assert.rejects(thread.verdicts.refresh(), { code: 'series-thread-restarting' });
      assert.equal(workers.length, 1, 'not restarted within the delay');

      // After the delay a scrape starts a new thread, which builds everything again.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await built(metrics);
      const back = await metrics.render();
      assert.equal(workers.length, 2);
      assert.equal(linesOf(back, 'provwatch_check_status').length, TARGETS.length * 2);
      assert.match(back, /^provwatch_dependency_up\{dependency="postgres"\} 1$/m);
    } finally {
      await thread.close();
    }
  });

  test('a request open when the thread dies fails with its code; a Postgres that never answers bounds the scrape', async () => {
    const { thread, workers } = threadKeepingWorkers(silentUrl, { closeTimeoutMs: 500 });
    try {
      const metrics = new ProvwatchMetrics({ version: 'test', defaultMetrics: false, dependencyTimeoutMs: 300 }, { verdictSeries: thread.verdicts, pollSeries: () => thread.readPolls() });
      const started = Date.now();
      const text = await metrics.render();
      assert.ok(Date.now() - started < 5000, `the scrape took ${Date.now() - started} ms`);
      assert.match(text, /^provwatch_dependency_up\{dependency="postgres"\} 0$/m);
      assert.deepEqual(linesOf(text, 'provwatch_check_status'), []);

      // The reads hang in the thread; killing it fails them at once, with a code.
      const open = thread.verdicts.refresh();
      const polls = thread.readPolls();
      await workers[0].terminate();
      await assert.rejects(open, { code: 'series-thread-exited' });
      await assert.rejects(polls, { code: 'series-thread-exited' });
    } finally {
      await thread.close();
    }
    await assert.rejects(thread.readPolls(), { code: 'series-thread-closed' });
  });

  test('a thread started at boot (prestart) and left idle does not keep the process alive', () => {
    // The HTTP server keeps the service alive, never this thread. Adding the 'message' listener
    // after unref() refs the worker's port again; then this child never exits and times out.
    const script = `const { startStatusSeriesThread } = require(${JSON.stringify(require.resolve('./status-series'))});
      startStatusSeriesThread({ databaseUrl: 'postgresql://nobody@127.0.0.1:9/none' }, () => [{ name: 't', keepLast: 1 }]).prestart();
      console.log('started');`;
    assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 }), 'started\n');
  });
});
