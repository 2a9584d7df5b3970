import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ProvwatchMetrics, type SeriesWorker, StatusSeriesThread, type StatusSeriesThreadOptions, type WatchedTarget, sharedSegmentDeflater, warmGzipExposition } from '@provwatch/observability';
import type { StatusSeriesWorkerData } from './status-series.worker';

/** Starts (and after a crash restarts) status-series.worker.js beside this file. */
export function startStatusSeriesThread(
  data: StatusSeriesWorkerData,
  watched: () => readonly WatchedTarget[],
  options: Omit<StatusSeriesThreadOptions, 'start' | 'watched'> = {},
): StatusSeriesThread {
  const file = join(__dirname, 'status-series.worker.js');
  return new StatusSeriesThread({ ...options, watched, start: () => new Worker(file, { workerData: data }) as unknown as SeriesWorker });
}

/**
 * Before the server listens (MetricsModule.onModuleInit, and bench/metrics-scrape the same way):
 * the series and deflate threads started, the poll intervals formatted, and one render of the
 * registry and one gzip body made, so that the first scrape runs compiled code. Left to the first
 * scrape, constructing the Workers and cloning the watchlist held the serving loop 15-20 ms of
 * CPU once, and the cold render ~10 ms more. A failed gzip check is reported, not thrown: plain
 * scrapes still work, and a gzip scrape fails on its own (its connection cut).
 */
export async function prepareMetricsBeforeListening(series: StatusSeriesThread, metrics: ProvwatchMetrics, onWarning: (message: string) => void): Promise<void> {
  series.prestart();
  const deflater = sharedSegmentDeflater();
  deflater.prestart();
  const sample = await metrics.prepareFirstScrape();
  try {
    await warmGzipExposition(sample, deflater);
  } catch (err) {
    onWarning(`gzip scrapes may fail: ${(err as Error).message}`);
  }
}
