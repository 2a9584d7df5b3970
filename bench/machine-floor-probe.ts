import { spawn } from 'node:child_process';
import { GAP_MS, longestGap } from './service-loop-recorder';

/** A gap of the probe's 1 ms timer: when it started (ms since the epoch) and how long it was. */
export interface FloorGap {
  at: number;
  gapMs: number;
}

export interface MachineFloorProbe {
  /**
   * `14.2 ms; it stood still 13.9 ms of the service's longest gap`: the probe's longest gap that
   * started in [since, until) (ms since the epoch), and how much of `serviceGap` the probe also
   * stood still (the longest overlap of one of its gaps with it): a service stall the idle
   * process shared is the machine's.
   */
  describe(since: number, until: number, serviceGap: FloorGap | undefined): Promise<string>;
  stop(): void;
}

/**
 * The stall this machine gives a process that does nothing, measured beside the service in the
 * same window: an idle Node process whose only work is a 1 ms timer, in a session of its own.
 *
 * Why: on the 2-core VM the benches run on, perf sched showed loop gaps of 12-28 ms in which both
 * cores were idle and the serving thread did not run at all (the timer's wake-up came late, from
 * outside the VM), and others in which a kernel thread (kdamond) held a core 13 ms without being
 * preempted. A stall figure alone cannot tell those from the service's own; the probe's longest
 * gap in the same window says how much of it the machine alone gives. A session of its own
 * (detached: setsid) puts it in an autogroup of its own, as a process not of the service is, so
 * that the service's threads do not count against it. It costs a core ~1% (1,000 wake-ups a
 * second). It ends when the bench does: its stdin closes with the bench's end of the pipe.
 */
export async function startMachineFloorProbe(): Promise<MachineFloorProbe> {
  const script = `
    let last = performance.now();
    const origin = Date.now() - last;
    setInterval(() => {
      const now = performance.now();
      if (now - last > ${GAP_MS}) process.stdout.write(JSON.stringify({ at: Math.round(origin + last), gapMs: now - last }) + '\\n');
      last = now;
    }, 1);
    process.stdin.on('end', () => process.exit(0)).resume();
    process.stdout.write('ready\\n');`;
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const gaps: FloorGap[] = [];
  let pending = '';
  let ready!: () => void;
  const booted = new Promise<void>((resolve) => (ready = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line === 'ready') ready();
      else gaps.push(JSON.parse(line) as FloorGap);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([booted, exited]);
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the machine floor probe exited at start (${child.exitCode ?? child.signalCode})`);
  return {
    async describe(since, until, serviceGap) {
      // A gap is reported by the probe's next timer turn, through a pipe: wait for the last one.
      await new Promise((r) => setTimeout(r, 20));
      const floor = longestGap(gaps, since, until);
      if (serviceGap === undefined) return describeFloor(floor);
      let shared = 0;
      for (const gap of gaps) shared = Math.max(shared, Math.min(gap.at + gap.gapMs, serviceGap.at + serviceGap.gapMs) - Math.max(gap.at, serviceGap.at));
      return `${describeFloor(floor)}; it stood still ${Math.max(0, shared).toFixed(1)} ms of the service's longest gap`;
    },
    stop() {
      child.stdin!.end();
    },
  };
}

/** `14.2 ms`, or `none over 5 ms`. */
export function describeFloor(gap: FloorGap | undefined): string {
  return gap === undefined ? `none over ${GAP_MS} ms` : `${gap.gapMs.toFixed(1)} ms`;
}
