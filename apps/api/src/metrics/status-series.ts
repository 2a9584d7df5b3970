import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ProvwatchMetrics, type SeriesWorker, StatusSeriesThread, type StatusSeriesThreadOptions, type WatchedTarget, sharedSegmentDeflater } from '@provwatch/observability';
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
 * the series and deflate threads started, the poll intervals formatting. Left to the first
 * scrape, constructing the Workers and cloning the watchlist held the serving loop 15-20 ms of
 * CPU once.
 */
export function prepareMetricsBeforeListening(series: StatusSeriesThread, metrics: ProvwatchMetrics): void {
  series.prestart();
  sharedSegmentDeflater().prestart();
  metrics.prepareFirstScrape();
}
