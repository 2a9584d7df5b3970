// A local stand-in for Rekor v1's search and entry API, serving entries the test signing kit
// logged, so legacy evidence (cosign .pem/.sig, generator <= v2.0.0 envelopes) can be verified
// end to end offline. It can misbehave on purpose: outages must read as `error`, never `pass`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RekorApiEntry } from '../kit/signing-kit';
import { type TestHttpServer, startHttpServer } from './http-server';

/**
 * How the double misbehaves: `500` answers every request with 500; `hang` accepts and never
 * answers; `junk` answers 200 with a body that is not JSON; `redirect` answers 302 to a URL that
 * would answer correctly, so a client that follows redirects would be caught passing;
 * `oversized` answers 200 with a JSON array far larger than any real answer.
 */
export type RekorFault = 'none' | '500' | 'hang' | 'junk' | 'redirect' | 'oversized';

/** Which endpoint misbehaves: the search, the entry fetch, or both. */
export type RekorEndpoint = 'search' | 'entry' | 'all';

export class RekorDouble {
  /** hex sha256 -> entry ids, in the order added (Rekor returns entries of every signer of a digest) */
  private readonly index = new Map<string, string[]>();
  private readonly entries = new Map<string, RekorApiEntry[string]>();
  private fault: { mode: RekorFault; on: RekorEndpoint } = { mode: 'none', on: 'all' };
  /** Extra ids returned by every search, whether or not they resolve (for limit tests). */
  extraSearchResults: string[] = [];
  /**
   * Rewrites every entry as served, to play a hostile log (an inclusion proof of the wrong
   * shape, wrong types, huge numbers) without touching what was added.
   */
  hostileEntry?: (entry: RekorApiEntry[string]) => unknown;
  /** Search bodies received, parsed, to check what clients ask for. */
  readonly searches: unknown[] = [];

  private constructor(private readonly server: TestHttpServer) {}

  static async start(): Promise<RekorDouble> {
    let self: RekorDouble | undefined;
    const server = await startHttpServer((req, res) => self!.handle(req, res));
    self = new RekorDouble(server);
    return self;
  }

  /** Base URL to pass as --rekor-url / RekorClient baseUrl. */
  get url(): string {
    return this.server.origin;
  }

  get requests() {
    return this.server.requests;
  }

  /**
   * Serves `entry` (the kit's `rekorApiEntry()`) and lists it in searches for each artifact digest
   * given: the double cannot derive them, since intoto bodies carry no subject digests.
   */
  add(entry: RekorApiEntry, ...sha256Hex: string[]): this {
    for (const [id, value] of Object.entries(entry)) {
      this.entries.set(id, value);
      for (const digest of sha256Hex) this.index.set(digest, [...(this.index.get(digest) ?? []), id]);
    }
    return this;
  }

  misbehave(mode: RekorFault, on: RekorEndpoint = 'all'): this {
    this.fault = { mode, on };
    return this;
  }

  reset(): this {
    this.index.clear();
    this.entries.clear();
    this.extraSearchResults = [];
    this.hostileEntry = undefined;
    this.searches.length = 0;
    this.requests.length = 0;
    return this.misbehave('none');
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    // Redirect targets carry this prefix and are served without the fault.
    const followed = url.pathname.startsWith(FOLLOWED);
    if (followed) url.pathname = url.pathname.slice(FOLLOWED.length);
    const endpoint: RekorEndpoint | undefined =
      req.method === 'POST' && url.pathname === '/api/v1/index/retrieve'
        ? 'search'
        : req.method === 'GET' && url.pathname.startsWith('/api/v1/log/entries/')
          ? 'entry'
          : undefined;
    const { mode, on } = this.fault;
    if (endpoint && !followed && mode !== 'none' && (on === 'all' || on === endpoint)) {
      // Drain the request body first, so the client sees our answer and not a reset socket.
      req.resume();
      req.on('end', () => this.misbehaveOn(req, res, mode));
      return;
    }
    if (endpoint === 'search') return this.search(req, res);
    if (endpoint === 'entry') return this.entry(decodeURIComponent(url.pathname.slice('/api/v1/log/entries/'.length)), res);
    json(res, 404, { code: 404, message: 'not found' });
  }

  private misbehaveOn(req: IncomingMessage, res: ServerResponse, mode: RekorFault): void {
    switch (mode) {
      case '500':
        return json(res, 500, { code: 500, message: 'internal error' });
      case 'hang':
        return; // never answer; the server's close() cuts the socket
      case 'junk':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>upstream proxy error</html>');
        return;
      case 'redirect': {
        // 307 keeps the method and body; the target answers correctly, so following it would pass.
        res.writeHead(307, { location: `${this.url}${FOLLOWED}${req.url}` });
        res.end();
        return;
      }
      case 'oversized':
        // 6 MiB of valid JSON: only a size limit stops a client from buffering it all.
        json(res, 200, Array.from({ length: 80_000 }, () => 'f'.repeat(80)));
        return;
      default:
        json(res, 500, { message: `unknown fault ${String(mode)}` });
    }
  }

  private search(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { hash?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { code: 400, message: 'invalid JSON' });
      }
      this.searches.push(body);
      // Rekor's own validation: sha256:<64 hex>, lower case.
      const match = typeof body.hash === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(body.hash) : null;
      if (!match) return json(res, 422, { code: 422, message: 'invalid hash' });
      json(res, 200, [...(this.index.get(match[1]) ?? []), ...this.extraSearchResults]);
    });
  }

  private entry(id: string, res: ServerResponse): void {
    // Rekor accepts either the 64-hex uuid or the 80-hex entry id (tree id + uuid).
    const key = this.entries.has(id) ? id : id.length === 64 ? [...this.entries.keys()].find((k) => k.endsWith(id)) : undefined;
    if (key === undefined) return json(res, 404, { code: 404, message: 'entry not found' });
    const entry = this.entries.get(key)!;
    json(res, 200, { [key]: this.hostileEntry ? this.hostileEntry(structuredClone(entry)) : entry });
  }
}

const FOLLOWED = '/followed-redirect';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
