import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { type ServerResponse, createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { DeflatedSegmentCache } from '@provwatch/observability';
import { acceptsGzip, answerScrape, writeWithBackpressure } from './metrics.controller';

/**
 * A response whose socket takes every write whole: write() says "wait" and the write callback and
 * 'drain' follow on process.nextTick, as Node does. Chaining on that alone never returns to the event loop.
 */
class NextTickDrainResponse extends EventEmitter {
  readonly received: Buffer[] = [];
  ended = false;
  write(data: Buffer, done: () => void): boolean {
    this.received.push(Buffer.from(data));
    process.nextTick(done);
    process.nextTick(() => this.emit('drain'));
    return false;
  }
  end(): void {
    this.ended = true;
  }
}

test('the body is written whole, in blocks, with the event loop running between blocks', async () => {
  const chunks = Array.from({ length: 40_000 }, (_, i) => Buffer.from(`provwatch_check_status{target="t${i}",image="",release="v1",check="c",status="pass"} 1\n`));
  const res = new NextTickDrainResponse();
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await writeWithBackpressure(res as unknown as ServerResponse, ['# header\n', ...chunks]);
  running = false;
  assert.equal(res.ended, true);
  assert.equal(Buffer.concat(res.received).toString(), `# header\n${Buffer.concat(chunks).toString()}`);
  assert.ok(res.received.length > 10, `written in blocks (${res.received.length})`);
  assert.ok(turns >= res.received.length - 1, `the loop ran between blocks (${turns} turns, ${res.received.length} blocks)`);
});

test('a client that goes away stops the writer', async () => {
  const res = new NextTickDrainResponse();
  const chunks = Array.from({ length: 10_000 }, () => Buffer.alloc(1024, 'a'));
  const writing = writeWithBackpressure(res as unknown as ServerResponse, chunks);
  res.emit('close');
  await writing;
  assert.equal(res.ended, false);
  assert.ok(res.received.length <= 1, 'no block after close');
});

test('gzip is chosen only when Accept-Encoding allows it', () => {
  const allowed = ['gzip', 'GZIP', 'x-gzip', 'deflate, gzip;q=0.5', 'gzip, deflate, br', '*', 'br;q=1, *;q=0.1', 'gzip;q=1.0'];
  const refused = [undefined, '', 'identity', 'br, deflate', 'gzip;q=0', 'gzip;q=0.000', '*;q=0', 'br, *;q=0.1, gzip;q=0', '*, gzip;q=0'];
  for (const header of allowed) assert.equal(acceptsGzip(header), true, String(header));
  for (const header of refused) assert.equal(acceptsGzip(header), false, String(header));
  assert.equal(acceptsGzip(['br', 'gzip']), true, 'repeated header lines');
});

test('a chunk source that fails cuts the connection instead of ending a body that looks whole', async () => {
  const res = new NextTickDrainResponse();
  let destroyed: Error | undefined;
  (res as unknown as { destroy(err: Error): void }).destroy = (err) => (destroyed = err);
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.from('first\n');
    throw new Error('compression failed');
  }
  await assert.rejects(writeWithBackpressure(res as unknown as ServerResponse, failing()), /compression failed/);
  assert.equal(destroyed?.message, 'compression failed');
  assert.equal(res.ended, false);
});

test('over HTTP: gzip for a scraper that asks for it, the same text as the plain answer, kept pages compressed once', async () => {
  // Kept series pages in shared memory, as the series thread hands them over, between small chunks.
  const page = Buffer.from(new SharedArrayBuffer(200_040));
  for (let at = 0, i = 0; at + 120 <= page.length; at += 120, i++) page.write(`provwatch_check_status{target="t${String(i).padStart(6, '0')}",release="v1",check="c",status="pass"} 1`.padEnd(119) + '\n', at);
  const render = (): Array<string | Buffer> => ['# HELP provwatch_build_info b\n# TYPE provwatch_build_info gauge\n', Buffer.from(page.buffer, 0, 100_080), 'x 1\n', Buffer.from(page.buffer, 100_080, 99_960)];
  const deflated = new DeflatedSegmentCache();
  const server = createServer((req, res) => void answerScrape(req, res, render(), deflated));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const get = (headers: Record<string, string>) =>
    new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      }).on('error', reject);
    });
  try {
    const plain = await get({});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    const expected = Buffer.concat(render().map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    assert.ok(plain.body.equals(expected));
    for (let k = 0; k < 2; k++) {
      const zipped = await get({ 'accept-encoding': 'gzip' });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.ok(zipped.body.length < expected.length / 5, `compressed: ${zipped.body.length} bytes`);
      assert.ok(gunzipSync(zipped.body).equals(expected), `scrape ${k + 1} decodes to the plain text`);
    }
    assert.equal(deflated.compressions, 2, 'each kept page compressed once over two scrapes');
    assert.equal((await get({ 'accept-encoding': 'gzip;q=0, br' })).headers['content-encoding'], undefined);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
