import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { writeWithBackpressure } from './metrics.controller';

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
