/**
 * Loaded into the service under test (`node --require`, through NODE_OPTIONS) by bench/status-api:
 * records every event-loop gap of the service's main thread longer than 5 ms, with the thread's
 * CPU time during the gap and the GC pauses inside it, and rewrites them to
 * PROVWATCH_BENCH_LOOP_FILE once a second as JSON lines. The bench reads them per phase: a client
 * p99 says what a request waited for, this says whether the service's own loop was the cause
 * (long gaps), and if so whether it was working (CPU close to the gap), collecting garbage, or
 * waiting for a core (CPU far below the gap). Costs the service one 1 ms timer.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/** One gap: when it started (ms since the epoch), how long it was, CPU and GC inside it (ms). */
export interface LoopGap {
  at: number;
  gapMs: number;
  cpuMs: number;
  gcMs: number;
  /** The pauses inside it, as `kind:ms` (V8's kinds: minor, major, incremental, weakcb). */
  gc: string[];
}

const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

const GAP_MS = 5;
const file = process.env.PROVWATCH_BENCH_LOOP_FILE;

if (isMainThread && file) {
  const epochOffset = Date.now() - performance.now();
  const pauses: Array<{ start: number; duration: number; kind: string }> = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      pauses.push({ start: entry.startTime, duration: entry.duration, kind: GC_KINDS[kind] ?? String(kind) });
    }
  }).observe({ entryTypes: ['gc'] });
  const gaps: LoopGap[] = [];
  let last = performance.now();
  let lastCpu = process.threadCpuUsage();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    if (now - last > GAP_MS) {
      const inside = pauses.filter((p) => p.start + p.duration > last && p.start < now);
      const gcMs = inside.reduce((sum, p) => sum + p.duration, 0);
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      gaps.push({ at: Math.round(epochOffset + last), gapMs: now - last, cpuMs, gcMs, gc: inside.map((p) => `${p.kind}:${p.duration.toFixed(1)}`) });
    }
    last = now;
    lastCpu = cpu;
  }, 1).unref();
  setInterval(() => {
    // Pauses older than a minute can no longer fall inside a gap still to come.
    while (pauses.length > 0 && pauses[0].start < performance.now() - 60_000) pauses.shift();
    writeFileSync(file, gaps.map((gap) => JSON.stringify(gap)).join('\n'));
  }, 1000).unref();
}
