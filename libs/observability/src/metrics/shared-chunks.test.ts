import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { PagedSeries, sharedMemoryBytes } from './paged-series';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SharedChunkReceiver, SharedChunkSender } from './shared-chunks';

// A full collection on demand, without --expose-gc on the test runner's command line.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** What the other thread receives: the message as postMessage clones it. */
function posted<T>(message: T): T {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(message);
    return receiveMessageOnPort(port2)!.message as T;
  } finally {
    port1.close();
  }
}

/** The chunks as the serving thread sees them after one post. */
function across(chunks: ReadonlyArray<Buffer | string>, sender = new SharedChunkSender(), receiver = new SharedChunkReceiver()): Buffer[] {
  return receiver.receive(posted(sender.share(chunks)))();
}

describe('shared chunks', () => {
  test('chunks of shared memory, plain Buffers and strings arrive as the same bytes, in order', () => {
    const shared = sharedMemoryBytes(64);
    shared.write('abcdefghijklmnopqrstuvwxyz');
    const chunks = [Buffer.from('# HELP é\n'), shared.subarray(0, 3), 'x{l="𝔘"} 1\n', shared.subarray(10, 26), Buffer.alloc(0), shared.subarray(3, 3)];
    const views = across(chunks);
    assert.deepEqual(
      views.map((v) => v.toString('utf8')),
      chunks.map((c) => c.toString()),
    );
  });

  test('bytes in shared memory are shared, not copied: the receiver sees the very memory', () => {
    const shared = sharedMemoryBytes(16);
    shared.write('before');
    const [view] = across([shared.subarray(0, 6)]);
    assert.ok(view.buffer instanceof SharedArrayBuffer);
    // Written after the post: a copy would still say "before". (PagedSeries never does this to
    // bytes it handed out; the test does it to prove that nothing was copied.)
    shared.write('AFTER!');
    assert.equal(view.toString(), 'AFTER!');
  });

  test('each memory crosses once: later messages name it by number, and its release drops it', async () => {
    const sender = new SharedChunkSender();
    const receiver = new SharedChunkReceiver();
    const header = Buffer.from('# HELP x\n');
    let a: Buffer | undefined = sharedMemoryBytes(100);
    const b = sharedMemoryBytes(100);
    a.write('a'.repeat(100));
    b.write('b'.repeat(100));
    // Messages made in a function of their own: nothing here keeps the sender's objects alive.
    const send = (chunks: Array<Buffer | string>, added: number) => {
      const message = sender.share(chunks);
      assert.equal(message.added.length, added);
      return receiver.receive(posted(message));
    };
    // a, b, the header's shared copy and one memory for both strings.
    const firstViews = send([header, a.subarray(0, 10), b.subarray(0, 10), 'x', 'y', a.subarray(10, 20)], 4);
    // The header is copied once, a and b are known.
    assert.deepEqual(send([header, a.subarray(20, 30), b.subarray(10, 20)], 0)().map(String), ['# HELP x\n', 'a'.repeat(10), 'b'.repeat(10)]);
    assert.deepEqual(firstViews().map(String), ['# HELP x\n', 'a'.repeat(10), 'b'.repeat(10), 'x', 'y', 'a'.repeat(10)]);
    // The builder drops `a` (a repacked page): once collected there, a later message releases it.
    a = undefined;
    const held = receiver.size;
    const released: number[] = [];
    for (let attempt = 0; attempt < 50 && released.length === 0; attempt++) {
      collectGarbage();
      // FinalizationRegistry callbacks run from a task of their own.
      await new Promise((resolve) => setTimeout(resolve, 10));
      const message = sender.share([b.subarray(0, 1)]);
      receiver.receive(posted(message));
      released.push(...message.released);
    }
    assert.ok(released.length > 0, 'a collected memory is released');
    assert.ok(receiver.size < held, `${receiver.size} memories held, ${held} before`);
    // Views resolved before the release still read the memory: they hold it themselves.
    assert.equal(firstViews()[1].toString(), 'a'.repeat(10));
  });

  test('a span outside its memory, or of a memory never received, is refused rather than viewed', () => {
    const memory = new SharedArrayBuffer(8);
    const receive = (spans: number[]) => new SharedChunkReceiver().receive({ added: [[0, memory]], released: [], spans: Uint32Array.from(spans) })();
    assert.throws(() => receive([0, 4, 5]), /outside its buffer/);
    assert.throws(() => receive([1, 0, 1]), /outside its buffer/);
    assert.throws(() => receive([0, 0]), /multiple of 3/);
    assert.deepEqual(receive([0, 8, 0]).map((view: Buffer) => view.length), [0]);
  });

  test('a PagedSeries in shared memory writes every line there, and never rewrites bytes it handed out', async () => {
    const headers = [Buffer.from('# a\n'), Buffer.from('# b\n')];
    const series = new PagedSeries(headers, 4, sharedMemoryBytes);
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    series.setKeys(keys);
    for (const key of keys) series.set(key, [`${key}_a 1\n`, `${key}_b 2\n`]);
    const before = series.chunks();
    const snapshot = before.map((c) => Buffer.from(c));
    for (const chunk of before) if (!headers.some((header) => header === chunk)) assert.ok(chunk.buffer instanceof SharedArrayBuffer, chunk.toString());
    // Packing, setting again and re-paging make new memory; what `before` points at stays as it was.
    await series.pack();
    series.set('k3', ['k3_a 9\n', '']);
    series.setKeys([...keys, 'k10', 'a']);
    series.set('k10', ['k10_a 1\n', 'k10_b 1\n']);
    series.set('a', ['a_a 1\n', 'a_b 1\n']);
    await series.pack();
    assert.deepEqual(
      before.map((c) => c.toString()),
      snapshot.map((c) => c.toString()),
    );
    const after = Buffer.concat(series.chunks()).toString();
    assert.match(after, /^# a\na_a 1\nk0_a 1\nk1_a 1\nk10_a 1\nk2_a 1\n/);
    assert.match(after, /k3_a 9\n/);
    assert.doesNotMatch(after, /k3_b/);
  });
});
