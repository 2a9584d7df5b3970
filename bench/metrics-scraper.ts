import { spawn } from 'node:child_process';

/**
 * Prometheus as a process of its own, started once: spawning curl from the measured process every
 * second put a fork of a 500 MB process (10-25 ms) into every stall measured, and reading
 * 100 MB bodies in the process that also runs autocannon slowed the load it offers. Scrapes every
 * `intervalMs` until stopped (or `limit` scrapes done) and reports each one's time and size. The
 * small scraper process runs curl for each scrape (its fork is cheap): reading 100 MB bodies in
 * JavaScript, it took as much of the two cores as the service it measures (Prometheus reads them
 * on a machine of its own). `finished()` waits for the `limit` scrapes; without a limit, `stop()`.
 * `bytes` is what crossed the socket (compressed when gzip).
 *
 * Resolves once the scraper process has booted, and scrapes only after `go()`: Node's start-up
 * (~100 ms of a core on a small VM) is not Prometheus's steady state, and inside a measured window
 * it held the second core while the service waited for one.
 */
export async function startScraper(
  origin: string,
  intervalMs: number,
  limit = Number.POSITIVE_INFINITY,
  /**
   * Ask for gzip, as Prometheus does unless a job sets enable_compression: false. The body is read
   * as it crosses the wire and not decoded: decoding, like parsing, is Prometheus's own work, on a
   * machine of its own (bench/status-api decodes and checks gzip bodies in its /metrics phase).
   */
  gzip = true,
): Promise<{ go(): void; stop(): Promise<Array<{ ms: number; bytes: number }>>; finished(): Promise<Array<{ ms: number; bytes: number }>> }> {
  const script = `
    const { execFile } = require('node:child_process');
    let running = true;
    const results = [];
    // The first line says go; anything after it (or the end of input) says stop.
    let started;
    const go = new Promise((resolve) => (started = resolve));
    let lines = 0;
    process.stdin.on('data', (data) => {
      lines += String(data).split('\\n').length - 1;
      if (lines >= 1) started();
      if (lines >= 2) running = false;
    });
    process.stdin.on('end', () => started());
    const curl = () => new Promise((resolve, reject) =>
      execFile('curl', [${gzip ? "'-H', 'Accept-Encoding: gzip', " : ''}'-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download} %{http_code}', process.argv[1]], (err, out) => {
        if (err) return reject(err);
        const [seconds, bytes, code] = out.split(' ').map(Number);
        if (code !== 200) return reject(new Error('scrape answered ' + code));
        resolve({ ms: seconds * 1000, bytes });
      }));
    process.stdout.write('ready\\n');
    (async () => {
      await go;
      while (running && results.length < ${limit}) {
        results.push(await curl());
        await new Promise((r) => setTimeout(r, ${intervalMs}));
      }
      process.stdout.write(JSON.stringify(results));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  // A session of its own (setsid), as Prometheus is never in the service's: with autogroup (or a
  // container's cgroup) a child in the bench's session, and every curl it runs, took its CPU from
  // the same group as the service's threads. In one run an idle process in a session of its own
  // (machine-floor-probe.ts) stood still 0.0 ms of a 36.0 ms stall while scraping: that stall
  // was the bench session's, not the machine's.
  // It still ends with the bench: the server goes with the bench, and the next curl's failure
  // ends the scraper.
  const child = spawn(process.execPath, ['-e', script, `${origin}/metrics`], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  let ready!: () => void;
  const booted = new Promise<void>((resolve) => (ready = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
    if (output.startsWith('ready\n')) ready();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const results = async () => {
    await exited;
    return JSON.parse(output.slice('ready\n'.length) || '[]') as Array<{ ms: number; bytes: number }>;
  };
  // A child that dies before it is ready must not leave the bench waiting.
  await Promise.race([booted, exited]);
  return {
    go() {
      child.stdin!.write('go\n');
    },
    stop() {
      child.stdin!.end('stop\n');
      return results();
    },
    /** After `limit` scrapes, when the scraper exits of itself. */
    finished() {
      child.stdin!.end();
      return results();
    },
  };
}

