import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { dedupedLog } from './worker.runtime';
import { WorkerStarter } from './worker.starter';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkerStarter', () => {
  test('retries with capped back-off, one line per retry, until the dependency answers; then runs', async () => {
    const logs: string[] = [];
    let down = true;
    let started = 0;
    const starter = new WorkerStarter({
      preconditions: async () => {
        if (down) throw new Error('redis 127.0.0.1:6390 unreachable (ECONNREFUSED)');
      },
      create: async () => ({ start: async () => void started++, stop: async () => undefined }),
      log: (m) => logs.push(m),
      firstDelayMs: 10,
      maxDelayMs: 40,
    });
    starter.begin();
    await tick(250);
    assert.equal(starter.running, false);
    assert.equal(starter.reason, 'redis 127.0.0.1:6390 unreachable (ECONNREFUSED)');
    assert.ok(logs.length >= 4, logs.join('\n'));
    assert.deepEqual(logs.slice(0, 4).map((l) => l.replace(/.*retrying in /, '')), ['10 ms', '20 ms', '40 ms', '40 ms'], 'doubling, capped');
    assert.ok(logs.every((l) => l === `redis 127.0.0.1:6390 unreachable (ECONNREFUSED); worker not started, retrying in ${l.split('retrying in ')[1]}`));
    down = false;
    await tick(100);
    assert.equal(starter.running, true);
    assert.equal(starter.reason, undefined);
    assert.equal(started, 1);
    assert.match(logs[logs.length - 1], /^worker started \(attempt \d+\)$/);
    await starter.stop();
    assert.equal(starter.running, false);
  });

  test('a start that fails after create() stops what it built before retrying', async () => {
    let stopped = 0;
    let attempts = 0;
    const starter = new WorkerStarter({
      preconditions: async () => undefined,
      create: async () => ({
        start: async () => {
          if (++attempts < 3) throw Object.assign(new Error(''), { code: 'P1001' });
        },
        stop: async () => void stopped++,
      }),
      log: () => undefined,
      firstDelayMs: 5,
    });
    starter.begin();
    await tick(100);
    assert.equal(starter.running, true);
    assert.equal(stopped, 2, 'each failed attempt is cleaned up');
    await starter.stop();
    assert.equal(stopped, 3);
  });

  test('a start that hangs (a dependency gone mid-start) is abandoned and retried', async () => {
    const logs: string[] = [];
    let first = true;
    const starter = new WorkerStarter({
      preconditions: async () => undefined,
      create: async () => ({
        start: () => (first ? ((first = false), new Promise<void>(() => undefined)) : Promise.resolve()),
        stop: async () => undefined,
      }),
      log: (m) => logs.push(m),
      firstDelayMs: 5,
      attemptTimeoutMs: 30,
    });
    starter.begin();
    await tick(150);
    assert.equal(starter.running, true);
    assert.match(logs[0], /worker start did not complete within 30 ms; worker not started, retrying in 5 ms/);
    await starter.stop();
  });
});

test('dedupedLog: a repeated connection error is one line per window, with the count of repeats', () => {
  const lines: string[] = [];
  let now = 0;
  const log = dedupedLog((m) => lines.push(m), 60_000, () => now);
  for (let i = 0; i < 100; i++, now += 500) log('worker: Error: ECONNREFUSED');
  log('queue: other');
  assert.deepEqual(lines, ['worker: Error: ECONNREFUSED', 'queue: other']);
  now = 61_000;
  log('worker: Error: ECONNREFUSED');
  assert.match(lines[2], /^worker: Error: ECONNREFUSED \(repeated 99 times in the last 61 s\)$/);
});
