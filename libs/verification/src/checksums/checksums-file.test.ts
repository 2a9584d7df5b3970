import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VerificationError } from '../verdict';
import { MAX_CHECKSUM_ENTRIES, compareChecksums, matchChecksums, parseChecksumsFile } from './checksums-file';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function failsWith(code: string, fn: () => unknown, message?: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** pbs-exporter's checksums.txt as goreleaser writes it (two spaces, sorted, final newline). */
const GORELEASER = [
  `${'1'.repeat(64)}  pbs-exporter_0.9.0_darwin_arm64.tar.gz`,
  `${'2'.repeat(64)}  pbs-exporter_0.9.0_linux_amd64.tar.gz`,
  `${'3'.repeat(64)}  pbs-exporter_0.9.0_linux_amd64.tar.gz.sbom.json`,
  '',
].join('\n');

describe('checksums.txt', () => {
  test('goreleaser output and sha256sum text/binary markers parse', () => {
    const entries = parseChecksumsFile(Buffer.from(GORELEASER));
    assert.deepEqual(entries.map((e) => [e.name, e.line]), [
      ['pbs-exporter_0.9.0_darwin_arm64.tar.gz', 1],
      ['pbs-exporter_0.9.0_linux_amd64.tar.gz', 2],
      ['pbs-exporter_0.9.0_linux_amd64.tar.gz.sbom.json', 3],
    ]);
    const sha256sum = parseChecksumsFile(`${A}  text-mode\r\n${B.toUpperCase()} *binary mode name\n\n`);
    assert.deepEqual(sha256sum.map((e) => [e.name, e.sha256]), [['text-mode', A], ['binary mode name', B]]);
  });

  test('every bad line is listed at once, with its number', () => {
    const file = [`${A}  ok`, 'not a checksum', `${A.slice(1)}  short-digest`, `${A}  ../escape`, `${A} one-space`, `${A}  trailing `, `${A}  ok`].join('\n');
    failsWith('checksums-file-invalid', () => parseChecksumsFile(file), /5 bad line\(s\): line 2 \(.*\), line 3 \(.*\), line 4 \(a path.*\), line 5 \(.*\), line 6 \(space around/);
  });

  test('a name listed twice with different digests is invalid; twice with the same digest is one entry', () => {
    failsWith('checksums-file-invalid', () => parseChecksumsFile(`${A}  x\n${B}  x\n`), /line 2 \(x listed on line 1 with another digest\)/);
    assert.equal(parseChecksumsFile(`${A}  x\n${A}  x\n`).length, 1);
  });

  test('empty, not UTF-8, too large, too many entries', () => {
    failsWith('checksums-file-invalid', () => parseChecksumsFile('\n'), /no files/);
    failsWith('checksums-file-invalid', () => parseChecksumsFile(Buffer.from([0x61, 0xff, 0x0a])), /UTF-8/);
    failsWith('input-too-large', () => parseChecksumsFile(`${A}  x\n${'x'.repeat(1024 * 1024)}`));
    const many = Array.from({ length: MAX_CHECKSUM_ENTRIES + 1 }, (_, i) => `${A}  f${i}`).join('\n');
    failsWith('input-too-large', () => parseChecksumsFile(many), /more than 10000 files/);
  });

  test('all given files match', () => {
    const entries = parseChecksumsFile(`${A}  one\n${B}  two\n`);
    const results = matchChecksums(entries, new Map([['one', A], ['two', B.toUpperCase()]]), { requireAll: true });
    assert.deepEqual(results.map((r) => [r.name, r.status]), [['one', 'match'], ['two', 'match']]);
  });

  test('a digest mismatch names the file, expected and found', () => {
    const entries = parseChecksumsFile(`${A}  one\n${B}  two\n`);
    failsWith('checksum-mismatch', () => matchChecksums(entries, new Map([['one', A], ['two', A]])), new RegExp(`two \\(listed sha256:${B}, file sha256:${A}\\)`));
    // compareChecksums keeps every per-file result for the evidence, without throwing.
    assert.deepEqual(compareChecksums(entries, new Map([['two', A]])).map((r) => r.status), ['not-provided', 'mismatch']);
  });

  test('a listed file not provided is reported, and fails only when all were required', () => {
    const entries = parseChecksumsFile(`${A}  one\n${B}  two\n`);
    const results = matchChecksums(entries, new Map([['one', A]]));
    assert.deepEqual(results.map((r) => [r.name, r.status]), [['one', 'match'], ['two', 'not-provided']]);
    failsWith('checksum-entry-missing', () => matchChecksums(entries, new Map([['one', A]]), { requireAll: true }), /not provided: two/);
  });

  test('a file given that the checksums file does not list fails: nothing vouches for it', () => {
    const entries = parseChecksumsFile(`${A}  one\n`);
    failsWith('checksum-entry-missing', () => matchChecksums(entries, new Map([['three', A]])), /not listed in the checksums file: three/);
  });

  test("a malformed digest from the caller is the caller's bug, not a verdict", () => {
    assert.throws(() => matchChecksums(parseChecksumsFile(`${A}  one\n`), new Map([['one', 'xyz']])), TypeError);
  });
});
