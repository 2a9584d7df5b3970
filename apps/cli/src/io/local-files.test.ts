import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { VerificationError } from '@provwatch/verification';
import { type ReadableFile, hashArtifactFile, readBounded, readEvidenceFile } from './local-files';

const code = (expected: string) => (err: unknown) => err instanceof VerificationError && err.code === expected;

describe('bounded reads', () => {
  test('a read that never returns ends at its deadline with input-unreadable', async () => {
    const stalled: ReadableFile = { read: () => new Promise(() => undefined) };
    await assert.rejects(readBounded(stalled, 'stalled.bin', { limit: 100, deadlineMs: 50 }, () => undefined), (err: unknown) =>
      code('input-unreadable')(err) && /took longer than 0.05 s/.test((err as Error).message));
  });

  test('a file that keeps growing past the limit while read is input-too-large', async () => {
    // Reports data forever, as /proc files or a file appended to during the read can.
    const endless: ReadableFile = { read: async (buf, off, len) => ({ bytesRead: buf.fill(7, off, off + len) && len }) };
    await assert.rejects(readBounded(endless, 'growing.bin', { limit: 3 * 1024 * 1024 }, () => undefined), (err: unknown) =>
      code('input-too-large')(err) && /grew past the limit/.test((err as Error).message));
  });

  test('a file within the limit is read whole, chunk by chunk', async () => {
    const data = Buffer.alloc(2.5 * 1024 * 1024, 3);
    const file: ReadableFile = { read: async (buf, off, len, pos) => ({ bytesRead: data.copy(buf, off, pos, Math.min(data.length, pos + len)) }) };
    const chunks: Buffer[] = [];
    assert.equal(await readBounded(file, 'ok.bin', { limit: data.length }, (c) => chunks.push(Buffer.from(c))), data.length);
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  test('real files: exact limit passes, one byte over is refused before reading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-local-files-'));
    const path = join(dir, 'f');
    writeFileSync(path, 'abcd');
    assert.equal((await readEvidenceFile(path, 4)).toString(), 'abcd');
    await assert.rejects(readEvidenceFile(path, 3), code('input-too-large'));
    await assert.rejects(hashArtifactFile(path, ['sha256'], { limit: 3 }), code('input-too-large'));
    await assert.rejects(readEvidenceFile(join(dir, 'absent')), (err: unknown) => code('input-unreadable')(err) && /no such file \(ENOENT\)/.test((err as Error).message));
    const hashed = await hashArtifactFile(path, ['sha512'], { keepBytesUpTo: 4 });
    assert.equal(hashed.digests.sha256.toString('hex'), '88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589');
    assert.equal(hashed.digests.sha512?.length, 64);
    assert.equal(hashed.bytes?.toString(), 'abcd');
  });
});
