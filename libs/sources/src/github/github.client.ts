import { type HopRequest, type HttpSettings, type OpenResponse, Watchdog, discard, nextLink, openRequest, readBody } from '../oci/registry-http';
import { type OpenDownload, discardDownload, hashDownload, openDownload, readDownload } from '../http1/hashed-download';
import { type UpstreamAnswer, UpstreamBackoff, UpstreamBackoffPolicy } from '../backoff/upstream-backoff';
import { SourceError } from '../source.error';
import { snappyUncompress } from './snappy';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
/** Overall deadline of one request (an asset download) when none is configured. */
export const DEFAULT_DOWNLOAD_DEADLINE_MS = 300_000;

export interface GitHubClientOptions {
  /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise, or a local double. */
  baseUrl?: string;
  /** Sent only to the API host; never to asset storage hosts, never logged. */
  token?: string;
  /** Idle timeout: no answer, or no new chunk of an asset, for this long (default 30 s). */
  timeoutMs?: number;
  /**
   * Overall deadline of one request, an asset download included (default 300 s). The idle
   * timeout alone is re-armed by every chunk: a storage host trickling a byte every few seconds
   * would hold a verify slot forever.
   */
  downloadDeadlineMs?: number;
  maxJsonBytes?: number;
  maxPages?: number;
  /** Largest attestation bundle read from a `bundle_url` (after decompression). */
  maxBundleBytes?: number;
  userAgent?: string;
  /** Extra `host:port` allowed over plain http (the API host is when baseUrl is http). Tests only. */
  insecureHosts?: string[];
  /** Told the status of every request (metrics). */
  onOutcome?: HttpSettings['onOutcome'];
  /**
   * The API host's shared back-off: consulted before every request (a held host is sent
   * nothing), told of every rate limit and outage answer. Without it, waits are only reported.
   */
  backoff?: UpstreamBackoff;
}

export interface GitHubAsset {
  id: number;
  name: string;
  size: number;
  contentType: string;
  updatedAt: string;
  /** GitHub's own SHA-256 of the asset ("sha256:<hex>"), on assets uploaded since mid 2025. */
  digest?: string;
}

export interface GitHubRelease {
  id: number;
  tag: string;
  name: string | null;
  draft: boolean;
  prerelease: boolean;
  publishedAt: string | null;
  /**
   * GitHub's `immutable` flag (immutable releases, 2025): assets and tag locked once published.
   * Absent when the API did not say (older GitHub Enterprise Server), never guessed.
   */
  immutable?: boolean;
  assets: GitHubAsset[];
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
  /** Epoch seconds. */
  reset?: number;
}

export type ReleasesPage =
  | { notModified: true; rateLimit: RateLimit }
  | { notModified: false; etag?: string; releases: GitHubRelease[]; rateLimit: RateLimit };

/** Where a tag points, as `git/ref/tags/<tag>` answers (annotated tags peeled to their commit). */
export type TagResolution =
  | { kind: 'unchanged'; etag: string }
  | { kind: 'commit'; commit: string; etag?: string; annotated: boolean }
  | { kind: 'absent' };

/** Attestation list pages read per digest (100 a page): a digest with more is an attack on our time. */
const MAX_ATTESTATION_PAGES = 5;
/** Bundles kept per digest, over all pages. */
const MAX_ATTESTATIONS = 100;
/** A whole lookup (every page and every bundle_url) ends within this many request deadlines. */
const ATTESTATION_LOOKUP_DEADLINES = 3;
const DEFAULT_MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

/** Annotated tags may point at tags; real ones nest once. More is a loop or an attack on our time. */
const MAX_TAG_PEELS = 4;

export interface DownloadedAsset {
  sha256: string;
  size: number;
  /** Kept only when the asset was no larger than `keepBytesUpTo` (evidence files, not binaries). */
  bytes?: Buffer;
}

/**
 * GitHub REST for what provwatch reads: releases (conditional, paginated, rate-limit aware),
 * release assets (streamed and hashed once, the storage redirect followed without the token),
 * and the attestations API. Answers are shape-checked; nothing here decides about trust.
 */
export class GitHubClient {
  private readonly base: URL;
  private readonly http: HttpSettings;
  private readonly maxJsonBytes: number;
  private readonly maxPages: number;
  private readonly maxBundleBytes: number;
  /** Computes the waits when no shared back-off is given (the CLI). */
  private readonly policy: UpstreamBackoffPolicy;

  constructor(private readonly options: GitHubClientOptions = {}) {
    this.base = new URL(`${(options.baseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '')}/`);
    const insecure = [...(this.base.protocol === 'http:' ? [this.base.host] : []), ...(options.insecureHosts ?? [])].map((h) => h.toLowerCase());
    this.http = { timeoutMs: options.timeoutMs ?? 30_000, deadlineMs: options.downloadDeadlineMs ?? DEFAULT_DOWNLOAD_DEADLINE_MS, userAgent: options.userAgent ?? 'provwatch', insecureHosts: new Set(insecure), maxRedirects: 3, onOutcome: options.onOutcome };
    this.maxJsonBytes = options.maxJsonBytes ?? 8 * 1024 * 1024;
    this.maxPages = options.maxPages ?? 10;
    this.maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    this.policy = options.backoff?.policy ?? new UpstreamBackoffPolicy();
  }

  /** The host the back-off is keyed on (host:port of the API; never a path or token). */
  get apiHost(): string {
    return this.base.host;
  }

  /**
   * All releases, newest first. With the ETag of the previous answer, an unchanged repository
   * answers 304, which GitHub does not count against the rate limit.
   */
  async listReleases(owner: string, repo: string, options: { etag?: string; perPage?: number } = {}): Promise<ReleasesPage> {
    const first = this.url(`repos/${segment(owner)}/${segment(repo)}/releases?per_page=${options.perPage ?? 100}`);
    const releases: GitHubRelease[] = [];
    let etag: string | undefined;
    let rateLimit: RateLimit = {};
    let next: URL | undefined = first;
    for (let page = 0; next; page++) {
      if (page >= this.maxPages) break; // The newest pages are what matters; older releases age out anyway.
      const opened = await this.open(next, page === 0 && options.etag ? { 'if-none-match': options.etag } : {});
      rateLimit = readRateLimit(opened.response.headers);
      if (page === 0 && opened.response.status === 304) {
        await discard(opened);
        return { notModified: true, rateLimit };
      }
      await this.assertOk(opened);
      if (page === 0) etag = opened.response.headers.get('etag') ?? undefined;
      const doc = await this.json(opened);
      if (!Array.isArray(doc)) throw new SourceError('github-bad-response', `${opened.what}: releases answer is not a list`);
      releases.push(...doc.map((r, i) => toRelease(r, `${opened.what}[${i}]`)));
      const link = nextLink(opened.response.headers.get('link'));
      next = link ? this.sameHost(link, opened.what) : undefined;
    }
    return { notModified: false, etag, releases, rateLimit };
  }

  /** One release by id (a re-verification looks at the release as it is now). */
  async getRelease(owner: string, repo: string, releaseId: number): Promise<GitHubRelease> {
    const opened = await this.open(this.url(`repos/${segment(owner)}/${segment(repo)}/releases/${releaseId}`));
    await this.assertOk(opened);
    return toRelease(await this.json(opened), opened.what);
  }

  /**
   * Streams an asset through SHA-256 (once) with a size limit; GitHub redirects to storage. On
   * the http1 download path, not fetch (see openDownload): the bytes are hashed as fast as they arrive.
   */
  async downloadAsset(owner: string, repo: string, assetId: number, options: { maxBytes: number; keepBytesUpTo?: number }): Promise<DownloadedAsset> {
    const url = this.url(`repos/${segment(owner)}/${segment(repo)}/releases/assets/${assetId}`);
    const opened = await this.admitted(() => openDownload(this.request(url, { accept: 'application/octet-stream' }), this.http, Watchdog.for(this.http)), (o) => o);
    await this.assertAnswer(downloadAnswer(opened));
    return hashDownload(opened, options.maxBytes, options.keepBytesUpTo ?? 0);
  }

  /**
   * The commit a release tag points at now. With the ETag of the last answer an unchanged ref is
   * a 304 (no rate limit spent; GitHub's weak ETags are sent back exactly as received). A tag
   * that no longer exists is `absent`, not an error: a deleted tag is a fact about the release.
   */
  async resolveTag(owner: string, repo: string, tag: string, options: { etag?: string } = {}): Promise<TagResolution> {
    const opened = await this.open(
      this.url(`repos/${segment(owner)}/${segment(repo)}/git/ref/tags/${tagPath(tag)}`),
      options.etag ? { 'if-none-match': options.etag } : {},
    );
    if (opened.response.status === 304 && options.etag) {
      await discard(opened);
      return { kind: 'unchanged', etag: options.etag };
    }
    if (opened.response.status === 404) {
      await discard(opened);
      return { kind: 'absent' };
    }
    await this.assertOk(opened);
    const etag = opened.response.headers.get('etag') ?? undefined;
    let object = gitObject(await this.json(opened), `${opened.what}.object`);
    const annotated = object.type === 'tag';
    for (let peel = 0; object.type === 'tag'; peel++) {
      if (peel >= MAX_TAG_PEELS) throw new SourceError('github-bad-response', `${opened.what}: tag ${tag} is nested more than ${MAX_TAG_PEELS} deep`);
      const inner = await this.open(this.url(`repos/${segment(owner)}/${segment(repo)}/git/tags/${object.sha}`));
      await this.assertOk(inner);
      object = gitObject(await this.json(inner), `${inner.what}.object`);
    }
    if (object.type !== 'commit') throw new SourceError('github-bad-response', `${opened.what}: tag ${tag} points at a ${object.type}, not a commit`);
    return { kind: 'commit', commit: object.sha, etag, annotated };
  }

  /**
   * Sigstore bundles GitHub stores for an artifact digest (`gh attestation verify` reads these).
   * Both shapes of an item are read: the bundle inline (`bundle`, API 2022-11-28 until mid 2026)
   * or `bundle: null` and a `bundle_url` to fetch it from (API 2026-03-10, and github.com for
   * 2022-11-28 too since July 2026). Pages follow the `after` cursor of the Link header, on the
   * API host only, at most MAX_ATTESTATION_PAGES. What comes back is untrusted: the verifier
   * checks every bundle's signature and subject digest.
   */
  async getAttestations(owner: string, repo: string, sha256Hex: string): Promise<object[]> {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new SourceError('invalid-reference', 'attestation lookups take a sha256 hex digest');
    const bundles: object[] = [];
    // Many slow bundle_urls must not hold a verify job for page count x bundles x deadline.
    const deadline = Date.now() + ATTESTATION_LOOKUP_DEADLINES * this.http.timeoutMs;
    let next: URL | undefined = this.url(`repos/${segment(owner)}/${segment(repo)}/attestations/sha256:${sha256Hex}?per_page=100`);
    for (let page = 0; next && page < MAX_ATTESTATION_PAGES && bundles.length < MAX_ATTESTATIONS; page++) {
      const opened = await this.open(next);
      if (page === 0 && opened.response.status === 404) {
        await discard(opened);
        return [];
      }
      await this.assertOk(opened);
      const link = nextLink(opened.response.headers.get('link'));
      const doc = (await this.json(opened)) as { attestations?: unknown };
      if (!Array.isArray(doc?.attestations)) throw new SourceError('github-bad-response', `${opened.what}: no attestations list`);
      for (const item of doc.attestations as Array<{ bundle?: unknown; bundle_url?: unknown } | null>) {
        if (bundles.length >= MAX_ATTESTATIONS) break;
        if (typeof item?.bundle === 'object' && item.bundle !== null) bundles.push(item.bundle);
        else if (typeof item?.bundle_url === 'string') bundles.push(await this.fetchBundle(item.bundle_url, opened.what, deadline));
        // Listed but unreadable is not "none": skipping it could turn forged-away evidence into a quiet gap.
        else throw new SourceError('github-bad-response', `${opened.what}: an attestation with neither bundle nor bundle_url`);
      }
      next = link ? this.sameHost(link, opened.what) : undefined;
    }
    return bundles;
  }

  /**
   * One bundle from its `bundle_url`: a pre-signed URL on GitHub's blob storage, another host.
   * Threats: the token leaking to that host (it is sent only to the API origin, hop by hop), plain
   * http (refused unless the host is listed insecure), a huge or endless body (size limit after
   * decompression, one deadline for the whole read). The URL's query is a credential: never logged.
   */
  private async fetchBundle(raw: string, listedBy: string, deadline: number): Promise<object> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SourceError('github-bad-response', `${listedBy}: unparseable bundle_url`);
    }
    const where = `bundle ${url.host}${url.pathname}`;
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && this.http.insecureHosts.has(url.host.toLowerCase()))) || url.username !== '' || url.password !== '') {
      throw new SourceError('github-bad-response', `${listedBy}: refused bundle_url ${url.protocol}//${url.host} (https only, plain http only for insecure hosts)`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new SourceError('github-unavailable', `${listedBy}: attestation bundles not read within ${(ATTESTATION_LOOKUP_DEADLINES * this.http.timeoutMs) / 1000}s`);
    let opened: OpenResponse;
    try {
      opened = await openRequest(
        { method: 'GET', url, headers: { accept: 'application/json, application/octet-stream' }, authorization: this.options.token ? { origin: this.base.origin, value: `Bearer ${this.options.token}` } : undefined },
        this.http,
        new Watchdog(Math.min(this.http.timeoutMs, remaining)),
      );
    } catch (err) {
      if (err instanceof SourceError && err.code === 'registry-timeout') throw new SourceError('github-unavailable', `${where}: no answer in time`);
      throw err;
    }
    const status = opened.response.status;
    if (status < 200 || status >= 300) {
      await discard(opened);
      // A listed bundle that cannot be read leaves the lookup undecided, never "no attestation".
      throw new SourceError(status >= 500 || status === 429 ? 'github-unavailable' : 'github-bad-response', `${where}: HTTP ${status}`);
    }
    let body: Buffer;
    try {
      body = await readBody(opened, this.maxBundleBytes);
    } catch (err) {
      if (err instanceof SourceError && err.code === 'registry-timeout') throw new SourceError('github-unavailable', `${where}: no answer in time`);
      throw err;
    }
    // GitHub stores these bundles snappy-compressed (as `gh attestation` reads them); plain JSON
    // is accepted as well. A snappy block starts with its length varint, which is `{` only for
    // exactly 123 bytes: JSON is tried first when it looks like JSON, snappy otherwise or after.
    const bundle = (body[0] === 0x7b ? parseJson(body) : undefined) ?? parseJson(snappyUncompress(body, this.maxBundleBytes, where));
    if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle)) throw new SourceError('github-bad-response', `${where}: not a JSON bundle`);
    return bundle;
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  /** Pagination links must stay on the API host: a link elsewhere would carry the token away. */
  private sameHost(link: string, what: string): URL {
    const url = new URL(link, this.base);
    if (url.origin !== this.base.origin) throw new SourceError('github-bad-response', `${what}: pagination link to another host refused`);
    return url;
  }

  private async open(url: URL, headers: Record<string, string> = {}): Promise<OpenResponse> {
    return this.admitted(() => openRequest(this.request(url, headers), this.http, Watchdog.for(this.http)), (o) => o.response);
  }

  /** A GET to the API host: the token goes with it, and openRequest/openDownload drop it on other hosts. */
  private request(url: URL, headers: Record<string, string>): HopRequest {
    return {
      method: 'GET',
      url,
      headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', ...headers },
      authorization: this.options.token ? { origin: this.base.origin, value: `Bearer ${this.options.token}` } : undefined,
    };
  }

  /**
   * One request under the API host's back-off, whichever transport sends it: a held host is sent
   * nothing, and the back-off is told of the answer (or of the timeout or network failure).
   */
  private async admitted<T>(send: () => Promise<T>, answered: (opened: T) => Answered): Promise<T> {
    const backoff = this.options.backoff;
    const hold = await backoff?.admit(this.base.host);
    if (hold) {
      // Nothing is sent to a held host: every extra request would only prolong the limit.
      const seconds = Math.max(1, Math.ceil((hold.untilMs - (backoff?.now() ?? Date.now())) / 1000));
      const message = `${this.base.host}: backed off (${hold.reason}) until ${new Date(hold.untilMs).toISOString()}; no request sent`;
      throw new SourceError(hold.reason === 'rate-limited' ? 'github-rate-limited' : 'github-unavailable', message, { retryAfterSeconds: seconds, heldUntilMs: hold.untilMs });
    }
    let opened: T;
    try {
      opened = await send();
    } catch (err) {
      if (err instanceof SourceError && (err.code === 'registry-timeout' || err.code === 'network-error')) {
        await backoff?.observe(this.base.host, { status: err.code === 'registry-timeout' ? 'timeout' : 'network' });
      }
      if (err instanceof SourceError && err.code === 'registry-timeout') throw new SourceError('github-unavailable', err.message);
      throw err;
    }
    // 403, 429 and 5xx are told by assertOk (it reads the body of a 403); every other answer here
    // (a 304 or 404 is the host answering normally, and ends a probe as well as a 200 does).
    const answer = answered(opened);
    if (backoff && !toldByAssertOk(answer.status)) await backoff.observe(this.base.host, answerOf(answer));
    return opened;
  }

  private async assertOk(opened: OpenResponse): Promise<void> {
    await this.assertAnswer({ status: opened.response.status, headers: opened.response.headers, what: opened.what, read: (limit) => readBody(opened, limit), discard: () => discard(opened) });
  }

  private async assertAnswer(reply: Reply): Promise<void> {
    const { status, headers, what } = reply;
    if (status >= 200 && status < 300) return;
    // GitHub's secondary limit may be a 403 whose only sign is its message: read a little of it.
    let bodySaysRateLimited = false;
    if (status === 403) {
      const body = await reply.read(4096).catch(() => Buffer.alloc(0));
      bodySaysRateLimited = /rate limit/i.test(body.toString('utf8'));
    } else {
      await reply.discard();
    }
    const answer = { ...answerOf(reply), bodySaysRateLimited };
    const verdict = this.policy.classify(answer, this.options.backoff?.now() ?? Date.now());
    if (toldByAssertOk(status)) await this.options.backoff?.observe(this.base.host, answer);
    if (verdict.kind === 'rate-limited') {
      const resource = headers.get('x-ratelimit-resource');
      const which = resource && /^[a-z_-]{1,40}$/.test(resource) ? ` (resource ${resource})` : '';
      throw new SourceError('github-rate-limited', `${what}: rate limited${which}, retry in ${verdict.waitSeconds}s`, { retryAfterSeconds: verdict.waitSeconds });
    }
    if (status === 404) throw new SourceError('github-not-found', `${what}: HTTP 404`);
    if (status === 401 || status === 403) throw new SourceError('github-unauthorized', `${what}: HTTP ${status}`);
    if (status >= 500) throw new SourceError('github-unavailable', `${what}: HTTP ${status}`);
    throw new SourceError('github-bad-response', `${what}: HTTP ${status}`);
  }

  private async json(opened: OpenResponse): Promise<unknown> {
    const body = await readBody(opened, this.maxJsonBytes);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new SourceError('github-bad-response', `${opened.what}: invalid JSON`);
    }
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function segment(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new SourceError('invalid-reference', `invalid GitHub owner or repository ${JSON.stringify(value)}`);
  return value;
}

/** A tag name as a path below `refs/tags/`: each segment encoded, git's forbidden shapes refused. */
function tagPath(tag: string): string {
  // git check-ref-format: no empty segment, no `..`, no control characters, spaces or ~^:?*[\
  if (tag.length === 0 || tag.length > 255 || tag.includes('..') || /[\x00-\x20\x7f~^:?*[\\]/.test(tag) || tag.split('/').some((s) => s === '' || s.startsWith('.') || s.endsWith('.lock'))) {
    throw new SourceError('invalid-reference', `invalid tag name ${JSON.stringify(tag)}`);
  }
  return tag.split('/').map(encodeURIComponent).join('/');
}

/** `{ object: { type, sha } }` of a ref or tag answer (attacker-shaped JSON until checked). */
function gitObject(raw: any, where: string): { type: string; sha: string } {
  const object = raw?.object;
  if (!object || typeof object.type !== 'string' || typeof object.sha !== 'string' || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(object.sha)) {
    throw new SourceError('github-bad-response', `${where}: not a git object with a type and a sha`);
  }
  return { type: object.type, sha: object.sha };
}

/** Answers that may be a rate limit or an outage: classified (and told to the back-off) by assertOk. */
function toldByAssertOk(status: number): boolean {
  return status === 403 || status === 429 || status >= 500;
}

/** An answer's status and headers, from fetch's Response or from openDownload. */
interface Answered {
  readonly status: number;
  readonly headers: Headers;
}

/** What back-off needs of an answer: its status and rate-limit headers. */
function answerOf(answer: Answered): UpstreamAnswer {
  const rate = readRateLimit(answer.headers);
  return { status: answer.status, retryAfter: answer.headers.get('retry-after'), rateLimitRemaining: rate.remaining, rateLimitReset: rate.reset };
}

/** An answer as assertAnswer reads it, whichever transport carried it (fetch, or the http1 download path for asset bytes). */
interface Reply extends Answered {
  readonly what: string;
  /** The body, at most `limit` bytes. */
  read(limit: number): Promise<Buffer>;
  /** The body is not wanted. */
  discard(): Promise<void>;
}

function downloadAnswer(opened: OpenDownload): Reply {
  return { status: opened.status, headers: opened.headers, what: opened.what, read: (limit) => readDownload(opened, limit), discard: async () => discardDownload(opened) };
}

function readRateLimit(headers: Headers): RateLimit {
  const num = (name: string) => {
    const v = headers.get(name);
    return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  return { limit: num('x-ratelimit-limit'), remaining: num('x-ratelimit-remaining'), reset: num('x-ratelimit-reset') };
}

function toRelease(raw: any, where: string): GitHubRelease {
  const ok = raw && typeof raw === 'object' && Number.isSafeInteger(raw.id) && typeof raw.tag_name === 'string' && Array.isArray(raw.assets ?? []);
  if (!ok) throw new SourceError('github-bad-response', `${where}: not a release`);
  return {
    id: raw.id,
    tag: raw.tag_name,
    name: typeof raw.name === 'string' ? raw.name : null,
    draft: raw.draft === true,
    prerelease: raw.prerelease === true,
    publishedAt: typeof raw.published_at === 'string' ? raw.published_at : null,
    ...(typeof raw.immutable === 'boolean' ? { immutable: raw.immutable } : {}),
    assets: (raw.assets ?? []).map((a: any, i: number) => {
      if (!a || !Number.isSafeInteger(a.id) || typeof a.name !== 'string' || !Number.isSafeInteger(a.size) || typeof a.updated_at !== 'string') {
        throw new SourceError('github-bad-response', `${where}.assets[${i}]: not an asset`);
      }
      // A digest in any other form is ignored, not trusted: it only spares a download when it differs.
      const digest = typeof a.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(a.digest) ? a.digest : undefined;
      return { id: a.id, name: a.name, size: a.size, contentType: typeof a.content_type === 'string' ? a.content_type : 'application/octet-stream', updatedAt: a.updated_at, ...(digest ? { digest } : {}) };
    }),
  };
}
