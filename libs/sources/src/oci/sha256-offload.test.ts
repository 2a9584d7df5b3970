import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { SourceError } from '../source.error';
import { OFFLOAD_BACKLOG_BYTES, OffloadedSha256 } from './sha256-offload';

const sha = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');

describe('OffloadedSha256 (hashing on a thread of its own)', () => {
  test('chunks of any size and alignment hash as one body; Buffers from the shared pool stay intact', async () => {
    const small = Buffer.from('abc'); // a slice of Node's pool of small Buffers
    const large = Buffer.alloc(3 * 1024 * 1024 + 7, 0x61);
    const offload = new OffloadedSha256();
    offload.write(small);
    offload.write(large.subarray(1));
    offload.write(Buffer.alloc(0));
    assert.equal(await offload.end(), sha(small, large.subarray(1)));
    assert.equal(small.toString(), 'abc', 'copied, not transferred away');
  });

  test('past the backlog the body is paused, and resumed as the worker catches up', async () => {
    const offload = new OffloadedSha256();
    const events: string[] = [];
    offload.attach({ pause: () => events.push('pause'), resume: () => events.push('resume'), fail: (e) => events.push(`fail ${e.message}`) });
    const chunk = Buffer.alloc(1024 * 1024, 1);
    // Written in one go, faster than any worker hashes: the backlog limit is crossed.
    for (let i = 0; i <= OFFLOAD_BACKLOG_BYTES / chunk.length + 1; i++) offload.write(chunk);
    assert.deepEqual(events, ['pause']);
    await offload.end();
    assert.deepEqual(events, ['pause', 'resume']);
  });

  test('a hashing thread that dies fails the downloads on it with a stable, retryable code; the next download gets a new one', async () => {
    const offload = new OffloadedSha256();
    let failed: Error | undefined;
    offload.attach({ pause: () => undefined, resume: () => undefined, fail: (e) => (failed = e) });
    offload.write(Buffer.alloc(2 * 1024 * 1024, 1));
    await (offload as unknown as { state: { worker: Worker } }).state.worker.terminate();
    const isThreadFailure = (e: unknown) => e instanceof SourceError && e.code === 'hashing-thread-failed' && e.retryable && /sha256 worker exited/.test(e.message);
    await assert.rejects(offload.end(), isThreadFailure);
    assert.ok(isThreadFailure(failed), `the body reader is failed with the same error: ${String(failed)}`);
    const next = new OffloadedSha256();
    next.write(Buffer.from('after'));
    assert.equal(await next.end(), sha(Buffer.from('after')));
  });
});
