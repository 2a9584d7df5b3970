/**
 * Hashing a download at the transport's speed: a 1 GiB asset from a local HTTP server through
 * GitHubClient.downloadAsset (the worker's path: fetch, size limit, deadlines, SHA-256 once),
 * against a plain node:http GET hashed the same way and against node:crypto alone over the same
 * bytes in memory (the server in a process of its own). Prints MiB/s, the ratios, and the RSS growth.
 * Run: npm run build && node dist/bench/download-hash.bench.js  (BENCH_MIB, default 1024)
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { GitHubClient } from '@provwatch/sources';

const MIB = Number(process.env.BENCH_MIB ?? 1024);
const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);
const TOTAL = MIB * CHUNK.length;

/** The server runs in a process of its own: its writes must not share the measured event loop. */
function serve(): Promise<{ url: string; close(): void }> {
  const script = `
    const { createServer } = require('node:http');
    const MIB = ${MIB}; const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MIB * CHUNK.length) });
      let sent = 0;
      const pump = () => { while (sent < MIB) { sent++; if (!res.write(CHUNK)) return void res.once('drain', pump); } res.end(); };
      pump();
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (line: Buffer) => resolve({ url: `http://127.0.0.1:${line.toString().trim()}`, close: () => child.kill() }));
  });
}

async function timed(name: string, work: () => Promise<string>, baseline?: number): Promise<number> {
  const rss = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  const digest = await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = MIB / seconds;
  const grew = (process.memoryUsage().rss - rss) / 1024 / 1024;
  console.log(`${name.padEnd(36)} ${rate.toFixed(0).padStart(6)} MiB/s${baseline ? `  ${(rate / baseline).toFixed(2)}x node:crypto` : ''}  RSS +${grew.toFixed(0)} MiB  (${digest.slice(0, 12)})`);
  return rate;
}

async function main(): Promise<void> {
  const server = await serve();
  try {
    const crypto = await timed('node:crypto alone (in memory)', async () => {
      const hash = createHash('sha256');
      for (let i = 0; i < MIB; i++) hash.update(CHUNK);
      return hash.digest('hex');
    });
    await timed('plain node:http GET + sha256', () =>
      new Promise((resolve, reject) => {
        get(`${server.url}/plain`, (res) => {
          const hash = createHash('sha256');
          res.on('data', (c: Buffer) => hash.update(c));
          res.on('end', () => resolve(hash.digest('hex')));
          res.on('error', reject);
        }).on('error', reject);
      }),
    crypto);
    const github = new GitHubClient({ baseUrl: server.url });
    for (let round = 0; round < 2; round++) {
      await timed('GitHubClient.downloadAsset', async () => (await github.downloadAsset('o', 'r', 1, { maxBytes: TOTAL })).sha256, crypto);
    }
  } finally {
    server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
