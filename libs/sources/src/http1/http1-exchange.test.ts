import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TLSSocket, createServer as createTlsServer } from 'node:tls';
import { selfSignedLocalhost } from '../../../../test/support/tls-certificate';
import { SourceError } from '../source.error';
import { type HttpSettings, Watchdog } from '../oci/registry-http';
import { hashDownload, openDownload } from './hashed-download';
import { type Http1BodySink, exchangeHttp1 } from './http1-exchange';

/**
 * exchangeHttp1 and the download on it against servers that write raw bytes: forged and odd
 * answers no node:http server would send, backpressure on the reused read buffer, and TLS (a
 * certificate not trusted is refused; one trusted the way an operator would, through
 * NODE_EXTRA_CA_CERTS, is used with SNI and HTTP/1.1 by ALPN).
 */
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface RawServer {
  readonly host: string;
  /** Sockets the server still holds open. */
  readonly open: Set<Socket>;
  /** What each connection sent, as text. */
  readonly received: string[];
  close(): Promise<void>;
}

/** A TCP server that reads the request head, then lets `answer` write whatever bytes it likes. */
async function rawServer(answer: (socket: Socket) => void): Promise<RawServer> {
  const open = new Set<Socket>();
  const received: string[] = [];
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      received.push(head);
      answer(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    open,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const settings = (host: string, over: Partial<HttpSettings> = {}): HttpSettings => ({
  timeoutMs: 2000,
  deadlineMs: 10_000,
  userAgent: 'provwatch-test',
  insecureHosts: new Set([host]),
  maxRedirects: 3,
  ...over,
});

async function download(server: RawServer, path = '/asset', over: Partial<HttpSettings> = {}) {
  const s = settings(server.host, over);
  return hashDownload(await openDownload({ method: 'GET', url: new URL(`http://${server.host}${path}`), headers: {} }, s, Watchdog.for(s)), 64 * 1024 * 1024, 1024 * 1024);
}

const code = (c: string, message?: RegExp) => (err: unknown) => err instanceof SourceError && err.code === c && (message === undefined || message.test(err.message));

async function eventuallyClosed(server: RawServer): Promise<void> {
  for (let i = 0; i < 100 && server.open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.open.size, 0, 'the client closed the connection');
}

describe('exchangeHttp1: answers written byte by byte', () => {
  let answer: (socket: Socket) => void;
  let server: RawServer;
  before(async () => {
    server = await rawServer((socket) => answer(socket));
  });
  after(() => server.close());

  test('the request: origin-form target, Host, the caller\'s fields, Connection: close', async () => {
    answer = (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const s = settings(server.host);
    const opened = await openDownload({ method: 'GET', url: new URL(`http://${server.host}/a%20b/c?X-Sig=1&y=%2F`), headers: { accept: 'application/octet-stream' } }, s, Watchdog.for(s));
    assert.equal((await hashDownload(opened, 1024, 1024)).bytes?.toString(), 'ok');
    assert.equal(
      server.received.at(-1),
      `GET /a%20b/c?X-Sig=1&y=%2F HTTP/1.1\r\nHost: ${server.host}\r\nuser-agent: provwatch-test\r\naccept-encoding: identity\r\naccept: application/octet-stream\r\nConnection: close\r\n\r\n`,
    );
  });

  test('a header value with CR LF is refused before anything is sent (no request splitting)', async () => {
    const before = server.received.length;
    const s = settings(server.host);
    await assert.rejects(
      openDownload({ method: 'GET', url: new URL(`http://${server.host}/x`), headers: { 'x-token': 'a\r\nX-Injected: 1' } }, s, Watchdog.for(s)),
      code('network-error', /ERR_INVALID_CHAR/),
    );
    assert.equal(server.received.length, before);
  });

  test('head and body in one write, a 100 Continue before the answer, a head cut over many writes', async () => {
    answer = (socket) => socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world');
    assert.equal((await download(server)).sha256, sha('hello world'));
    answer = (socket) => {
      const wire = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
      let at = 0;
      const next = () => (at < wire.length ? socket.write(wire.subarray(at, (at += 3)), () => setTimeout(next, 1)) : socket.end());
      next();
    };
    const asset = await download(server);
    assert.equal(asset.sha256, sha('hello world'));
    assert.equal(asset.size, 11);
  });

  test('a body framed by the close (HTTP/1.0) is all that came before it', async () => {
    answer = (socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the close');
    const asset = await download(server);
    assert.equal(asset.bytes?.toString(), 'until the close');
  });

  test('forged framing is a bad answer, and the connection is closed', async () => {
    for (const wire of [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello, and more\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\nContent-Length: 0\n\n',
    ]) {
      // Held open by the server: only the client can close it.
      answer = (socket) => socket.write(wire);
      await assert.rejects(download(server), code('registry-bad-response', /malformed answer \(/), wire);
      await eventuallyClosed(server);
    }
  });

  test('a head that never ends is refused at 64 KiB, not buffered on', async () => {
    let written = 0;
    answer = (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const more = () => {
        while (!socket.destroyed && written < 64 * 1024 * 1024 && socket.write(`X-Pad: ${'p'.repeat(1000)}\r\n`)) written += 1010;
        if (!socket.destroyed) socket.once('drain', more);
      };
      more();
    };
    await assert.rejects(download(server), code('registry-bad-response', /head too large/));
    await eventuallyClosed(server);
    assert.ok(written < 16 * 1024 * 1024, `the server was stopped early (${written} bytes written)`);
  });

  test('a chunked body cut short at the close is a network error, never a shorter asset', async () => {
    answer = (socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await assert.rejects(download(server), code('network-error', /ECONNRESET/));
    answer = (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello');
    await assert.rejects(download(server), code('network-error', /ECONNRESET/));
    answer = (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Len');
    await assert.rejects(download(server), code('network-error', /ECONNRESET/));
  });

  test('pause holds the socket (the server\'s writes back up); resume reads the rest, byte for byte', async () => {
    const body = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
    let serverBlocked = false;
    answer = (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      serverBlocked = !socket.write(body);
      socket.end();
    };
    const controller = new AbortController();
    const answered = await exchangeHttp1({ method: 'GET', url: new URL(`http://${server.host}/big`), headers: {}, signal: controller.signal });
    assert.equal(answered.contentLength, body.length);
    const hash = createHash('sha256');
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      const sink: Http1BodySink = {
        content: (view) => {
          hash.update(view);
          if (got === 0) answered.body.pause();
          got += view.length;
        },
        end: resolve,
        error: reject,
      };
      answered.body.read(sink);
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(got > 0 && got <= 64 * 1024, `one read at most while paused (${got} bytes)`);
    assert.equal(serverBlocked, true, 'the server could not write it all while the client held off');
    answered.body.resume();
    await done;
    assert.equal(got, body.length);
    assert.equal(hash.digest('hex'), sha(body));
  });
});

describe('exchangeHttp1 over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-tls-'));
  const caFile = join(dir, 'ca.pem');
  let tlsServer: ReturnType<typeof createTlsServer>;
  let port = 0;
  const seen: Array<{ servername: string | false | null; alpn: string | false | null }> = [];
  const BODY = Buffer.from('an asset over TLS\n'.repeat(10_000));

  before(async () => {
    const { key, cert } = await selfSignedLocalhost();
    writeFileSync(caFile, cert);
    tlsServer = createTlsServer({ key, cert, ALPNProtocols: ['h2', 'http/1.1'] }, (socket: TLSSocket) => {
      seen.push({ servername: socket.servername, alpn: socket.alpnProtocol });
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`);
        socket.end(BODY);
      });
    });
    tlsServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    port = (tlsServer.address() as { port: number }).port;
  });
  after(() => {
    tlsServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a certificate the system does not trust is refused with its code; nothing is read', async () => {
    const s = settings('none');
    await assert.rejects(
      openDownload({ method: 'GET', url: new URL(`https://localhost:${port}/asset`), headers: {} }, s, Watchdog.for(s)),
      code('network-error', /SELF_SIGNED_CERT/),
    );
  });

  test('trusted through NODE_EXTRA_CA_CERTS: the digest, SNI for a name and none for an address, HTTP/1.1 by ALPN', async () => {
    seen.length = 0;
    const script = `
      const { hashDownload, openDownload } = require(${JSON.stringify(join(__dirname, 'hashed-download.js'))});
      const { Watchdog } = require(${JSON.stringify(join(__dirname, '..', 'oci', 'registry-http.js'))});
      const s = { timeoutMs: 5000, deadlineMs: 10000, userAgent: 't', insecureHosts: new Set(), maxRedirects: 0 };
      (async () => {
        for (const host of ['localhost', '127.0.0.1']) {
          const opened = await openDownload({ method: 'GET', url: new URL('https://' + host + ':${port}/asset'), headers: {} }, s, Watchdog.for(s));
          const asset = await hashDownload(opened, 1 << 24, 0);
          process.stdout.write(host + ' ' + asset.sha256 + ' ' + asset.size + '\\n');
        }
      })().catch((e) => { process.stdout.write('failed ' + e.code + ' ' + e.message + '\\n'); process.exitCode = 1; });`;
    // A child process: NODE_EXTRA_CA_CERTS is read at start, and this process serves meanwhile.
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
      );
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stdout, `localhost ${sha(BODY)} ${BODY.length}\n127.0.0.1 ${sha(BODY)} ${BODY.length}\n`);
    assert.deepEqual(seen, [
      { servername: 'localhost', alpn: 'http/1.1' },
      { servername: false, alpn: 'http/1.1' },
    ]);
  });
});
