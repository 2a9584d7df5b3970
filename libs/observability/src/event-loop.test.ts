import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs';
import { test } from 'node:test';
import { yieldToEventLoop } from './event-loop';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

/** Runs `work` as a continuation of an I/O callback: in the poll phase, like code after a database answer. */
function afterIo<T>(work: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => readFile(__filename, () => void work().then(resolve, reject)));
}

test('a yield from an I/O continuation lets due timers run before the work goes on', async () => {
  const ranBeforeResume = await afterIo(async () => {
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    busy(5); // the timer is due
    await yieldToEventLoop();
    return timerRan;
  });
  assert.equal(ranBeforeResume, true);
});

test('one setImmediate from an I/O continuation does not (why the helper hops twice)', async () => {
  const ranBeforeResume = await afterIo(async () => {
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    busy(5);
    await new Promise<void>((resolve) => setImmediate(resolve));
    return timerRan;
  });
  assert.equal(ranBeforeResume, false);
});

test('a yield from a timer continuation lets the other due timers run first', async () => {
  const order: string[] = [];
  await new Promise<void>((resolve) =>
    setTimeout(async () => {
      setTimeout(() => order.push('timer'), 0);
      busy(5);
      await yieldToEventLoop();
      order.push('resumed');
      resolve();
    }, 0),
  );
  assert.deepEqual(order, ['timer', 'resumed']);
});
