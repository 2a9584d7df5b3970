import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { type SeriesReply, type SeriesRequest, type SeriesWorker, StatusSeriesThread } from './status-series-thread';

/** A thread stand-in: records requests, answers what the test posts, exits when terminated. */
class FakeWorker extends EventEmitter {
  readonly requests: SeriesRequest[] = [];
  terminated = false;
  postMessage(request: SeriesRequest): void {
    this.requests.push(request);
  }
  reply(message: SeriesReply): void {
    this.emit('message', message);
  }
  async terminate(): Promise<number> {
    if (!this.terminated) {
      this.terminated = true;
      queueMicrotask(() => this.emit('exit', 1));
    }
    return 1;
  }
}

describe('status series thread client', () => {
  test('a message that does not fit the shared memory received so far ends the thread instead of the process', async () => {
    const workers: FakeWorker[] = [];
    const exits: Array<string | undefined> = [];
    const thread = new StatusSeriesThread({
      start: () => {
        const worker = new FakeWorker();
        workers.push(worker);
        return worker as unknown as SeriesWorker;
      },
      watched: () => [{ name: 't', keepLast: 1 }],
      onExit: (_code, error) => exits.push(error?.message),
    });
    const memory = new SharedArrayBuffer(4);
    Buffer.from(memory).write('ok\n!');
    const refresh = thread.verdicts.refresh();
    const worker = workers[0];
    assert.deepEqual(
      worker.requests.map((r) => r.op),
      ['watchlist', 'refresh-verdicts'],
    );
    worker.reply({ kind: 'verdict-series', complete: true, byteLength: 3, chunks: { added: [[0, memory]], released: [], spans: Uint32Array.of(0, 0, 3) } });
    assert.equal(Buffer.concat(thread.verdicts.chunks()).toString(), 'ok\n');
    // Memory number 7 was never sent.
    worker.reply({ kind: 'verdict-series', complete: true, byteLength: 3, chunks: { added: [], released: [], spans: Uint32Array.of(7, 0, 1) } });
    await assert.rejects(refresh, { code: 'series-thread-exited' });
    assert.equal(worker.terminated, true);
    assert.deepEqual(thread.verdicts.chunks(), [], 'nothing of that thread is shown any more');
    assert.equal(thread.verdicts.complete, false);
    assert.match(exits[0] ?? '', /outside its buffer/);
  });

  test('prestart starts the thread and sends the watchlist at boot; the first request finds both done', async () => {
    let started = 0;
    const worker = new FakeWorker();
    const watched = [{ name: 'a', keepLast: 1 }];
    const thread = new StatusSeriesThread({
      start: () => {
        started++;
        return worker as unknown as SeriesWorker;
      },
      watched: () => watched,
      closeTimeoutMs: 10,
    });
    assert.equal(started, 0, 'nothing starts before it is asked to');
    thread.prestart();
    thread.prestart();
    assert.equal(started, 1);
    assert.deepEqual(worker.requests, [{ op: 'watchlist', targets: watched }]);
    void thread.verdicts.refresh().catch(() => undefined);
    assert.equal(started, 1);
    assert.deepEqual(
      worker.requests.map((r) => r.op),
      ['watchlist', 'refresh-verdicts'],
      'the same watchlist is not sent twice',
    );
    await thread.close();
    const requests = worker.requests.length;
    thread.prestart();
    assert.equal(worker.requests.length, requests, 'a closed thread is not started again');
  });

  test('a reload sends the new watchlist once, before the next request', async () => {
    const worker = new FakeWorker();
    let watched = [{ name: 'a', keepLast: 1 }];
    const thread = new StatusSeriesThread({ start: () => worker as unknown as SeriesWorker, watched: () => watched });
    const first = thread.readPolls();
    worker.reply({ kind: 'done', id: 1, chunks: { added: [], released: [], spans: new Uint32Array(0) } });
    assert.deepEqual(await first, []);
    void thread.readPolls().catch(() => undefined);
    watched = [{ name: 'b', keepLast: 2 }];
    void thread.readPolls().catch(() => undefined);
    assert.deepEqual(
      worker.requests.map((r) => (r.op === 'watchlist' ? `watchlist:${r.targets.map((t) => t.name).join(',')}` : r.op)),
      ['watchlist:a', 'read-polls', 'read-polls', 'watchlist:b', 'read-polls'],
    );
    await worker.terminate();
  });
});
