import { createHash } from 'node:crypto';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';

/** Set in workerData by the one process that starts this worker (requiring the file does nothing). */
export const SHA256_WORKER_MARK = 'provwatchSha256Worker';

/** On the worker's parentPort: one port per download, whose messages are that download's bytes. */
export interface Sha256Start {
  readonly port: MessagePort;
}
/**
 * On a download's port, to the worker: the next `length` bytes of the body at the start of
 * `buffer` (transferred), or the end of the body.
 */
export type Sha256Input = { readonly buffer: ArrayBuffer; readonly length: number } | 'end';
/** On a download's port, from the worker: a batch hashed (its buffer handed back for reuse), or the digest. */
export type Sha256Output = { readonly hashed: number; readonly buffer: ArrayBuffer } | { readonly sha256: string };

const port = (workerData as Record<string, unknown> | null)?.[SHA256_WORKER_MARK] === true ? parentPort : null;
port?.on('message', ({ port: download }: Sha256Start) => {
  const hash = createHash('sha256');
  download.on('message', (input: Sha256Input) => {
    if (input === 'end') {
      download.postMessage({ sha256: hash.digest('hex') } satisfies Sha256Output);
      download.close();
      return;
    }
    hash.update(new Uint8Array(input.buffer, 0, input.length));
    download.postMessage({ hashed: input.length, buffer: input.buffer } satisfies Sha256Output, [input.buffer]);
  });
  // A download given up on closes its port: the hash state goes with it.
  download.once('close', () => download.removeAllListeners('message'));
});
