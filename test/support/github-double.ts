import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the GitHub REST API (github.com cannot be reached here): releases with
 * pagination, strong ETags and 304s that cost no rate limit, rate-limit headers, asset downloads
 * that redirect to a second "storage" server (another host for the client), and the attestations
 * API. Tests script faults and changes, and read what was requested.
 *
 * Shapes follow GitHub's REST description and recorded traffic: release pages after the first
 * are linked by repository id (`/repositories/<id>/releases?page=N`, with `next` and `last`),
 * attestation pages by an opaque `after` cursor, attestation items carry the bundle inline and a
 * `bundle_url` on blob storage (API 2022-11-28) or only the `bundle_url` (API 2026-03-10), and
 * releases carry `immutable`.
 */
export interface DoubleAsset {
  id: number;
  name: string;
  bytes: Buffer;
  updatedAt: string;
  contentType?: string;
  /**
   * A storage host that trickles this asset: headers (with the full length) at once, then one
   * byte every `trickleMs`, never the whole body. Each byte comes well inside any idle timeout.
   */
  trickleMs?: number;
  /** The `digest` the release listing gives, when it is not the bytes' own (storage serving other bytes). */
  listedDigest?: string;
}

export interface DoubleRelease {
  id: number;
  tag: string;
  draft?: boolean;
  prerelease?: boolean;
  publishedAt: string;
  assets: DoubleAsset[];
  /** The commit the release's tag points at (`git/ref/tags/<tag>`); without it the tag is unknown (404). */
  commit?: string;
  /** GitHub's `immutable` flag; sent as false unless set, as GitHub does for ordinary releases. */
  immutable?: boolean;
}

/**
 * How attestation items carry their bundle: `both` (inline and `bundle_url`, API 2022-11-28 until
 * mid 2026), `url-only` (`bundle: null` and a `bundle_url`: API 2026-03-10, chosen by that request
 * header too, and what github.com answers for 2022-11-28 as well since July 2026), `inline`.
 */
export type AttestationShape = 'both' | 'url-only' | 'inline';

/** A tag as `git/ref/tags/<tag>` answers it: a lightweight tag names the commit, an annotated one a tag object. */
export interface DoubleTag {
  commit: string;
  /** The annotated tag object's sha, peeled through `git/tags/<sha>` to the commit. */
  annotatedSha?: string;
}

export type Fault = 'error-500' | 'rate-limited' | 'invalid-json' | 'hang';

/**
 * A fault on the API requests whose path matches: garbage instead of JSON, a 429 with no
 * Retry-After (as GitHub's secondary limit sometimes answers), an asset redirect to a host the
 * client must refuse (plain http elsewhere), a 500.
 */
export type PathFault =
  | 'invalid-json'
  | 'rate-limited-no-retry-after'
  /** A 429 with `Retry-After: <retryAfterSeconds>` (default 60). */
  | 'rate-limited-retry-after'
  /** GitHub's secondary limit as a 403 whose only sign is its message (no Retry-After, requests left). */
  | 'secondary-rate-limit-403'
  | 'redirect-refused'
  | 'error-500';

export interface RecordedRequest {
  server: 'api' | 'storage';
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  /** When the double answered it (Date.now()). */
  at: number;
}

export class GitHubDouble {
  readonly requests: RecordedRequest[] = [];
  readonly repos = new Map<string, DoubleRelease[]>();
  readonly attestations = new Map<string, object[]>();
  attestationShape: AttestationShape = 'both';
  /** How the storage host serves a `bundle_url` bundle: snappy-compressed JSON (GitHub's) or plain JSON. */
  bundleEncoding: 'snappy' | 'json' = 'snappy';
  /** Bundles served at a `bundle_url` instead of the listed one (a forged or swapped blob). */
  readonly bundleOverrides = new Map<string, object>();
  /** Serves each `bundle_url` bundle this much later (slow blob storage). */
  bundleDelayMs = 0;
  /** Attestation items per page when the request names no `per_page` (GitHub's default is 30). */
  attestationsPerPage = 30;
  /** The most items a page holds whatever `per_page` asks (GitHub's is 100). */
  attestationsMaxPerPage = 100;
  /** The same for release pages (lowered by tests to spread few releases over several pages). */
  releasesMaxPerPage = 100;
  /** `owner/repo` -> tag -> where it points now, over what the releases' `commit` says (a moved tag). */
  readonly tags = new Map<string, Map<string, DoubleTag>>();
  rateLimit = { limit: 5000, remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600 };
  private fault: Fault | undefined;
  /** Faults by API path (regexp on the path without query); first match applies. */
  /** `times`: the fault answers that many requests, then the path behaves again (default: forever). */
  readonly pathFaults: Array<{ path: RegExp; fault: PathFault; retryAfterSeconds?: number; times?: number }> = [];
  /** GitHub's asset `digest` field ("sha256:..."), sent unless a test turns it off. */
  sendDigests = true;
  /** Releases' `immutable` field, sent unless a test turns it off (GitHub Enterprise Server before it existed). */
  sendImmutable = true;
  /** Answers API requests this much later (a slow GitHub; a run that is in flight for a while). */
  delayMs = 0;
  private hanging: ServerResponse[] = [];
  /** GitHub's numeric repository ids, assigned on first use: later release pages are linked by them. */
  private readonly repoIds = new Map<string, number>();
  /** Trickled downloads in progress, and how many ended because the client hung up. */
  readonly trickles = { open: 0, closedByClient: 0 };
  /** Digests by Buffer: many assets may share one large Buffer, hashed once, not on every listing. */
  private readonly digests = new WeakMap<Buffer, string>();
  /** Asset downloads held by `holdAssets()`, answered by `releaseAssets()`. */
  private held: Array<{ res: ServerResponse; answer: () => void }> | undefined;
  /** Asset downloads that were held, over the double's life (a download that hung mid-way). */
  heldDownloads = 0;

  private constructor(
    private readonly api: Server,
    private readonly storage: Server,
  ) {}

  static async start(): Promise<GitHubDouble> {
    let double!: GitHubDouble;
    const api = createServer((req, res) => double.handleApi(req, res));
    const storage = createServer((req, res) => double.handleStorage(req, res));
    double = new GitHubDouble(api, storage);
    await Promise.all([listen(api), listen(storage)]);
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.api.address() as AddressInfo).port}`;
  }

  get storageHost(): string {
    return `127.0.0.1:${(this.storage.address() as AddressInfo).port}`;
  }

  setFault(fault: Fault | undefined): void {
    this.fault = fault;
  }

  /**
   * From now on asset downloads (the storage server) get no answer until `releaseAssets()`: a
   * verification stays in flight, mid-way, for as long as the test wants.
   */
  holdAssets(): void {
    this.held ??= [];
  }

  /** Answers the held downloads (a client that went away meanwhile gets nothing) and stops holding. */
  releaseAssets(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { res, answer } of held) if (!res.destroyed) answer();
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const { res } of this.held ?? []) res.destroy();
    this.held = undefined;
    this.api.closeAllConnections();
    this.storage.closeAllConnections();
    await Promise.all([new Promise((r) => this.api.close(r)), new Promise((r) => this.storage.close(r))]);
  }

  private record(server: 'api' | 'storage', req: IncomingMessage, status: number): void {
    this.requests.push({ server, method: req.method ?? 'GET', path: req.url ?? '', headers: { ...req.headers }, status, at: Date.now() });
  }

  private handleApi(req: IncomingMessage, res: ServerResponse): void {
    if (this.delayMs > 0) {
      setTimeout(() => this.answerApi(req, res), this.delayMs);
      return;
    }
    this.answerApi(req, res);
  }

  private answerApi(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      this.record('api', req, status);
      res.writeHead(status, { 'content-type': 'application/json', ...this.rateHeaders(), ...headers });
      res.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (this.fault === 'hang') {
      this.record('api', req, 0);
      this.hanging.push(res);
      return;
    }
    if (this.fault === 'error-500') return send(500, { message: 'Server Error' });
    if (this.fault === 'rate-limited' || this.rateLimit.remaining <= 0) {
      this.rateLimit.remaining = 0;
      return send(403, { message: 'API rate limit exceeded' }, { 'retry-after': '60' });
    }
    if (this.fault === 'invalid-json') return send(200, '{"not": json');
    const matched = this.pathFaults.find((f) => f.path.test(url.pathname) && (f.times === undefined || f.times > 0));
    if (matched?.times !== undefined) matched.times -= 1;
    const pathFault = matched?.fault;
    if (pathFault === 'rate-limited-retry-after') {
      return send(429, { message: 'You have exceeded a secondary rate limit.' }, { 'retry-after': String(matched?.retryAfterSeconds ?? 60), 'x-ratelimit-resource': 'core' });
    }
    if (pathFault === 'secondary-rate-limit-403') return send(403, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' });
    if (pathFault === 'invalid-json') return this.charge(), send(200, '{"not": json');
    if (pathFault === 'error-500') return send(500, { message: 'Server Error' });
    if (pathFault === 'rate-limited-no-retry-after') return send(429, { message: 'You have exceeded a secondary rate limit.' });
    if (pathFault === 'redirect-refused') {
      // 127.0.0.2 is not an insecure host of the client: plain http there must be refused.
      return this.charge(), send(302, '', { location: `http://127.0.0.2:${(this.storage.address() as AddressInfo).port}/assets/1` });
    }

    let m = /^\/repos\/([^/]+)\/([^/]+)\/releases$/.exec(url.pathname);
    const byId = /^\/repositories\/(\d+)\/releases$/.exec(url.pathname);
    if (m || byId) {
      const repo = m ? `${m[1]}/${m[2]}` : [...this.repoIds].find(([, id]) => id === Number(byId![1]))?.[0];
      const releases = repo ? this.repos.get(repo) : undefined;
      if (!repo || !releases) return this.charge(), send(404, { message: 'Not Found' });
      const [owner, name] = repo.split('/');
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.releasesMaxPerPage);
      const page = Number(url.searchParams.get('page') ?? 1);
      const sorted = [...releases].sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
      const body = JSON.stringify(sorted.slice((page - 1) * perPage, page * perPage).map((r) => this.releaseJson(owner, name, r)));
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      // Conditional requests answered 304 do not count against the rate limit, as on GitHub.
      if (req.headers['if-none-match'] === etag) return send(304, undefined, { etag });
      this.charge();
      const headers: Record<string, string> = { etag };
      // As GitHub links them: by repository id, not owner/name, with prev/first and next/last.
      const last = Math.max(1, Math.ceil(sorted.length / perPage));
      const pageUrl = (n: number) => `<${this.url}/repositories/${this.repoId(repo)}/releases?per_page=${perPage}&page=${n}>`;
      // In GitHub's order (recorded traffic): prev, next, last, first.
      const links = [
        ...(page > 1 ? [`${pageUrl(page - 1)}; rel="prev"`] : []),
        ...(page < last ? [`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`] : []),
        ...(page > 1 ? [`${pageUrl(1)}; rel="first"`] : []),
      ];
      if (links.length > 0) headers.link = links.join(', ');
      return send(200, body, headers);
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/.exec(url.pathname);
    if (m) {
      this.charge();
      const release = (this.repos.get(`${m[1]}/${m[2]}`) ?? []).find((r) => r.id === Number(m![3]));
      if (!release) return send(404, { message: 'Not Found' });
      return send(200, this.releaseJson(m[1], m[2], release));
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/releases\/assets\/(\d+)$/.exec(url.pathname);
    if (m) {
      this.charge();
      const asset = this.findAsset(`${m[1]}/${m[2]}`, Number(m[3]));
      if (!asset) return send(404, { message: 'Not Found' });
      return send(302, '', { location: `http://${this.storageHost}/assets/${asset.id}?X-Amz-Signature=secret-presigned` });
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/git\/ref\/tags\/(.+)$/.exec(url.pathname);
    if (m) {
      const repo = `${m[1]}/${m[2]}`;
      const tag = m[3].split('/').map(decodeURIComponent).join('/');
      const releaseCommit = (this.repos.get(repo) ?? []).find((r) => r.tag === tag)?.commit;
      const found: DoubleTag | undefined = this.tags.get(repo)?.get(tag) ?? (releaseCommit ? { commit: releaseCommit } : undefined);
      if (!found) return this.charge(), send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/git/refs#get-a-reference', status: '404' });
      const object = found.annotatedSha ? { sha: found.annotatedSha, type: 'tag', url: `${this.url}/repos/${repo}/git/tags/${found.annotatedSha}` } : { sha: found.commit, type: 'commit', url: `${this.url}/repos/${repo}/git/commits/${found.commit}` };
      const body = JSON.stringify({ ref: `refs/tags/${tag}`, node_id: 'REF_kwDOAAAB', url: `${this.url}${url.pathname}`, object });
      // GitHub answers refs with weak ETags; sent back as received, an unchanged ref is a free 304.
      const etag = `W/"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      if (req.headers['if-none-match'] === etag) return send(304, undefined, { etag });
      this.charge();
      return send(200, body, { etag });
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/git\/tags\/([0-9a-f]{40})$/.exec(url.pathname);
    if (m) {
      this.charge();
      const repo = `${m[1]}/${m[2]}`;
      const entry = [...(this.tags.get(repo) ?? new Map<string, DoubleTag>())].find(([, t]) => t.annotatedSha === m![3]);
      if (!entry) return send(404, { message: 'Not Found' });
      return send(200, { node_id: 'TAG_kwDOAAAB', sha: m[3], tag: entry[0], message: entry[0], object: { sha: entry[1].commit, type: 'commit' } });
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/attestations\/sha256:([0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      this.charge();
      const list = this.attestations.get(m[3]);
      if (!list) return send(404, { message: 'Not Found' });
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? this.attestationsPerPage), this.attestationsMaxPerPage);
      const after = url.searchParams.get('after');
      const start = after === null ? 0 : Number(Buffer.from(after, 'base64url').toString('utf8').replace(/^idx:/, ''));
      if (!Number.isSafeInteger(start) || start < 0) return send(400, { message: 'Invalid cursor' });
      const shape: AttestationShape = req.headers['x-github-api-version'] === '2026-03-10' ? 'url-only' : this.attestationShape;
      const items = list.slice(start, start + perPage).map((bundle, i) => {
        const bundleUrl = `http://${this.storageHost}/attestation-bundles/${m![3]}/${start + i}?se=2099-01-01&sig=secret-presigned`;
        // GitHub answers `bundle: null` when the bundle lives only at its bundle_url.
        return { bundle: shape === 'url-only' ? null : bundle, repository_id: this.repoId(`${m![1]}/${m![2]}`), ...(shape === 'inline' ? {} : { bundle_url: bundleUrl }) };
      });
      const headers: Record<string, string> = {};
      if (start + perPage < list.length) {
        // An opaque cursor, as GitHub's: the client must follow the link, not build the next page.
        const cursor = Buffer.from(`idx:${start + perPage}`).toString('base64url');
        headers.link = `<${this.url}${url.pathname}?per_page=${perPage}&after=${cursor}>; rel="next"`;
      }
      return send(200, { attestations: items }, headers);
    }
    return send(404, { message: 'Not Found' });
  }

  private handleStorage(req: IncomingMessage, res: ServerResponse): void {
    const b = /^\/attestation-bundles\/([0-9a-f]{64})\/(\d+)/.exec(req.url ?? '');
    if (b) {
      const bundle = this.bundleOverrides.get(`${b[1]}/${b[2]}`) ?? this.attestations.get(b[1])?.[Number(b[2])];
      this.record('storage', req, bundle ? 200 : 404);
      if (!bundle) {
        res.writeHead(404).end();
        return;
      }
      const json = Buffer.from(JSON.stringify(bundle));
      const body = this.bundleEncoding === 'snappy' ? snappyLiterals(json) : json;
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': this.bundleEncoding === 'snappy' ? 'application/x-snappy' : 'application/json', 'content-length': String(body.length) });
        res.end(body);
      };
      if (this.bundleDelayMs > 0) setTimeout(answer, this.bundleDelayMs);
      else answer();
      return;
    }
    if (this.held) {
      this.heldDownloads++;
      this.held.push({ res, answer: () => this.handleStorage(req, res) });
      return;
    }
    const m = /^\/assets\/(\d+)/.exec(req.url ?? '');
    const asset = m ? [...this.repos.values()].flat().flatMap((r) => r.assets).find((a) => a.id === Number(m[1])) : undefined;
    this.record('storage', req, asset ? 200 : 404);
    if (!asset) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(asset.bytes.length) });
    if (asset.trickleMs !== undefined) return this.trickle(asset, res);
    res.end(asset.bytes);
  }

  private trickle(asset: DoubleAsset, res: ServerResponse): void {
    this.trickles.open++;
    let sent = 0;
    // Never the last byte: the download can only end by the client giving up.
    const timer = setInterval(() => {
      if (sent < asset.bytes.length - 1) res.write(asset.bytes.subarray(sent, ++sent));
    }, asset.trickleMs);
    this.hanging.push(res);
    res.on('close', () => {
      clearInterval(timer);
      this.trickles.open--;
      if (!res.writableEnded) this.trickles.closedByClient++;
    });
  }

  private digestOf(bytes: Buffer): string {
    let digest = this.digests.get(bytes);
    if (digest === undefined) {
      digest = createHash('sha256').update(bytes).digest('hex');
      this.digests.set(bytes, digest);
    }
    return digest;
  }

  private charge(): void {
    this.rateLimit.remaining = Math.max(0, this.rateLimit.remaining - 1);
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(this.rateLimit.limit),
      'x-ratelimit-remaining': String(this.rateLimit.remaining),
      'x-ratelimit-reset': String(this.rateLimit.reset),
      'x-ratelimit-resource': 'core',
    };
  }

  /** GitHub's numeric id of a repository (stable for the double's life). */
  repoId(repo: string): number {
    if (!this.repoIds.has(repo)) this.repoIds.set(repo, 700_000_000 + this.repoIds.size + 1);
    return this.repoIds.get(repo)!;
  }

  private findAsset(repo: string, id: number): DoubleAsset | undefined {
    return (this.repos.get(repo) ?? []).flatMap((r) => r.assets).find((a) => a.id === id);
  }

  private releaseJson(owner: string, repo: string, r: DoubleRelease) {
    return {
      id: r.id,
      tag_name: r.tag,
      name: r.tag,
      draft: r.draft ?? false,
      prerelease: r.prerelease ?? false,
      ...(this.sendImmutable ? { immutable: r.immutable ?? false } : {}),
      published_at: r.publishedAt,
      assets: r.assets.map((a) => ({
        id: a.id,
        name: a.name,
        size: a.bytes.length,
        content_type: a.contentType ?? 'application/octet-stream',
        updated_at: a.updatedAt,
        ...(this.sendDigests ? { digest: a.listedDigest ?? `sha256:${this.digestOf(a.bytes)}` } : {}),
        url: `${this.url}/repos/${owner}/${repo}/releases/assets/${a.id}`,
        browser_download_url: `https://github.com/${owner}/${repo}/releases/download/${r.tag}/${a.name}`,
      })),
    };
  }
}

/** Snappy's block format with literals only: valid for any decoder, no compression needed here. */
function snappyLiterals(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let n = data.length;
  const varint: number[] = [];
  do {
    varint.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  parts.push(Buffer.from(varint));
  for (let at = 0; at < data.length; at += 65_536) {
    const chunk = data.subarray(at, at + 65_536);
    const header = Buffer.alloc(3);
    header[0] = 61 << 2; // literal, its length-1 in the next two bytes
    header.writeUInt16LE(chunk.length - 1, 1);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}
