/**
 * Records every event-loop gap of this thread longer than 5 ms, with the thread's CPU time during
 * the gap and the GC pauses inside it. A stall figure says how long the loop was held; this says
 * why: working (CPU close to the gap), collecting garbage, or waiting for a core (CPU far below
 * the gap: other threads or processes had the cores, or the VM did not run this one). Costs the
 * thread one 1 ms timer.
 *
 * Two uses:
 * - in process (bench/metrics-scrape): `startLoopGapRecorder()`, read per phase;
 * - loaded into the service under test (`node --require`, through NODE_OPTIONS) by
 *   bench/status-api: with PROVWATCH_BENCH_LOOP_FILE set it records the main thread and rewrites
 *   the gaps to that file once a second as JSON lines, which the bench reads per phase.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/** One gap: when it started (ms since the epoch), how long it was, CPU and GC inside it (ms). */
export interface LoopGap {
  at: number;
  /** The start on the monotonic clock in µs: the time base of a `--cpu-prof` profile, to find its samples. */
  monoUs: number;
  gapMs: number;
  cpuMs: number;
  gcMs: number;
  /**
   * The process's major page faults during it (getrusage: all threads): pages read back from disk
   * while a thread waited, as after the kernel dropped them (this VM's DAMON pages out cold memory).
   */
  majorFaults: number;
  /** The pauses inside it, as `kind:ms` (V8's kinds: minor, major, incremental, weakcb). */
  gc: string[];
}

export interface LoopGapRecorder {
  /** The gaps recorded so far, oldest first. */
  readonly gaps: LoopGap[];
  /** The longest gap that started in [since, until) (ms since the epoch; all when omitted). */
  longest(since?: number, until?: number): LoopGap | undefined;
  stop(): void;
}

const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

/** Gaps recorded: longer than this (ms). The idle process beside the service (machine-floor-probe.ts) uses the same. */
export const GAP_MS = 5;

export function startLoopGapRecorder(): LoopGapRecorder {
  const epochOffset = Date.now() - performance.now();
  const monoOffsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
  const pauses: Array<{ start: number; duration: number; kind: string }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      pauses.push({ start: entry.startTime, duration: entry.duration, kind: GC_KINDS[kind] ?? String(kind) });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const gaps: LoopGap[] = [];
  let last = performance.now();
  let lastCpu = process.threadCpuUsage();
  let lastFaults = process.resourceUsage().majorPageFault;
  const sampler = setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    const faults = process.resourceUsage().majorPageFault;
    if (now - last > GAP_MS) {
      const inside = pauses.filter((p) => p.start + p.duration > last && p.start < now);
      const gcMs = inside.reduce((sum, p) => sum + p.duration, 0);
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      gaps.push({ at: Math.round(epochOffset + last), monoUs: Math.round(monoOffsetUs + last * 1000), gapMs: now - last, cpuMs, gcMs, majorFaults: faults - lastFaults, gc: inside.map((p) => `${p.kind}:${p.duration.toFixed(1)}`) });
    }
    last = now;
    lastCpu = cpu;
    lastFaults = faults;
  }, 1).unref();
  const pruner = setInterval(() => {
    // Pauses older than a minute can no longer fall inside a gap still to come.
    while (pauses.length > 0 && pauses[0].start < performance.now() - 60_000) pauses.shift();
  }, 1000).unref();
  return {
    gaps,
    longest: (since, until) => longestGap(gaps, since, until),
    stop: () => {
      clearInterval(sampler);
      clearInterval(pruner);
      observer.disconnect();
    },
  };
}

/** The longest of `gaps` that started in [since, until) (ms since the epoch; all when omitted). */
export function longestGap<Gap extends Pick<LoopGap, 'at' | 'gapMs'>>(gaps: readonly Gap[], since = -Infinity, until = Infinity): Gap | undefined {
  let longest: Gap | undefined;
  for (const gap of gaps) if (gap.at >= since && gap.at < until && (longest === undefined || gap.gapMs > longest.gapMs)) longest = gap;
  return longest;
}

/** `82.2 ms (CPU 0.0 ms, GC 0.0 ms)`, `(…, 3 major page faults)` when any, or `none over 5 ms`. */
export function describeGap(gap: LoopGap | undefined): string {
  if (gap === undefined) return `none over ${GAP_MS} ms`;
  const faults = gap.majorFaults > 0 ? `, ${gap.majorFaults} major page fault${gap.majorFaults === 1 ? '' : 's'}` : '';
  return `${gap.gapMs.toFixed(1)} ms (CPU ${gap.cpuMs.toFixed(1)} ms, GC ${gap.gcMs.toFixed(1)} ms${faults})`;
}

const file = process.env.PROVWATCH_BENCH_LOOP_FILE;
if (isMainThread && file) {
  const recorder = startLoopGapRecorder();
  setInterval(() => writeFileSync(file, recorder.gaps.map((gap) => JSON.stringify(gap)).join('\n')), 1000).unref();
}
