import { spawn } from 'node:child_process';

const AUTOCANNON = require.resolve('autocannon');

export interface LoadOptions {
  /** Requests per second offered, across all connections. */
  rate: number;
  connections: number;
  seconds: number;
  /** Seconds of load before the measured run, not recorded (JIT, pools and caches warm up). */
  warmupSeconds?: number;
}

export interface LoadRun {
  /** When the measured run started and ended (ms since the epoch), to find the service's gaps in it. */
  from: number;
  to: number;
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
  rps: number;
  errors: number;
  /** The longest stall of the client's own event loop during the measured run, ms. */
  clientLoopMaxMs: number;
  /** Its longest GC pause, ms. */
  clientGcMs: number;
}

/**
 * Offers `rate` requests per second to `origin`, cycling through `paths`, from autocannon in a
 * process and session (setsid) of its own, as a service's clients are. In the bench's process, the
 * client's GC pauses (14.5-15.0 ms in two status-api runs) delayed the responses it read and were
 * measured as the service's p99; in the bench's session, with autogroup (or a container's cgroup),
 * its CPU was charged to the service's group. Latencies are autocannon's, in whole ms.
 */
export async function offerLoad(origin: string, paths: string[], options: LoadOptions): Promise<LoadRun> {
  const script = `
    const autocannon = require(process.argv[1]);
    const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');
    const { origin, paths, rate, connections, seconds, warmupSeconds } = JSON.parse(process.argv[2]);
    let i = 0;
    const run = (duration) => autocannon({
      url: origin, connections, overallRate: rate, duration,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }],
    });
    (async () => {
      if (warmupSeconds > 0) await run(warmupSeconds);
      const loop = monitorEventLoopDelay({ resolution: 1 });
      let gcMs = 0;
      const gc = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs = Math.max(gcMs, e.duration); });
      gc.observe({ entryTypes: ['gc'] });
      loop.enable();
      const from = Date.now();
      const r = await run(seconds);
      const to = Date.now();
      loop.disable();
      gc.disconnect();
      process.stdout.write(JSON.stringify({
        from, to, p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99, max: r.latency.max,
        rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx,
        clientLoopMaxMs: loop.max / 1e6, clientGcMs: gcMs,
      }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const config = JSON.stringify({ origin, paths, warmupSeconds: 0, ...options });
  const child = spawn(process.execPath, ['-e', script, AUTOCANNON, config], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  const status = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolveExit(code));
  });
  if (status !== 0) throw new Error(`load client exited ${status}: ${stderr}`);
  return JSON.parse(stdout) as LoadRun;
}
