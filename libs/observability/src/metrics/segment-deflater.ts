import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Compresses exposition pieces for gzip scrapes on a thread of its own (segment-deflate.worker),
 * not on libuv's pool. Measured at 10,000 targets with five verdicts changing per second, each
 * gzip scrape compressed ~35 new pages (4.8 MiB). Through zlib's async API every one of them cost
 * the serving thread a zlib stream, its native state (reported to V8 as external memory), output
 * chunks and their concatenation, and the CRC: the serving thread's GC time per scrape was ~18x
 * that of a plain scrape, and /healthz p99 during gzip scrapes doubled. Here the serving thread
 * only posts the piece (a page in shared memory is shared, not copied) and receives the result;
 * the allocation and its garbage live in the deflate thread's own heap.
 */
export const SEGMENT_DEFLATE_WORKER_MARK = 'provwatchSegmentDeflateWorker';

/**
 * zlib level 1: on the exposition text it keeps most of level 6's ratio (both near 20:1: the lines
 * repeat label names) at a fraction of its time, which is spent again for every page that changes.
 */
export const DEFLATE_LEVEL = 1;

/** Serving thread to deflate thread: `length` bytes at `offset` of `memory` (shared, or transferred). */
export interface DeflateRequest {
  id: number;
  memory: SharedArrayBuffer | ArrayBuffer;
  offset: number;
  length: number;
}

/** Deflate thread to serving thread: the raw deflate bytes (sync flush) and the plain bytes' CRC-32. */
export type DeflateReply = { id: number; deflated: ArrayBuffer; crc: number } | { id: number; error: string };

export class SegmentDeflateError extends Error {
  constructor(
    readonly code: 'deflate-thread-exited' | 'deflate-failed',
    message: string,
  ) {
    super(message);
    this.name = 'SegmentDeflateError';
  }
}

/** What a piece compresses to, before the CRC shift is added (gzip-exposition.ts). */
export interface DeflateResult {
  deflated: Buffer;
  crc: number;
}

/**
 * The serving thread's end. One thread, started at boot (prestart) or on first use, and again
 * after it exited; it does not keep the process alive. When it exits with pieces open, each of
 * them fails (the scrape being written is cut, see writeWithBackpressure) and the next piece
 * starts a new thread.
 */
export class SegmentDeflater {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (result: DeflateResult) => void; reject: (error: Error) => void }>();

  constructor(private readonly file = join(__dirname, 'segment-deflate.worker.js')) {}

  /** Compresses `plain`: a view of shared memory is shared; any other bytes are copied once and transferred. */
  deflate(plain: Buffer): Promise<DeflateResult> {
    return this.post(plain.buffer instanceof SharedArrayBuffer ? { memory: plain.buffer, offset: plain.byteOffset, length: plain.byteLength } : transferable([plain]));
  }

  /** Compresses the pieces as one, copied once into memory that is transferred. */
  deflateRun(pieces: readonly Buffer[]): Promise<DeflateResult> {
    return this.post(transferable(pieces));
  }

  /** Pieces sent and not answered yet (tests). */
  get open(): number {
    return this.pending.size;
  }

  /** Stops the thread; open pieces fail. */
  async close(): Promise<void> {
    await this.worker?.terminate();
  }

  private post(piece: Omit<DeflateRequest, 'id'>): Promise<DeflateResult> {
    const worker = this.running();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // While pieces are open the thread keeps the process alive (their answers are awaited);
      // idle, it does not.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      const request: DeflateRequest = { id, ...piece };
      worker.postMessage(request, piece.memory instanceof ArrayBuffer ? [piece.memory] : []);
    });
  }

  /**
   * Starts the thread now (at boot): constructing a Worker costs the calling thread a few ms of
   * CPU, which the first gzip scrape would otherwise pay. Idle, it does not keep the process alive.
   */
  prestart(): void {
    this.running();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.file, { workerData: { [SEGMENT_DEFLATE_WORKER_MARK]: true } });
    let failure: Error | undefined;
    worker.on('message', (reply: DeflateReply) => {
      const open = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!open) return;
      if ('error' in reply) open.reject(new SegmentDeflateError('deflate-failed', `deflating a piece of the exposition failed: ${reply.error}`));
      else open.resolve({ deflated: Buffer.from(reply.deflated), crc: reply.crc });
    });
    worker.on('error', (error) => (failure ??= error));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      const reason = new SegmentDeflateError('deflate-thread-exited', `the segment deflate thread exited (code ${code}${failure ? `: ${failure.message}` : ''})`);
      for (const open of this.pending.values()) open.reject(reason);
      this.pending.clear();
    });
    // An idle deflate thread must not keep the process alive (the HTTP server does). After the
    // listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/** The pieces copied into one ArrayBuffer of their own (not Node's shared pool), ready to transfer. */
function transferable(pieces: readonly Buffer[]): { memory: ArrayBuffer; offset: number; length: number } {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const memory = new ArrayBuffer(length);
  const bytes = new Uint8Array(memory);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return { memory, offset: 0, length };
}

let shared: SegmentDeflater | undefined;

/** The process's deflate thread client (each DeflatedSegmentCache uses it unless given another). */
export function sharedSegmentDeflater(): SegmentDeflater {
  shared ??= new SegmentDeflater();
  return shared;
}
