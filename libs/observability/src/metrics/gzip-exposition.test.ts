import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { DeflatedSegmentCache, KEPT_SEGMENT_MIN_BYTES, crc32Shift, gzipExposition, multiplyModP, warmGzipExposition } from './gzip-exposition';
import { type DeflateResult, SegmentDeflater } from './segment-deflater';
import { sharedMemoryBytes } from './paged-series';

async function gzipped(chunks: ReadonlyArray<string | Buffer>, cache = new DeflatedSegmentCache()): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of gzipExposition(chunks, cache)) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** Exposition-like lines: compressible, as the real text is. */
function lines(count: number, from = 0): Buffer {
  let text = '';
  for (let i = from; i < from + count; i++) text += `provwatch_check_status{target="t${i}",image="",release="v1.0.${i % 20}",check="artifact-provenance",status="pass"} 1\n`;
  return Buffer.from(text);
}

test('a CRC combined from pieces equals the CRC of the whole, whatever the split', () => {
  const whole = randomBytes(70_000);
  for (const cuts of [[0], [1], [69_999], [3, 3, 40_000], [12_345, 54_321, 69_000]]) {
    const bounds = [0, ...cuts, whole.length];
    let crc = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const piece = whole.subarray(bounds[i], bounds[i + 1]);
      crc = (multiplyModP(crc32Shift(piece.length), crc) ^ crc32(piece)) >>> 0;
    }
    assert.equal(crc, crc32(whole), `split at ${cuts.join(', ')}`);
  }
});

test('the shift operator composes for lengths past 4 GiB (too large to hash in a test)', () => {
  for (const [a, b] of [[2 ** 31 - 1, 2 ** 31 + 5], [2 ** 40 + 3, 7], [1, 2 ** 52]]) {
    assert.equal(crc32Shift(a + b), multiplyModP(crc32Shift(a), crc32Shift(b)), `${a} + ${b}`);
  }
  assert.equal(crc32Shift(0), 0x80000000, 'no bytes: the identity');
});

test('the gzip body decodes (CRC and length checked) to the plain chunks, small, large and empty, in order', async () => {
  const large = lines(2_000);
  assert.ok(large.length >= KEPT_SEGMENT_MIN_BYTES);
  const shared = sharedMemoryBytes(large.length * 2);
  large.copy(shared);
  lines(2_000, 5_000).copy(shared, large.length);
  const chunks: Array<string | Buffer> = [
    '# HELP provwatch_build_info x\n',
    Buffer.alloc(0),
    lines(3),
    shared.subarray(0, large.length),
    'between\n',
    shared.subarray(large.length),
    large,
    ...Array.from({ length: 900 }, (_, i) => lines(1, i)),
    '',
  ];
  const plain = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  const body = await gzipped(chunks);
  assert.ok(gunzipSync(body).equals(plain));
  assert.ok(body.length * 5 < plain.length, `compressed (${body.length} of ${plain.length} bytes)`);
});

test('an empty body is a valid empty gzip stream', async () => {
  assert.equal(gunzipSync(await gzipped([])).length, 0);
  assert.equal(gunzipSync(await gzipped(['', Buffer.alloc(0)])).length, 0);
});

test('a body whose CRC or length were wrong would be refused by the decoder', async () => {
  const body = await gzipped([lines(3_000)]);
  for (const at of [body.length - 8, body.length - 1]) {
    const forged = Buffer.from(body);
    forged[at] ^= 0x01;
    assert.throws(() => gunzipSync(forged), `byte ${at} of the trailer changed`);
  }
});

test('a kept chunk is compressed once, found again through a new view of the same memory, and not for another span', async () => {
  const memory = sharedMemoryBytes(KEPT_SEGMENT_MIN_BYTES * 3);
  lines(3_000).copy(memory);
  const cache = new DeflatedSegmentCache();
  const first = cache.segment(memory.subarray(0, KEPT_SEGMENT_MIN_BYTES));
  const again = cache.segment(Buffer.from(memory.buffer, 0, KEPT_SEGMENT_MIN_BYTES));
  assert.equal(again, first);
  assert.notEqual(cache.segment(memory.subarray(0, KEPT_SEGMENT_MIN_BYTES + 1)), first);
  assert.notEqual(cache.segment(memory.subarray(1, KEPT_SEGMENT_MIN_BYTES + 1)), first);
  // Two bodies with the kept page between different small chunks both decode.
  const page = memory.subarray(0, KEPT_SEGMENT_MIN_BYTES * 2);
  for (const before of ['a\n', 'b b b\n']) {
    const body = await gzipped([before, page, 'end\n'], cache);
    assert.equal(gunzipSync(body).toString(), `${before}${page.toString()}end\n`);
  }
});

test('a segment is raw deflate ending in a sync flush, with its own CRC and length', async () => {
  const plain = lines(100);
  const segment = await new DeflatedSegmentCache().segment(plain);
  assert.equal(segment.length, plain.length);
  assert.equal(segment.crc, crc32(plain));
  assert.deepEqual([...segment.deflated.subarray(-4)], [0x00, 0x00, 0xff, 0xff], 'an empty stored block: byte-aligned, not final');
});

test('a consumer that stops early leaves no compression unhandled', async () => {
  const cache = new DeflatedSegmentCache();
  const body = gzipExposition([lines(3_000), lines(3_000, 3_000), lines(3_000, 6_000)], cache);
  await body.next();
  await body.next();
  await body.return(undefined);
  // An unhandled rejection would fail the test run; give the pending compression time to settle.
  await new Promise((r) => setTimeout(r, 50));
});

test('the boot-time gzip body decodes to its sample, through a kept chunk and a run', async () => {
  const deflater = new SegmentDeflater();
  try {
    await warmGzipExposition(lines(20).toString());
    await warmGzipExposition('', deflater);
    assert.equal(deflater.open, 0);
  } finally {
    await deflater.close();
  }
});

test('the boot-time check fails with its code when the deflate thread cannot start or answers wrong', async () => {
  const missing = new SegmentDeflater('/nonexistent/segment-deflate.worker.js');
  await assert.rejects(warmGzipExposition('x 1\n', missing), { name: 'SegmentDeflateError', code: 'deflate-thread-exited' });
  /** A thread that answers with the CRC of other bytes: the body would not decode, and it is caught. */
  class WrongCrc extends SegmentDeflater {
    override async deflateRun(pieces: readonly Buffer[]): Promise<DeflateResult> {
      const result = await super.deflateRun(pieces);
      return { ...result, crc: (result.crc ^ 1) >>> 0 };
    }
  }
  const wrong = new WrongCrc();
  try {
    await assert.rejects(warmGzipExposition('x 1\n', wrong), { name: 'SegmentDeflateError', code: 'deflate-failed' });
  } finally {
    await wrong.close();
  }
});
