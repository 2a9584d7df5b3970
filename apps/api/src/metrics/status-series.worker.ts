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

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('status-series.worker runs as a worker thread (StatusSeriesThread starts it)');
  lowerThisThreadsPriority(SERIES_THREAD_NICE);
  const { databaseUrl, verdictBatchSize } = workerData as StatusSeriesWorkerData;
  const post = (reply: SeriesReply) => port.postMessage(reply);
  // Two connections: a verdict read sends three statements at once and a poll read one, so they
  // queue for them. Background work, kept from taking the database's connections; the benchmark
  // figures (README) were measured with this bound.
  const prisma = createPrismaClient(databaseUrl, { maxConnections: 2, onWarning: (message) => post({ kind: 'warning', message }) });
  const statuses = new MetricsRepository(prisma);
  let watched: Watched = { targets: [], names: [], windows: new Map() };
  const versions = new VerdictVersionFeed(statuses, () => watched.names);
  const polls = new PollStateFeed(statuses, () => watched.targets);
  const host = new StatusSeriesHost(
    post,
    {
      verdicts: { versions: () => versions.read(), read: (targets) => statuses.verdicts(targets.flatMap((t) => watched.windows.get(t) ?? [])) },
      polls: () => polls.read(),
    },
    { batchSize: verdictBatchSize },
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
