/**
 * Hashing a download at the transport's speed: a 1 GiB asset from a local HTTP server through
 * GitHubClient.downloadAsset (the worker's path: http1/hashed-download, the socket read into one
 * reused buffer, SHA-256 once on the hashing thread, size limit, deadlines), against plain
 * node:http and fetch GETs hashed as they read, and against node:crypto alone over the same bytes
 * in memory (the server in a process of its own). Two floors show what the transport itself
 * costs: a node:http GET that hashes nothing, and TCP reads into one reused buffer hashed without
 * any HTTP parsing. The same asset over TLS (a self-signed localhost certificate, trusted by
 * re-running this process with NODE_EXTRA_CA_CERTS, as an operator would) compares downloadAsset
 * with node:https: GitHub's storage is https. Each round has its own node:crypto baseline (the
 * machine is shared); prints MiB/s, the ratios, this process's CPU seconds (all threads), RSS
 * growth and peak, then each path's ratios over the rounds.
 * Run: npm run build && node dist/bench/download-hash.bench.js  (BENCH_MIB, default 1024; BENCH_ROUNDS, default 3)
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubClient } from '@provwatch/sources';
import { selfSignedLocalhost } from '../test/support/tls-certificate';

const MIB = Number(process.env.BENCH_MIB ?? 1024);
const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);
const TOTAL = MIB * CHUNK.length;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * The server runs in a process of its own: its writes must not share the measured event loop.
 * With `tls`, it is node:https on the certificate and key files named.
 */
function serve(tls?: { keyFile: string; certFile: string }): Promise<{ url: string; close(): void }> {
  const create = tls === undefined ? `require('node:http').createServer(` : `require('node:https').createServer({ key: fs.readFileSync(${JSON.stringify(tls.keyFile)}), cert: fs.readFileSync(${JSON.stringify(tls.certFile)}) }, `;
  const script = `
    const fs = require('node:fs');
    const MIB = ${MIB}; const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);
    const server = ${create}(req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MIB * CHUNK.length) });
      let sent = 0;
      const pump = () => { while (sent < MIB) { sent++; if (!res.write(CHUNK)) return void res.once('drain', pump); } res.end(); };
      pump();
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (line: Buffer) => resolve({ url: `${tls === undefined ? 'http://127.0.0.1' : 'https://localhost'}:${line.toString().trim()}`, close: () => child.kill() }));
  });
}

async function timed(name: string, work: () => Promise<string>, baseline?: number): Promise<number> {
  const rss = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const digest = await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const rate = MIB / seconds;
  const grew = (process.memoryUsage().rss - rss) / 1024 / 1024;
  const peak = process.resourceUsage().maxRSS / 1024;
  const ratio = baseline ? `${(rate / baseline).toFixed(2)}x node:crypto` : '';
  console.log(
    `${name.padEnd(44)} ${rate.toFixed(0).padStart(6)} MiB/s  ${ratio.padEnd(16)}  cpu ${((used.user + used.system) / 1e6).toFixed(2)} s  RSS ${grew >= 0 ? '+' : ''}${grew.toFixed(0)} MiB (peak ${peak.toFixed(0)})  (${digest.slice(0, 12)})`,
  );
  return rate;
}

function plainGet(url: string, hash: boolean, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const answered = (res: import('node:http').IncomingMessage) => {
      const sha = createHash('sha256');
      let size = 0;
      res.on('data', (c: Buffer) => (hash ? sha.update(c) : (size += c.length)));
      res.on('end', () => resolve(hash ? sha.digest('hex') : `unhashed ${size}`));
      res.on('error', reject);
    };
    (ca === undefined ? get(url, answered) : httpsGet(url, { ca }, answered)).on('error', reject);
  });
}

/** fetch's web stream, read and hashed chunk by chunk: how downloadAsset read assets before node:http. */
async function fetchGet(url: string): Promise<string> {
  const response = await fetch(url);
  const sha = createHash('sha256');
  for await (const chunk of response.body!) sha.update(chunk);
  return sha.digest('hex');
}

/** TCP reads into one reused 1 MiB buffer, hashed past the head: no HTTP parsing, no allocation per chunk. */
function rawRead(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sha = createHash('sha256');
    let inHead = true;
    let body = 0;
    const socket = connect({
      host: hostname,
      port: Number(port),
      onread: {
        buffer: Buffer.allocUnsafe(1024 * 1024),
        callback: (n: number, buf: Uint8Array) => {
          let from = 0;
          if (inHead) {
            // The server's head arrives in the first read, whole (a few dozen bytes).
            from = Buffer.from(buf.buffer, buf.byteOffset, n).indexOf('\r\n\r\n') + 4;
            inHead = false;
          }
          sha.update(buf.subarray(from, n));
          body += n - from;
          if (body >= TOTAL) {
            socket.destroy();
            resolve(sha.digest('hex'));
          }
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(`GET /raw HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`));
    socket.on('error', reject);
  });
}

function inMemory(): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0; i < MIB; i++) hash.update(CHUNK);
  return Promise.resolve(hash.digest('hex'));
}

/** Set in the re-run of this process that trusts the bench's own certificate. */
const TLS_DIR = process.env.BENCH_TLS_DIR;

/**
 * NODE_EXTRA_CA_CERTS is read when Node starts: this process makes a certificate, then runs
 * itself again with the variable set (the same bench, measured in the child).
 */
async function rerunTrustingOwnCertificate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-bench-tls-'));
  try {
    const { key, cert } = await selfSignedLocalhost();
    writeFileSync(join(dir, 'key.pem'), key);
    writeFileSync(join(dir, 'cert.pem'), cert);
    const child = spawn(process.execPath, [...process.execArgv, __filename], { stdio: 'inherit', env: { ...process.env, BENCH_TLS_DIR: dir, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } });
    process.exitCode = await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(dir: string): Promise<void> {
  const certFile = join(dir, 'cert.pem');
  const server = await serve();
  const tlsServer = await serve({ keyFile: join(dir, 'key.pem'), certFile });
  const ca = readFileSync(certFile, 'utf8');
  const github = new GitHubClient({ baseUrl: server.url });
  const githubTls = new GitHubClient({ baseUrl: tlsServer.url });
  const paths: Array<[string, () => Promise<string>]> = [
    ['plain node:http GET + sha256', () => plainGet(`${server.url}/plain`, true)],
    ['plain fetch GET + sha256', () => fetchGet(`${server.url}/fetch`)],
    ['floor: node:http GET, no hashing', () => plainGet(`${server.url}/plain`, false)],
    ['floor: TCP reads, reused buffer, + sha256', () => rawRead(server.url)],
    ['GitHubClient.downloadAsset', async () => (await github.downloadAsset('o', 'r', 1, { maxBytes: TOTAL })).sha256],
    ['TLS: plain node:https GET + sha256', () => plainGet(`${tlsServer.url}/plain`, true, ca)],
    ['TLS: GitHubClient.downloadAsset', async () => (await githubTls.downloadAsset('o', 'r', 1, { maxBytes: TOTAL })).sha256],
  ];
  const ratios = new Map<string, number[]>(paths.map(([name]) => [name, []]));
  try {
    // One pass unmeasured: a process's first download (JIT, the hashing thread starting, socket
    // buffers growing) is not what a running worker sees.
    for (const [, work] of paths) await work();
    // The machine is shared: each round has a baseline of its own, and the summary shows the spread.
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} of ${ROUNDS}`);
      const crypto = await timed('node:crypto alone (in memory)', inMemory);
      for (const [name, work] of paths) ratios.get(name)!.push((await timed(name, work, crypto)) / crypto);
    }
  } finally {
    server.close();
    tlsServer.close();
  }
  console.log('x node:crypto alone in the same round, min / median / max:');
  for (const [name, values] of ratios) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(`  ${name.padEnd(44)} ${[sorted[0], sorted[Math.floor(sorted.length / 2)], sorted.at(-1)!].map((r) => r.toFixed(2)).join(' / ')}`);
  }
}

(TLS_DIR === undefined ? rerunTrustingOwnCertificate() : main(TLS_DIR)).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
