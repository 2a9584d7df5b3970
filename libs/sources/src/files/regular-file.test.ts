import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LocalFileError, type ReadableFile, readBounded, readRegularFile } from './regular-file';

const reason = (expected: LocalFileError['reason']) => (err: unknown) => err instanceof LocalFileError && err.reason === expected;

/** The one reader of files others name: the CLI's inputs and the service's trusted root both use it. */
describe('readRegularFile', () => {
  test('a FIFO, a device and a directory are refused at once, without blocking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-regular-file-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of [fifo, '/dev/zero', dir]) await assert.rejects(readRegularFile(path, 1024), reason('not-regular'));
  });

  test('a stalled read ends at its deadline; the limit holds for what is read, not only for the size', async () => {
    const stalled: ReadableFile = { read: () => new Promise(() => undefined) };
    await assert.rejects(readBounded(stalled, 'stalled', { limit: 10, deadlineMs: 30 }, () => undefined), reason('timeout'));
    const endless: ReadableFile = { read: async (buf, off, len) => ({ bytesRead: buf.fill(1, off, off + len) && len }) };
    await assert.rejects(readBounded(endless, 'growing', { limit: 2 * 1024 * 1024 }, () => undefined), reason('too-large'));
  });

  test('a regular file within the limit is read whole; one byte over is refused; absent is unreadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-regular-file-'));
    writeFileSync(join(dir, 'f'), 'abcd');
    assert.equal((await readRegularFile(join(dir, 'f'), 4)).toString(), 'abcd');
    await assert.rejects(readRegularFile(join(dir, 'f'), 3), reason('too-large'));
    await assert.rejects(readRegularFile(join(dir, 'absent'), 3), (err: unknown) => reason('unreadable')(err) && /ENOENT/.test((err as Error).message));
  });
});
