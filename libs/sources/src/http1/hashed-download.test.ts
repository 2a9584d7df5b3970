import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { type TestHttpServer, startHttpServer } from '../../../../test/support/http-server';
import { withAbortSignal } from '../abort-scope';
import { SourceError } from '../source.error';
import { OFFLOAD_FROM_BYTES, type OpenDownload, discardDownload, hashDownload, openDownload, readDownload } from './hashed-download';
import { type HttpSettings, Watchdog } from '../oci/registry-http';

/**
 * The download path against real local node:http servers: an "API" that redirects asset
 * requests to a "storage" host (another port, so another origin), as GitHub does. Both are
 * plain http on loopback, storage listed as insecure the way tests list the GitHub double's.
 */
const TOKEN = 'Bearer ghp_node-download-secret';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SMALL = Buffer.from('a small evidence file\n'.repeat(100));
/** Over the threshold: hashed on the hashing thread. */
const LARGE = Buffer.alloc(OFFLOAD_FROM_BYTES + 3 * 1024 * 1024 + 17);
for (let i = 0; i < LARGE.length; i += 4096) LARGE.writeUInt32BE(i, i);

type Handler = (path: string, res: ServerResponse) => void;
let storageHandler: Handler;
let api: TestHttpServer;
let storage: TestHttpServer;
/** Storage answers not over yet (the client closes each one it gives up on). */
const open = new Set<ServerResponse>();

before(async () => {
  storage = await startHttpServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    storageHandler(req.url ?? '/', res);
  });
  api = await startHttpServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/redirect-to/')) {
      res.writeHead(302, { location: decodeURIComponent(url.slice('/redirect-to/'.length)) }).end('moved');
      return;
    }
    if (url === '/no-location') return void res.writeHead(302).end();
    if (url.startsWith('/loop/')) return void res.writeHead(302, { location: `/loop/${Number(url.slice(6)) + 1}` }).end();
    res.writeHead(302, { location: `${storage.origin}${url}?X-Amz-Signature=secret-presigned` }).end();
  });
});
after(async () => {
  await api.close();
  await storage.close();
});
afterEach(() => {
  api.requests.length = 0;
  storage.requests.length = 0;
});

const settings = (over: Partial<HttpSettings> = {}): HttpSettings => ({
  timeoutMs: 2000,
  deadlineMs: 10_000,
  userAgent: 'provwatch-test',
  insecureHosts: new Set([api.host, storage.host]),
  maxRedirects: 3,
  ...over,
});

function openAsset(path: string, over: Partial<HttpSettings> = {}): Promise<OpenDownload> {
  const s = settings(over);
  return openDownload({ method: 'GET', url: new URL(path, api.origin), headers: { accept: 'application/octet-stream' }, authorization: { origin: api.origin, value: TOKEN } }, s, Watchdog.for(s));
}

async function download(path: string, options: { limit?: number; keepUpTo?: number } & Partial<HttpSettings> = {}) {
  const { limit = 64 * 1024 * 1024, keepUpTo = 0, ...over } = options;
  return hashDownload(await openAsset(path, over), limit, keepUpTo);
}

const code = (c: string, message?: RegExp) => (err: unknown) =>
  err instanceof SourceError && err.code === c && (message === undefined || message.test(err.message)) && !err.message.includes('ghp_') && !err.message.includes('secret-presigned');

/** Sends `body` in pieces, `gapMs` apart, stopping before `stopAt` bytes (never, by default). */
function pieces(res: ServerResponse, body: Buffer, piece: number, gapMs: number, stopAt = Infinity): void {
  let at = 0;
  const next = () => {
    if (res.destroyed) return;
    if (at >= body.length) return void res.end();
    if (at >= stopAt) return; // hangs: the rest never comes
    res.write(body.subarray(at, (at += piece)));
    setTimeout(next, gapMs);
  };
  next();
}

async function eventuallyNoneOpen(): Promise<void> {
  for (let i = 0; i < 100 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(open.size, 0, 'the client closed every storage connection');
}

describe('openDownload / hashDownload on exchangeHttp1', () => {
  test('the redirect to storage is followed without the token; the API host alone sees it', async () => {
    storageHandler = (_path, res) => res.writeHead(200, { 'content-length': String(SMALL.length) }).end(SMALL);
    const asset = await download('/assets/1', { keepUpTo: 1 << 20 });
    assert.equal(asset.sha256, sha(SMALL));
    assert.equal(asset.size, SMALL.length);
    assert.deepEqual(asset.bytes, SMALL);
    assert.equal(api.requests[0].headers.authorization, TOKEN);
    assert.equal(api.requests[0].headers['accept-encoding'], 'identity');
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0].headers.authorization, undefined);
    assert.equal(storage.requests[0].headers['user-agent'], 'provwatch-test');
  });

  test('a redirect back to the API origin carries the token again, a second storage hop does not', async () => {
    storageHandler = (_path, res) => res.writeHead(200).end(SMALL);
    const back = encodeURIComponent(`${api.origin}/assets/2`);
    await download(`/redirect-to/${back}`);
    assert.deepEqual(api.requests.map((r) => r.headers.authorization), [TOKEN, TOKEN]);
    assert.equal(storage.requests[0].headers.authorization, undefined);
  });

  test('a large asset is hashed on the hashing thread: same digest, nothing kept', async () => {
    storageHandler = (_path, res) => res.writeHead(200, { 'content-length': String(LARGE.length) }).end(LARGE);
    const asset = await download('/assets/large', { keepUpTo: 1024 });
    assert.equal(asset.sha256, sha(LARGE));
    assert.equal(asset.size, LARGE.length);
    assert.equal(asset.bytes, undefined);
    // Held evidence may be that large too: kept whole, hashed on the thread all the same.
    const held = await download('/assets/large', { keepUpTo: LARGE.length });
    assert.equal(held.sha256, sha(LARGE));
    assert.deepEqual(held.bytes, LARGE);
  });

  test('several large downloads at once each get their own digest', async () => {
    const bodies = [0, 1, 2].map((n) => Buffer.concat([Buffer.from([n]), LARGE]));
    storageHandler = (path, res) => {
      const body = bodies[Number(/\/assets\/(\d)/.exec(path)![1])];
      res.writeHead(200, { 'content-length': String(body.length) });
      pieces(res, body, 1024 * 1024, 1);
    };
    const got = await Promise.all([0, 1, 2].map((n) => download(`/assets/${n}`)));
    assert.deepEqual(got.map((a) => a.sha256), bodies.map(sha));
  });

  test('a body without Content-Length (chunked) is hashed, and kept only while within keepUpTo', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200);
      pieces(res, LARGE.subarray(0, 300_000), 64 * 1024, 1);
    };
    const kept = await download('/assets/chunked', { keepUpTo: 300_000 });
    assert.equal(kept.sha256, sha(LARGE.subarray(0, 300_000)));
    assert.deepEqual(kept.bytes, LARGE.subarray(0, 300_000));
    const over = await download('/assets/chunked', { keepUpTo: 299_999 });
    assert.equal(over.sha256, kept.sha256);
    assert.equal(over.bytes, undefined);
  });

  test('Content-Length over the limit is refused before the body is read', async () => {
    storageHandler = (_path, res) => res.writeHead(200, { 'content-length': String(LARGE.length) }).end(LARGE);
    await assert.rejects(download('/assets/too-large', { limit: 1024 * 1024 }), code('registry-too-large'));
    await eventuallyNoneOpen();
  });

  test('a body that runs past the limit without announcing it is cut off mid-way', async () => {
    let sent = 0;
    storageHandler = (_path, res) => {
      res.writeHead(200);
      // Endless: only the client's limit can end it.
      const more = () => {
        while (!res.destroyed && res.write(Buffer.alloc(64 * 1024))) sent += 64 * 1024;
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    };
    await assert.rejects(download('/assets/endless', { limit: 2 * 1024 * 1024 }), code('registry-too-large'));
    await eventuallyNoneOpen();
    assert.ok(sent < 64 * 1024 * 1024, 'the server was stopped, not read to the end');
  });

  test('a body longer than its Content-Length: only the announced bytes are hashed (hashing thread)', async () => {
    storageHandler = (_path, res) => {
      // Threat: bytes past the announced end slipped into the digest. The parser ends the body at its length.
      res.writeHead(200, { 'content-length': String(LARGE.length) });
      res.end(Buffer.concat([LARGE, Buffer.alloc(1024 * 1024)]));
    };
    const asset = await download('/assets/longer');
    assert.equal(asset.size, LARGE.length);
    assert.equal(asset.sha256, sha(LARGE));
  });

  test('a trickled body ends at the download deadline though every byte is inside the idle timeout', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200, { 'content-length': String(SMALL.length) });
      pieces(res, SMALL, 1, 50, SMALL.length - 1);
    };
    await assert.rejects(download('/assets/trickle', { timeoutMs: 500, deadlineMs: 1000 }), code('registry-timeout', /no complete answer within 1 s/));
    await eventuallyNoneOpen();
  });

  test('the deadline also ends a large download on the hashing thread', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200, { 'content-length': String(LARGE.length) });
      pieces(res, LARGE, 256 * 1024, 40);
    };
    await assert.rejects(download('/assets/slow-large', { timeoutMs: 500, deadlineMs: 1000 }), code('registry-timeout', /no complete answer within 1 s/));
    await eventuallyNoneOpen();
  });

  test('a body that stops half-way ends at the idle timeout', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200, { 'content-length': String(SMALL.length) });
      res.write(SMALL.subarray(0, 100));
    };
    await assert.rejects(download('/assets/stall', { timeoutMs: 300 }), code('registry-timeout', /no answer in time/));
    await eventuallyNoneOpen();
  });

  test('the enclosing job\'s abort (withAbortSignal) stops a download in flight', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200, { 'content-length': String(SMALL.length) });
      pieces(res, SMALL, 1, 50, SMALL.length - 1);
    };
    const job = new AbortController();
    setTimeout(() => job.abort(), 200);
    await assert.rejects(withAbortSignal(job.signal, () => download('/assets/aborted', { timeoutMs: 5000, deadlineMs: 60_000 })), code('registry-timeout', /verification ran out of time/));
    await eventuallyNoneOpen();
  });

  test('a body cut short by the server is a network error, not a shorter asset', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(200, { 'content-length': String(SMALL.length) });
      res.write(SMALL.subarray(0, 100), () => res.destroy());
    };
    await assert.rejects(download('/assets/cut'), code('network-error'));
  });

  test('redirects: plain http to a host not listed insecure, too many, no Location, credentials in the URL', async () => {
    storageHandler = (_path, res) => res.writeHead(200).end(SMALL);
    await assert.rejects(download('/assets/1', { insecureHosts: new Set([api.host]) }), code('registry-redirect-refused'));
    assert.equal(storage.requests.length, 0, 'nothing was sent to the refused host');
    await assert.rejects(download('/loop/0'), code('registry-redirect-refused', /more than 3 redirects/));
    assert.equal(api.requests.filter((r) => r.url.startsWith('/loop/')).length, 4, 'the first hop and three redirects, no more');
    await assert.rejects(download('/no-location'), code('registry-bad-response'));
    await assert.rejects(download(`/redirect-to/${encodeURIComponent(`http://user:pw@${storage.host}/assets/1`)}`), code('registry-redirect-refused'));
    assert.equal(storage.requests.length, 0);
  });

  test('no server is a network error naming only the system code; each final status is told once', async () => {
    const outcomes: Array<number | string> = [];
    const gone = await startHttpServer(() => undefined);
    const host = gone.host;
    await gone.close();
    await assert.rejects(openDownload({ method: 'GET', url: new URL(`http://${host}/x`), headers: {} }, settings({ insecureHosts: new Set([host]), onOutcome: (o) => outcomes.push(o) }), new Watchdog(2000)), code('network-error', /ECONNREFUSED$/));
    storageHandler = (_path, res) => res.writeHead(404).end('not here');
    const opened = await openAsset('/assets/missing', { onOutcome: (o) => outcomes.push(o) });
    assert.equal(opened.status, 404);
    assert.equal((await readDownload(opened, 1024)).toString(), 'not here');
    assert.deepEqual(outcomes, ['network', 404]);
  });

  test('an answer not wanted is discarded: connection closed, no timer left to fire', async () => {
    storageHandler = (_path, res) => {
      res.writeHead(503, { 'retry-after': '7' });
      res.write('down');
    };
    const opened = await openAsset('/assets/unavailable', { timeoutMs: 100 });
    assert.equal(opened.headers.get('retry-after'), '7');
    discardDownload(opened);
    await eventuallyNoneOpen();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(opened.watchdog.fired, false);
  });
});
