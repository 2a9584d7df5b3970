/**
 * The status series thread (see StatusSeriesThread): reads verdicts and poll rows from Postgres
 * with a pool of its own and keeps their exposition in shared memory for the serving thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type SeriesReply, type SeriesRequest, StatusSeriesHost, type WatchedTarget, lowerThisThreadsPriority } from '@provwatch/observability';
import { MetricsRepository, PollStateFeed, VerdictVersionFeed, createPrismaClient } from '@provwatch/persistence';

export interface StatusSeriesWorkerData {
  databaseUrl: string;
  /** Targets read and formatted per slice (VerdictSeriesCache). */
  verdictBatchSize?: number;
  /** The share of wall time a verdict refresh's slices may take (default SERIES_BUSY_SHARE). */
  verdictBusyShare?: number;
}

/** The watched targets as the feeds want them: one set of arrays per watchlist (identity = version). */
interface Watched {
  targets: readonly WatchedTarget[];
  names: readonly string[];
  windows: ReadonlyMap<string, WatchedTarget>;
}

/**
 * Nice 10 for this thread (lowerThisThreadsPriority). The upkeep is background work: on a 2-core
 * machine, with the serving thread, Postgres and the scraper runnable at once, the serving thread
 * waited for a core up to half of its longest stalls. Niced, this thread gets the CPU the serving
 * thread leaves (~10% of a core when that one is saturated, enough for the changes of 10,000
 * targets). Nothing lowered elsewhere: the serving thread runs as before.
 */
const SERIES_THREAD_NICE = 10;

/**
 * A refresh's slices (their Postgres reads included) take at most half the wall time. Nice
 * does not reach them: the reads run in Postgres's processes, and with autogroup (or a
 * container's cgroup) this thread's CPU counts against the serving thread's group whatever its
 * nice. At 10,000 targets on a 2-core machine, the first build unpaced held a backend and this
 * thread busy for ~12 s, and the serving thread waited for a core 15-25 ms at a time (perf
 * sched, bench/metrics-scrape); paced, it takes 29-32 s. Later refreshes read only what changed,
 * mostly one slice, which is never paused.
 */
const SERIES_BUSY_SHARE = 0.5;

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('status-series.worker runs as a worker thread (StatusSeriesThread starts it)');
  lowerThisThreadsPriority(SERIES_THREAD_NICE);
  const { databaseUrl, verdictBatchSize, verdictBusyShare } = workerData as StatusSeriesWorkerData;
  const post = (reply: SeriesReply) => port.postMessage(reply);
  // Two connections: one for the verdict reads, whose three statements go one after another
  // (`sequential`), one for the poll read a scrape waits for. Background work, kept from taking
  // the database's connections and cores: with the statements sent at once, during the first
  // build at 10,000 targets two backends held both cores of a 2-core machine for ms at a time
  // while the serving thread waited for one (perf sched, bench/metrics-scrape).
  const prisma = createPrismaClient(databaseUrl, { maxConnections: 2, onWarning: (message) => post({ kind: 'warning', message }) });
  const statuses = new MetricsRepository(prisma);
  let watched: Watched = { targets: [], names: [], windows: new Map() };
  const versions = new VerdictVersionFeed(statuses, () => watched.names);
  const polls = new PollStateFeed(statuses, () => watched.targets);
  const host = new StatusSeriesHost(
    post,
    {
      verdicts: { versions: () => versions.read(), read: (targets) => statuses.verdicts(targets.flatMap((t) => watched.windows.get(t) ?? []), { sequential: true }) },
      polls: () => polls.read(),
    },
    { batchSize: verdictBatchSize, busyShare: verdictBusyShare ?? SERIES_BUSY_SHARE },
  );
  port.on('message', (request: SeriesRequest) => {
    switch (request.op) {
      case 'watchlist':
        watched = { targets: request.targets, names: request.targets.map((t) => t.name), windows: new Map(request.targets.map((t) => [t.name, t])) };
        return;
      case 'close':
        // The thread ends once the pool is closed and the port with it.
        void prisma.$disconnect().finally(() => port.close());
        return;
      default:
        host.handle(request);
    }
  });
}

run();
