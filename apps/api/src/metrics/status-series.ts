import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type SeriesWorker, StatusSeriesThread, type StatusSeriesThreadOptions, type WatchedTarget } from '@provwatch/observability';
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
