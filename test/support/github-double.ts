import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the GitHub REST API (github.com cannot be reached here): releases with
 * pagination, strong ETags and 304s that cost no rate limit, rate-limit headers, asset downloads
 * that redirect to a second "storage" server (another host for the client), and the attestations
 * API. Tests script faults and changes, and read what was requested.
 */
export interface DoubleAsset {
  id: number;
  name: string;
  bytes: Buffer;
  updatedAt: string;
  contentType?: string;
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
}

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
  /** `owner/repo` -> tag -> where it points now, over what the releases' `commit` says (a moved tag). */
  readonly tags = new Map<string, Map<string, DoubleTag>>();
  rateLimit = { limit: 5000, remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600 };
  private fault: Fault | undefined;
  /** Faults by API path (regexp on the path without query); first match applies. */
  /** `times`: the fault answers that many requests, then the path behaves again (default: forever). */
  readonly pathFaults: Array<{ path: RegExp; fault: PathFault; retryAfterSeconds?: number; times?: number }> = [];
  /** GitHub's asset `digest` field ("sha256:..."), sent unless a test turns it off. */
  sendDigests = true;
  /** Answers API requests this much later (a slow GitHub; a run that is in flight for a while). */
  delayMs = 0;
  private hanging: ServerResponse[] = [];

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

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
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
    if (m) {
      const releases = this.repos.get(`${m[1]}/${m[2]}`);
      if (!releases) return this.charge(), send(404, { message: 'Not Found' });
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
      const page = Number(url.searchParams.get('page') ?? 1);
      const sorted = [...releases].sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
      const body = JSON.stringify(sorted.slice((page - 1) * perPage, page * perPage).map((r) => this.releaseJson(m![1], m![2], r)));
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      // Conditional requests answered 304 do not count against the rate limit, as on GitHub.
      if (req.headers['if-none-match'] === etag) return send(304, undefined, { etag });
      this.charge();
      const headers: Record<string, string> = { etag };
      if (page * perPage < sorted.length) headers.link = `<${this.url}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
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
      return send(200, { attestations: list.map((bundle) => ({ bundle, repository_id: 1 })) });
    }
    return send(404, { message: 'Not Found' });
  }

  private handleStorage(req: IncomingMessage, res: ServerResponse): void {
    const m = /^\/assets\/(\d+)/.exec(req.url ?? '');
    const asset = m ? [...this.repos.values()].flat().flatMap((r) => r.assets).find((a) => a.id === Number(m[1])) : undefined;
    this.record('storage', req, asset ? 200 : 404);
    if (!asset) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(asset.bytes.length) });
    res.end(asset.bytes);
  }

  private charge(): void {
    this.rateLimit.remaining = Math.max(0, this.rateLimit.remaining - 1);
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(this.rateLimit.limit),
      'x-ratelimit-remaining': String(this.rateLimit.remaining),
      'x-ratelimit-reset': String(this.rateLimit.reset),
    };
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
      published_at: r.publishedAt,
      assets: r.assets.map((a) => ({
        id: a.id,
        name: a.name,
        size: a.bytes.length,
        content_type: a.contentType ?? 'application/octet-stream',
        updated_at: a.updatedAt,
        ...(this.sendDigests ? { digest: `sha256:${createHash('sha256').update(a.bytes).digest('hex')}` } : {}),
        url: `${this.url}/repos/${owner}/${repo}/releases/assets/${a.id}`,
        browser_download_url: `https://github.com/${owner}/${repo}/releases/download/${r.tag}/${a.name}`,
      })),
    };
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}
