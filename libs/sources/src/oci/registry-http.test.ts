import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withAbortSignal } from '../abort-scope';
import { Watchdog } from './registry-http';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Watchdog', () => {
  it('fires on idle when not re-armed', async () => {
    const watchdog = new Watchdog(40);
    watchdog.arm();
    await sleep(120);
    assert.equal(watchdog.reason, 'idle');
    assert.equal(watchdog.controller.signal.aborted, true);
  });

  it('re-arming keeps the idle timer from firing but never extends the total deadline', async () => {
    const watchdog = new Watchdog(80, { totalMs: 200 });
    const started = Date.now();
    watchdog.arm();
    // Re-armed well inside the idle timeout, as a trickling body does on every chunk.
    while (!watchdog.fired && Date.now() - started < 2000) {
      await sleep(20);
      watchdog.arm();
    }
    assert.equal(watchdog.reason, 'deadline');
    assert.equal(watchdog.totalMs, 200);
    assert.ok(Date.now() - started < 1500, 'fired near the deadline');
  });

  it('disarm stops both timers (a request that completed is never aborted)', async () => {
    const watchdog = new Watchdog(30, { totalMs: 50 });
    watchdog.arm();
    watchdog.disarm();
    await sleep(120);
    assert.equal(watchdog.fired, false);
    assert.equal(watchdog.controller.signal.aborted, false);
  });

  it('follows an outer abort, also one that happened before it was created', async () => {
    const outer = new AbortController();
    const watchdog = new Watchdog(10_000, { signal: outer.signal });
    watchdog.arm();
    outer.abort();
    assert.equal(watchdog.reason, 'aborted');
    assert.equal(watchdog.controller.signal.aborted, true);
    watchdog.disarm();
    const late = new Watchdog(10_000, { signal: outer.signal });
    assert.equal(late.reason, 'aborted');
  });

  it('Watchdog.for takes the signal of the enclosing withAbortSignal', async () => {
    const outer = new AbortController();
    const inside = await withAbortSignal(outer.signal, async () => {
      await sleep(1);
      return Watchdog.for({ timeoutMs: 10_000, deadlineMs: 20_000 });
    });
    assert.equal(inside.totalMs, 20_000);
    outer.abort();
    assert.equal(inside.reason, 'aborted');
    assert.equal(Watchdog.for({ timeoutMs: 10_000 }).fired, false, 'outside any scope: no outer signal');
  });
});
