import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VerificationError } from '../verdict';
import { matchChecksums, parseChecksumsFile } from './checksums-file';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const code = (c: string) => (err: unknown) => err instanceof VerificationError && err.code === c;

describe('checksums.txt', () => {
  test('goreleaser and sha256sum formats parse', () => {
    const entries = parseChecksumsFile(`${A}  pbs-exporter_linux_amd64.tar.gz\n${B.toUpperCase()} *pbs-exporter.sbom.json\r\n\n`);
    assert.deepEqual(entries.map((e) => [e.name, e.sha256, e.line]), [['pbs-exporter_linux_amd64.tar.gz', A, 1], ['pbs-exporter.sbom.json', B, 2]]);
  });

  test('every malformed line is listed at once', () => {
    assert.throws(() => parseChecksumsFile(`${A}  ok\nnot a checksum\n${A.slice(1)}  short\n${A}  ../escape\n`), (err: unknown) =>
      code('checksums-file-invalid')(err) && /line 2, line 3, line 4/.test((err as Error).message));
  });

  test('a name listed twice with different digests is invalid; an empty file too', () => {
    assert.throws(() => parseChecksumsFile(`${A}  x\n${B}  x\n`), code('checksums-file-invalid'));
    assert.throws(() => parseChecksumsFile('\n'), code('checksums-file-invalid'));
    assert.throws(() => parseChecksumsFile(`${A}  x\n`.repeat(1) + 'x'.repeat(1024 * 1024)), code('input-too-large'));
  });

  test('match, mismatch, unlisted and missing files', () => {
    const entries = parseChecksumsFile(`${A}  one\n${B}  two\n`);
    assert.equal(matchChecksums(entries, new Map([['one', A]]))[0].status, 'match');
    assert.throws(() => matchChecksums(entries, new Map([['one', B]])), (err: unknown) => code('checksum-mismatch')(err) && /one/.test((err as Error).message));
    assert.throws(() => matchChecksums(entries, new Map([['three', A]])), code('checksum-entry-missing'));
    assert.throws(() => matchChecksums(entries, new Map([['one', A]]), { requireAll: true }), code('checksum-entry-missing'));
    assert.equal(matchChecksums(entries, new Map([['one', A], ['two', B]]), { requireAll: true }).length, 2);
  });
});
