import { spawn } from 'node:child_process';

/**
 * Prometheus as a process of its own, started once: spawning curl from the measured process every
 * second put a fork of a 500 MB process (10-25 ms) into every stall measured, and reading
 * 100 MB bodies in the process that also runs autocannon slowed the load it offers. Scrapes every
 * `intervalMs` until stopped and reports each one's time and size.
 */
export function startScraper(origin: string, intervalMs: number): { stop(): Promise<Array<{ ms: number; bytes: number }>> } {
  const script = `
    const { get } = require('node:http');
    let running = true;
    const results = [];
    process.stdin.on('data', () => (running = false));
    (async () => {
      while (running) {
        const t0 = process.hrtime.bigint();
        const bytes = await new Promise((resolve, reject) => get(process.argv[1], (res) => {
          let n = 0;
          res.on('data', (c) => (n += c.length));
          res.on('end', () => resolve(n));
          res.on('error', reject);
        }).on('error', reject));
        results.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes });
        await new Promise((r) => setTimeout(r, ${intervalMs}));
      }
      process.stdout.write(JSON.stringify(results));
    })();`;
  const child = spawn(process.execPath, ['-e', script, `${origin}/metrics`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin!.end('stop\n');
      await exited;
      return JSON.parse(output || '[]') as Array<{ ms: number; bytes: number }>;
    },
  };
}

