import type { PollSnapshot, VerdictSource } from './status-snapshot';
import { sharedMemoryBytes } from './paged-series';
import { pollSeriesReader } from './poll-series-cache';
import { SharedChunkReceiver, SharedChunkSender, type SharedChunks } from './shared-chunks';
import { VerdictSeriesCache, type VerdictSeriesStore } from './verdict-series-cache';

/**
 * The status series (verdict and poll gauges of every watched target) built in a thread of their
 * own. At 10,000 targets their upkeep reads and formats hundreds of MB per first build, and on a
 * small machine the young-generation collections of that garbage (page faults into fresh pages
 * included) stalled the serving thread 20-50 ms however finely the work was sliced. In its own
 * thread the upkeep has its own heap and its own pauses; the serving thread only receives views of
 * the finished bytes (SharedArrayBuffer, see shared-chunks.ts) and writes them to the socket.
 *
 * This file holds both ends of the conversation and no I/O: the host runs in the series thread on
 * the sources it is given (apps/api wires Postgres there), the client in the serving thread on a
 * Worker it is given.
 */

/** A watched target, as the series thread needs it: its name and its release window. */
export interface WatchedTarget {
  name: string;
  keepLast: number;
}

/** Serving thread to series thread. */
export type SeriesRequest =
  /** The watched targets from now on (sent before the first request and after each reload). */
  | { op: 'watchlist'; targets: readonly WatchedTarget[] }
  | { op: 'refresh-verdicts'; id: number }
  | { op: 'read-polls'; id: number }
  /** Close the database pool and exit. */
  | { op: 'close' };

/** Series thread to serving thread. */
export type SeriesReply =
  /** Postgres answered the version read of refresh `id` (a scrape waits for this, not the build). */
  | { kind: 'versions-read'; id: number }
  /** The verdict series as built now; sent while a refresh runs (at most every pushIntervalMs) and when it ends. */
  | { kind: 'verdict-series'; complete: boolean; byteLength: number; chunks: SharedChunks }
  | { kind: 'done'; id: number; chunks?: SharedChunks }
  | { kind: 'failed'; id: number; code: StatusSeriesErrorCode; message: string }
  /** A warning for the serving thread's log (the series thread has no logger of its own). */
  | { kind: 'warning'; message: string };

export type StatusSeriesErrorCode =
  /** A read of Postgres failed (the series stay as they were). */
  | 'series-read-failed'
  /** The series thread exited (crashed, ran out of memory, was terminated) with requests open. */
  | 'series-thread-exited'
  /** The series thread exited a moment ago; it is started again after the restart delay. */
  | 'series-thread-restarting'
  /** The client was closed. */
  | 'series-thread-closed';

export class StatusSeriesError extends Error {
  constructor(
    readonly code: StatusSeriesErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StatusSeriesError';
  }
}

export interface StatusSeriesHostOptions {
  /** Targets read and formatted per slice (VerdictSeriesCache). */
  batchSize?: number;
  /** The share of wall time a verdict refresh's slices may take (VerdictSeriesCache). */
  busyShare?: number;
  /** Shortest time between two pushes of the verdict series while a refresh runs. Default 100 ms. */
  pushIntervalMs?: number;
}

/**
 * The series thread's end: keeps the caches in shared memory, runs the requests one at a time per
 * kind (each read's changes are applied in order) and posts what it built.
 */
export class StatusSeriesHost {
  private readonly verdicts: VerdictSeriesCache | undefined;
  private verdictQueue: Promise<unknown> = Promise.resolve();
  private pollQueue: Promise<unknown> = Promise.resolve();
  /** The chunk list last posted (VerdictSeriesCache returns the same array until something changed). */
  private postedVerdictChunks: Buffer[] | undefined;
  private readonly pushIntervalMs: number;
  private readonly sender = new SharedChunkSender();
  private readonly readPolls: (() => Promise<Array<Buffer | string>>) | undefined;

  constructor(
    private readonly post: (reply: SeriesReply) => void,
    sources: { verdicts?: VerdictSource; polls?: () => Promise<PollSnapshot> },
    options: StatusSeriesHostOptions = {},
  ) {
    this.pushIntervalMs = options.pushIntervalMs ?? 100;
    if (sources.verdicts) this.verdicts = new VerdictSeriesCache(sources.verdicts, { batchSize: options.batchSize, busyShare: options.busyShare, allocate: sharedMemoryBytes });
    // Kept single flight by pollQueue.
    this.readPolls = sources.polls && pollSeriesReader(sources.polls, sharedMemoryBytes);
  }

  handle(request: Exclude<SeriesRequest, { op: 'watchlist' | 'close' }>): void {
    if (request.op === 'refresh-verdicts') {
      this.verdictQueue = this.verdictQueue.then(() => this.refreshVerdicts(request.id));
    } else {
      this.pollQueue = this.pollQueue.then(() => this.pollChunks(request.id));
    }
  }

  private async refreshVerdicts(id: number): Promise<void> {
    const cache = this.verdicts;
    if (!cache) return this.post({ kind: 'failed', id, code: 'series-read-failed', message: 'this series thread has no verdict source' });
    // While the first build runs, a scrape serves the targets built so far: push them now and then.
    const pusher = setInterval(() => this.pushVerdicts(cache), this.pushIntervalMs);
    try {
      await cache.refresh(() => this.post({ kind: 'versions-read', id }));
      this.pushVerdicts(cache);
      this.post({ kind: 'done', id });
    } catch (err) {
      // What was built stays built; the serving thread decides (staleness bound) what to show.
      this.pushVerdicts(cache);
      this.post({ kind: 'failed', id, code: 'series-read-failed', message: messageOf(err) });
    } finally {
      clearInterval(pusher);
    }
  }

  private pushVerdicts(cache: VerdictSeriesCache): void {
    const chunks = cache.chunks();
    if (chunks === this.postedVerdictChunks) return;
    this.postedVerdictChunks = chunks;
    this.post({ kind: 'verdict-series', complete: cache.complete, byteLength: cache.byteLength, chunks: this.sender.share(chunks) });
  }

  private async pollChunks(id: number): Promise<void> {
    if (!this.readPolls) return this.post({ kind: 'failed', id, code: 'series-read-failed', message: 'this series thread has no poll source' });
    try {
      this.post({ kind: 'done', id, chunks: this.sender.share(await this.readPolls()) });
    } catch (err) {
      this.post({ kind: 'failed', id, code: 'series-read-failed', message: messageOf(err) });
    }
  }
}

/** What the client needs of a worker_threads Worker (a test may hand it a stand-in). */
export interface SeriesWorker {
  postMessage(message: SeriesRequest): void;
  on(event: 'message', listener: (reply: SeriesReply) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  unref?(): void;
}

export interface StatusSeriesThreadOptions {
  /** Starts the series thread (a Worker running StatusSeriesHost). */
  start: () => SeriesWorker;
  /** The watched targets; a new array (identity) is sent to the thread before the next request. */
  watched: () => readonly WatchedTarget[];
  /**
   * After the thread exited, requests fail at once for this long before it is started again:
   * a thread that dies at start (a bad DATABASE_URL) is not restarted once per scrape. Default 5 s.
   */
  restartDelayMs?: number;
  /** Longest a close waits for the thread to close its pool before terminating it. Default 2 s. */
  closeTimeoutMs?: number;
  /** The thread exited or failed; `error` when it threw. */
  onExit?: (code: number, error: Error | undefined) => void;
  onWarning?: (message: string) => void;
}

interface Pending {
  resolve: (views: (() => Buffer[]) | undefined) => void;
  reject: (error: Error) => void;
  onVersions?: () => void;
}

/**
 * The serving thread's end. `verdicts` stands in for an in-process VerdictSeriesCache (same
 * contract: ProvwatchMetrics cannot tell them apart), `readPolls` for reading and formatting the
 * poll gauges. Fails closed: when the thread dies every open request fails, so the scrape counts a
 * failed Postgres read and past the staleness bound shows no verdict series at all.
 */
export class StatusSeriesThread {
  readonly verdicts: VerdictSeriesStore;
  private worker: SeriesWorker | undefined;
  private workerError: Error | undefined;
  private exitedAt = -Infinity;
  private sentWatchlist: readonly WatchedTarget[] | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The memories the running thread shared (numbered per thread: a new thread, a new receiver). */
  private receiver = new SharedChunkReceiver();
  private latest: { complete: boolean; byteLength: number; makeViews: () => Buffer[]; views: Buffer[] | undefined } = {
    complete: false,
    byteLength: 0,
    makeViews: () => [],
    views: undefined,
  };
  private closed = false;
  private exited: Promise<void> | undefined;

  constructor(private readonly options: StatusSeriesThreadOptions) {
    // The getters below have a `this` of their own.
    const thread = this;
    this.verdicts = {
      refresh: (onVersions) => this.call('refresh-verdicts', onVersions).then(() => undefined),
      get complete() {
        return thread.latest.complete;
      },
      chunks: () => this.verdictChunks(),
      get byteLength() {
        return thread.latest.byteLength;
      },
    };
  }

  /**
   * Starts the thread and hands it the watchlist now, at boot, before the HTTP server listens:
   * otherwise the first scrape pays for both on the serving thread (starting a Worker and
   * cloning 10,000 targets held the loop 15-20 ms of CPU in bench/metrics-scrape's first build).
   */
  prestart(): void {
    if (this.closed) return;
    const worker = this.running();
    if (worker) this.sendWatchlist(worker);
  }

  /** The poll gauges, read and formatted in the series thread. */
  async readPolls(): Promise<Buffer[]> {
    const views = await this.call('read-polls');
    return views ? views() : [];
  }

  /** Asks the thread to close its pool and exit; terminates it if it does not within the bound. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ op: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.options.closeTimeoutMs ?? 2000)));
    const outcome = await Promise.race([this.exited!.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') await worker.terminate();
  }

  private verdictChunks(): Buffer[] {
    const latest = this.latest;
    latest.views ??= latest.makeViews();
    return latest.views;
  }

  private call(op: 'refresh-verdicts' | 'read-polls', onVersions?: () => void): Promise<(() => Buffer[]) | undefined> {
    if (this.closed) return Promise.reject(new StatusSeriesError('series-thread-closed', 'the status series thread is closed'));
    const worker = this.running();
    if (!worker) {
      return Promise.reject(new StatusSeriesError('series-thread-restarting', `the status series thread exited ${Date.now() - this.exitedAt} ms ago; it starts again after ${this.restartDelayMs} ms`));
    }
    this.sendWatchlist(worker);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onVersions });
      worker.postMessage({ op, id });
    });
  }

  /** The watchlist, when the thread does not have this one (identity) yet. */
  private sendWatchlist(worker: SeriesWorker): void {
    const watched = this.options.watched();
    if (watched === this.sentWatchlist) return;
    worker.postMessage({ op: 'watchlist', targets: watched });
    this.sentWatchlist = watched;
  }

  private get restartDelayMs(): number {
    return this.options.restartDelayMs ?? 5000;
  }

  /** The thread, started if there is none and the restart delay has passed. */
  private running(): SeriesWorker | undefined {
    if (this.worker) return this.worker;
    if (Date.now() - this.exitedAt < this.restartDelayMs) return undefined;
    const worker = this.options.start();
    this.worker = worker;
    this.workerError = undefined;
    this.sentWatchlist = undefined;
    this.receiver = new SharedChunkReceiver();
    worker.on('message', (reply) => {
      try {
        this.receive(reply);
      } catch (err) {
        // A message that does not fit what was received before (a bug, not an input): the
        // numbering of the shared memories can no longer be trusted. Nothing of this thread is
        // shown any more; it is ended, which fails its open requests, and a new one starts later.
        this.latest = { complete: false, byteLength: 0, makeViews: () => [], views: undefined };
        this.workerError = err instanceof Error ? err : new Error(String(err));
        void worker.terminate();
      }
    });
    worker.on('error', (error) => (this.workerError ??= error));
    this.exited = new Promise((resolve) => {
      worker.on('exit', (code) => {
        this.worker = undefined;
        this.exitedAt = Date.now();
        const error = this.workerError;
        const reason = new StatusSeriesError('series-thread-exited', `the status series thread exited (code ${code}${error ? `: ${error.message}` : ''})`);
        for (const request of this.pending.values()) request.reject(reason);
        this.pending.clear();
        if (!this.closed) this.options.onExit?.(code, error);
        resolve();
      });
    });
    // Not what keeps the process alive: the HTTP server is. After the listeners: adding a
    // 'message' listener refs the worker's port again.
    worker.unref?.();
    return worker;
  }

  private receive(reply: SeriesReply): void {
    switch (reply.kind) {
      case 'warning':
        this.options.onWarning?.(reply.message);
        return;
      case 'verdict-series':
        // Views are made when a scrape asks: several pushes during a build may come between scrapes.
        this.latest = { complete: reply.complete, byteLength: reply.byteLength, makeViews: this.receiver.receive(reply.chunks), views: undefined };
        return;
      case 'versions-read':
        this.pending.get(reply.id)?.onVersions?.();
        return;
      case 'done': {
        const request = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        // Received in order, used or not: the receiver keeps the numbering of the memories.
        const views = reply.chunks && this.receiver.receive(reply.chunks);
        request?.resolve(views);
        return;
      }
      case 'failed': {
        const request = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        request?.reject(new StatusSeriesError(reply.code, reply.message));
        return;
      }
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
