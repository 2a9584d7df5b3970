import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { crc32, inflateRawSync } from 'node:zlib';
import { SegmentDeflateError, SegmentDeflater } from './segment-deflater';

/** A sync-flushed segment becomes a whole raw deflate stream with an empty final block after it. */
const inflate = (deflated: Buffer) => inflateRawSync(Buffer.concat([deflated, Buffer.from([0x03, 0x00])]));
const text = (n: number, tag = 'a') => Buffer.from(Array.from({ length: n }, (_, i) => `provwatch_check_status{target="${tag}${i}"} 1\n`).join(''));

describe('SegmentDeflater (deflate thread)', () => {
  const deflater = new SegmentDeflater();
  after(() => deflater.close());

  test('a view of shared memory, a Buffer of the shared pool and a run of pieces come back compressed, with their CRC', async () => {
    const page = text(2_000);
    const shared = Buffer.from(new SharedArrayBuffer(page.length + 10));
    page.copy(shared, 5);
    const view = shared.subarray(5, 5 + page.length);
    const pooled = Buffer.from('small\n'); // a slice of Node's pool: only its own bytes may travel
    const pieces = [text(10, 'x'), pooled, text(10, 'y')];
    const [fromShared, fromPool, fromRun] = await Promise.all([deflater.deflate(view), deflater.deflate(pooled), deflater.deflateRun(pieces)]);
    assert.deepEqual(inflate(fromShared.deflated), page);
    assert.equal(fromShared.crc, crc32(page));
    assert.deepEqual(inflate(fromPool.deflated), pooled);
    assert.deepEqual(inflate(fromRun.deflated), Buffer.concat(pieces));
    assert.equal(fromRun.crc, crc32(Buffer.concat(pieces)));
    assert.deepEqual([...fromShared.deflated.subarray(-4)], [0x00, 0x00, 0xff, 0xff], 'ends in a sync flush: byte-aligned, not final');
    assert.equal(shared.subarray(5, 5 + page.length).equals(page), true, 'shared memory is read, never changed');
    assert.equal(pooled.toString(), 'small\n', 'copied, not transferred away');
    assert.equal(deflater.open, 0);
  });

  test('empty input is an empty segment', async () => {
    const empty = await deflater.deflate(Buffer.alloc(0));
    assert.equal(inflate(empty.deflated).length, 0);
    assert.equal(empty.crc, 0);
  });

  test('a deflate thread that exits fails the pieces it held with a stable code; the next piece starts a new thread', async () => {
    const own = new SegmentDeflater();
    const big = Buffer.from(new SharedArrayBuffer(64 * 1024 * 1024)).fill(0x61);
    const pending = own.deflate(big);
    await own.close();
    await assert.rejects(pending, (err: unknown) => err instanceof SegmentDeflateError && err.code === 'deflate-thread-exited');
    assert.equal(own.open, 0);
    const next = await own.deflate(Buffer.from('after\n'));
    assert.equal(inflate(next.deflated).toString(), 'after\n');
    await own.close();
  });

  test('an open piece keeps the process alive until it is answered; an idle thread does not', () => {
    // A process with nothing else to wait for. Its second piece goes to a thread that is already
    // up and idle (unref'd): without the open piece holding it, the process exits before the
    // answer. Once answered, the idle thread lets it exit (else execFileSync times out).
    const script = `const d = require(${JSON.stringify(require.resolve('./segment-deflater'))}).sharedSegmentDeflater();
      d.deflate(Buffer.from('x\\n')).then(() => new Promise((r) => setTimeout(r, 50))).then(() => d.deflate(Buffer.from('y\\n'))).then((r) => console.log('answered', r.crc));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.match(out, /^answered \d+$/m);
  });

  test('prestart at boot: idle, the thread lets the process exit; the first piece goes to it', () => {
    // Nothing else keeps these processes alive: a prestarted thread that held them would time
    // execFileSync out. (Adding the 'message' listener after unref() refs the port again: it did.)
    const deflater = `require(${JSON.stringify(require.resolve('./segment-deflater'))}).sharedSegmentDeflater()`;
    const idle = execFileSync(process.execPath, ['-e', `${deflater}.prestart(); console.log('started')`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(idle, 'started\n');
    const script = `const d = ${deflater};
      d.prestart();
      setTimeout(() => d.deflate(Buffer.from('z\\n')).then((r) => console.log('answered', r.crc)), 200);`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.match(out, /^answered \d+$/m);
  });

  test('the thread keeps nothing between pieces: the same bytes compress to the same segment', async () => {
    const page = text(500, 'z');
    const first = await deflater.deflate(page);
    await deflater.deflate(text(500, 'other'));
    const again = await deflater.deflate(page);
    assert.deepEqual(again.deflated, first.deflated);
  });
});
