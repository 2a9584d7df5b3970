import { join } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { SourceError } from '../source.error';
import { SHA256_WORKER_MARK, type Sha256Input, type Sha256Output, type Sha256Start } from './sha256.worker';

/**
 * SHA-256 of a large download on a thread of its own (sha256.worker), so that hashing overlaps
 * the reading of the socket instead of following it. Chunks are copied into 1 MiB batch buffers
 * that travel to the worker and back (transferred, and reused): the chunks themselves are views
 * of the reader's one reused buffer, and transferring a buffer per chunk cost more than the copy.
 * At most OFFLOAD_BACKLOG_BYTES of a download wait to be hashed: past that its socket is paused
 * (a slow hashing thread must not make RSS grow with the asset), and resumed once the backlog is
 * half gone.
 */
export const OFFLOAD_BACKLOG_BYTES = 4 * 1024 * 1024;

const BATCH_BYTES = 1024 * 1024;

/** How the body reader lets the hasher hold it back, or end it. */
export interface Flow {
  pause(): void;
  resume(): void;
  fail(error: Error): void;
}

interface SharedWorker {
  readonly worker: Worker;
  readonly active: Set<OffloadedSha256>;
}

/** One hashing thread per process, started on first use; each download has a port of its own on it. */
let shared: SharedWorker | undefined;

function sharedWorker(): SharedWorker {
  if (shared !== undefined) return shared;
  const worker = new Worker(join(__dirname, 'sha256.worker.js'), { workerData: { [SHA256_WORKER_MARK]: true } });
  // An idle hashing thread must not keep the process alive (a download's own port does while it runs).
  worker.unref();
  const state: SharedWorker = { worker, active: new Set() };
  const fail = (error: Error) => {
    if (shared === state) shared = undefined;
    for (const sha of [...state.active]) sha.fail(error);
  };
  worker.on('error', (err) => fail(new SourceError('hashing-thread-failed', `sha256 worker failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => fail(new SourceError('hashing-thread-failed', `sha256 worker exited with code ${code}`)));
  shared = state;
  return state;
}

export class OffloadedSha256 {
  private readonly state = sharedWorker();
  private readonly port: MessagePort;
  /** Bytes sent to the worker that it has not handed back as hashed yet. */
  private backlog = 0;
  /** The batch being filled, and how much of it is. */
  private batch: Uint8Array<ArrayBuffer> = new Uint8Array(BATCH_BYTES);
  private filled = 0;
  /** Batch buffers back from the worker, for reuse. */
  private readonly spare: Array<Uint8Array<ArrayBuffer>> = [];
  private paused = false;
  private flow: Flow | undefined;
  private ending: { resolve: (sha256: string) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.on('message', (output: Sha256Output) => this.received(output));
    this.state.active.add(this);
    this.state.worker.postMessage({ port: port2 } satisfies Sha256Start, [port2]);
  }

  attach(flow: Flow): void {
    this.flow = flow;
  }

  write(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length && !this.closed; ) {
      const n = Math.min(chunk.length - at, BATCH_BYTES - this.filled);
      this.batch.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === BATCH_BYTES) this.send();
    }
  }

  /** The body ended: the digest, once the worker has hashed every byte sent. */
  end(): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.ending = { resolve, reject };
      this.send();
      this.port.postMessage('end' satisfies Sha256Input);
    });
  }

  /** The download was given up on: the worker drops its hash. */
  abandon(): void {
    this.close();
  }

  /** The hashing thread died: the download fails (it cannot be hashed here from the middle). */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.close();
    this.ending?.reject(error);
    this.flow?.fail(error);
  }

  private send(): void {
    if (this.filled === 0 || this.closed) return;
    const buffer = this.batch.buffer;
    this.port.postMessage({ buffer, length: this.filled } satisfies Sha256Input, [buffer]);
    this.backlog += this.filled;
    this.batch = this.spare.pop() ?? new Uint8Array(BATCH_BYTES);
    this.filled = 0;
    if (!this.paused && this.backlog > OFFLOAD_BACKLOG_BYTES) {
      this.paused = true;
      this.flow?.pause();
    }
  }

  private received(output: Sha256Output): void {
    if ('hashed' in output) {
      this.backlog -= output.hashed;
      if (this.spare.length * BATCH_BYTES < OFFLOAD_BACKLOG_BYTES) this.spare.push(new Uint8Array(output.buffer));
      if (this.paused && this.backlog <= OFFLOAD_BACKLOG_BYTES / 2) {
        this.paused = false;
        this.flow?.resume();
      }
      return;
    }
    const ending = this.ending;
    this.close();
    ending?.resolve(output.sha256);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.active.delete(this);
    this.spare.length = 0;
    this.port.close();
  }
}
