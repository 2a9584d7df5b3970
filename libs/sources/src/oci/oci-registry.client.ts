import { createHash } from 'node:crypto';
import { SourceError } from '../source.error';
import { type CosignArtifactKind, cosignTag, referrersTag } from './cosign-tag';
import { type RepositoryName, assertDigest, checkRepositoryName, isDigest, isTag, parseRepositoryName } from './image-reference';
import {
  DEFAULT_MANIFEST_ACCEPT,
  type Descriptor,
  type ManifestDocument,
  MediaTypes,
  checkDescriptors,
  isIndex,
  parseManifestDocument,
} from './oci-manifest.schema';
import { type CredentialsProvider, RegistryAuth } from './registry-auth';
import {
  type HttpSettings,
  type OpenResponse,
  bareMediaType,
  bodyChunks,
  discard,
  nextLink,
  openRequest,
  originFor,
  readBody,
  statusError,
} from './registry-http';

export interface OciRegistryClientOptions {
  /** `host:port` values that may be spoken to over plain http (`--insecure-registry`). */
  readonly insecureHosts?: readonly string[];
  /** Called with the registry API host; undefined means anonymous. */
  readonly credentials?: CredentialsProvider;
  /** Per request for documents (whole answer), per chunk for blobs (stall detection). Default 30 s. */
  readonly timeoutMs?: number;
  /**
   * Overall deadline of one request, a blob body included, that per-chunk re-arming never
   * extends (a registry trickling a blob would otherwise hold a verify slot). Default 300 s.
   */
  readonly downloadDeadlineMs?: number;
  /** Default 4 MiB, the limit most registries apply to manifests themselves. */
  readonly maxManifestBytes?: number;
  /** Default 64 MiB: attestations and SBOMs, not image layers, are what we download. */
  readonly maxBlobBytes?: number;
  readonly userAgent?: string;
  /** Default 3. */
  readonly maxRedirects?: number;
  /** Clock for token expiry, in ms; tests replace it. */
  readonly now?: () => number;
  /** Told the status of every request (metrics). */
  readonly onOutcome?: HttpSettings['onOutcome'];
}

/** Anything that names a repository: a parsed name or `ghcr.io/org/repo`. */
export type RepositoryInput = RepositoryName | string;

export interface ManifestResult {
  /** Digest of `bytes`, checked against the requested digest or Docker-Content-Digest. */
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly bytes: Buffer;
  readonly json: ManifestDocument;
}

export interface ManifestHead {
  /** From Docker-Content-Digest: a hint for change detection, not verified (no bytes). */
  readonly digest: string;
  readonly mediaType?: string;
  readonly size?: number;
}

export interface BlobOptions {
  /** Overrides the client's maxBlobBytes for this call. */
  readonly maxBytes?: number;
  /** The descriptor's size: a body of any other length is rejected. */
  readonly expectedSize?: number;
}

export interface ReferrersResult {
  /** `api`: OCI 1.1 referrers API; `tag`: the `sha256-<hex>` fallback index; `none`: neither exists. */
  readonly source: 'api' | 'tag' | 'none';
  /** Referrer descriptors; their manifests still have to be fetched (by digest) and their `subject` checked. */
  readonly manifests: readonly Descriptor[];
}

const MAX_PAGES = 100;

/**
 * A small pull-only OCI distribution client. Everything it returns was checked: manifests against
 * their digest, blobs against digest and size, documents against their shape and limits.
 */
export class OciRegistryClient {
  private readonly http: HttpSettings;
  private readonly auth: RegistryAuth;
  private readonly maxManifestBytes: number;
  private readonly maxBlobBytes: number;

  constructor(options: OciRegistryClientOptions = {}) {
    this.http = {
      timeoutMs: options.timeoutMs ?? 30_000,
      deadlineMs: options.downloadDeadlineMs ?? 300_000,
      userAgent: options.userAgent ?? 'provwatch',
      insecureHosts: new Set((options.insecureHosts ?? []).map((h) => h.toLowerCase())),
      maxRedirects: options.maxRedirects ?? 3,
      onOutcome: options.onOutcome,
    };
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.maxBlobBytes = options.maxBlobBytes ?? 64 * 1024 * 1024;
    this.auth = new RegistryAuth(this.http, options.credentials, options.now ?? Date.now);
  }

  /** Every tag of the repository, following `Link: <...>; rel="next"` pages. */
  async listTags(repo: RepositoryInput, options: { pageSize?: number } = {}): Promise<string[]> {
    const name = toRepository(repo);
    const tags: string[] = [];
    const first = `/v2/${name.repository}/tags/list${options.pageSize ? `?n=${Math.floor(options.pageSize)}` : ''}`;
    for (let path: string | undefined = first, page = 0; path !== undefined; page++) {
      if (page >= MAX_PAGES) throw new SourceError('registry-bad-response', `tags of ${name.registry}/${name.repository}: more than ${MAX_PAGES} pages`);
      const opened = await this.send(name, 'GET', path, ['application/json']);
      const body = await this.expectDocument(opened);
      let parsed: { tags?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new SourceError('registry-bad-response', `${opened.what}: not JSON`);
      }
      // Tags end up in URLs and in our database: anything off-grammar means a hostile answer.
      const list = parsed?.tags ?? [];
      if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && isTag(t))) {
        throw new SourceError('registry-bad-response', `${opened.what}: malformed tag list`);
      }
      tags.push(...(list as string[]));
      path = this.samePathOnRegistry(name, nextLink(opened.response.headers.get('link')), opened.what);
    }
    return tags;
  }

  /**
   * A manifest or index by tag or digest. The digest is computed over the received bytes and must
   * equal the requested digest, and Docker-Content-Digest when the registry sends one.
   */
  async getManifest(repo: RepositoryInput, reference: string, accept: readonly string[] = DEFAULT_MANIFEST_ACCEPT): Promise<ManifestResult> {
    const name = toRepository(repo);
    checkReference(reference);
    const opened = await this.send(name, 'GET', `/v2/${name.repository}/manifests/${reference}`, accept);
    const bytes = await this.expectDocument(opened);
    const digest = verifyManifestDigest(bytes, reference, opened.response.headers.get('docker-content-digest'), opened.what);
    const { document, mediaType } = parseManifestDocument(bytes, bareMediaType(opened.response.headers.get('content-type')));
    if (!accept.includes(mediaType)) {
      throw new SourceError('registry-bad-response', `${opened.what}: media type ${mediaType} was not asked for`);
    }
    return { digest, mediaType, size: bytes.length, bytes, json: document };
  }

  /**
   * HEAD of a manifest: cheap change detection (Docker Hub does not count HEADs against the rate
   * limit). Falls back to a GET when the registry sends no digest header.
   */
  async headManifest(repo: RepositoryInput, reference: string, accept: readonly string[] = DEFAULT_MANIFEST_ACCEPT): Promise<ManifestHead> {
    const name = toRepository(repo);
    checkReference(reference);
    const opened = await this.send(name, 'HEAD', `/v2/${name.repository}/manifests/${reference}`, accept);
    if (opened.response.status !== 200) throw await statusError(opened);
    await discard(opened);
    const headers = opened.response.headers;
    const digest = headers.get('docker-content-digest');
    if (digest === null) {
      const full = await this.getManifest(name, reference, accept);
      return { digest: full.digest, mediaType: full.mediaType, size: full.size };
    }
    if (!isDigest(digest)) throw new SourceError('registry-bad-response', `${opened.what}: malformed Docker-Content-Digest`);
    if (isDigest(reference) && digest !== reference) {
      throw new SourceError('registry-digest-mismatch', `${opened.what}: Docker-Content-Digest differs from the requested digest`);
    }
    const length = headers.get('content-length');
    const mediaType = bareMediaType(headers.get('content-type'));
    return {
      digest,
      ...(mediaType === undefined ? {} : { mediaType }),
      ...(length !== null && /^\d+$/.test(length) ? { size: Number(length) } : {}),
    };
  }

  /** A blob in memory, verified against digest (and size when given) before it is returned. */
  async getBlob(repo: RepositoryInput, digest: string, options: BlobOptions = {}): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.streamBlob(repo, digest, options)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  /**
   * A blob as chunks. The digest can only be checked at the end: the generator then throws
   * `registry-digest-mismatch`, so consumers must not act on the chunks before it completes.
   */
  async *streamBlob(repo: RepositoryInput, digest: string, options: BlobOptions = {}): AsyncGenerator<Buffer> {
    const name = toRepository(repo);
    assertDigest(digest);
    const limit = Math.min(options.maxBytes ?? this.maxBlobBytes, options.expectedSize ?? Number.MAX_SAFE_INTEGER);
    const opened = await this.send(name, 'GET', `/v2/${name.repository}/blobs/${digest}`, ['*/*']);
    if (opened.response.status !== 200) throw await statusError(opened);
    const [algorithm, expectedHex] = digest.split(':');
    const hash = createHash(algorithm);
    let total = 0;
    for await (const chunk of bodyChunks(opened, limit, true)) {
      hash.update(chunk);
      total += chunk.length;
      yield chunk;
    }
    if (options.expectedSize !== undefined && total !== options.expectedSize) {
      throw new SourceError('registry-digest-mismatch', `${opened.what}: ${total} bytes, descriptor says ${options.expectedSize}`);
    }
    if (hash.digest('hex') !== expectedHex) {
      throw new SourceError('registry-digest-mismatch', `${opened.what}: content does not match its digest`);
    }
  }

  /**
   * Manifests that refer to `digest` (signatures, attestations, SBOMs as OCI 1.1 referrers). Uses
   * the referrers API; where the registry does not implement it (404), the fallback index tagged
   * `sha256-<hex>`. The registry may ignore the artifactType filter, so it is applied here too.
   */
  async getReferrers(repo: RepositoryInput, digest: string, options: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const name = toRepository(repo);
    assertDigest(digest);
    const filter = (list: readonly Descriptor[]) =>
      options.artifactType === undefined ? [...list] : list.filter((d) => d.artifactType === options.artifactType);

    const query = options.artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(options.artifactType)}`;
    const found: Descriptor[] = [];
    for (let path: string | undefined = `/v2/${name.repository}/referrers/${digest}${query}`, page = 0; path !== undefined; page++) {
      if (page >= MAX_PAGES) throw new SourceError('registry-bad-response', `referrers of ${digest}: more than ${MAX_PAGES} pages`);
      const opened = await this.send(name, 'GET', path, [MediaTypes.ociIndex]);
      // 404 (spec) or 405 (some older registries' routers) means: no referrers API here.
      if (page === 0 && (opened.response.status === 404 || opened.response.status === 405)) {
        await discard(opened);
        return this.referrersFromTag(name, digest, filter);
      }
      const body = await this.expectDocument(opened);
      const { document } = parseManifestDocument(body, bareMediaType(opened.response.headers.get('content-type')));
      if (!isIndex(document)) throw new SourceError('registry-bad-response', `${opened.what}: referrers answer is not an index`);
      found.push(...checkDescriptors(document.manifests, 'manifests'));
      path = this.samePathOnRegistry(name, nextLink(opened.response.headers.get('link')), opened.what);
    }
    return { source: 'api', manifests: filter(found) };
  }

  /**
   * cosign's tag-scheme artifact (`sha256-<hex>.sig|.att|.sbom`) for an image digest, in the image
   * repository or in `repository` (COSIGN_REPOSITORY style). Null when there is none: evidence
   * missing, as opposed to a registry that could not be asked, which throws.
   */
  async findCosignArtifact(
    repo: RepositoryInput,
    digest: string,
    kind: CosignArtifactKind,
    options: { repository?: RepositoryInput } = {},
  ): Promise<ManifestResult | null> {
    const target = toRepository(options.repository ?? repo);
    try {
      return await this.getManifest(target, cosignTag(digest, kind), [MediaTypes.ociManifest, MediaTypes.dockerManifest]);
    } catch (error) {
      if (error instanceof SourceError && error.isNotFound) return null;
      throw error;
    }
  }

  private async referrersFromTag(
    name: RepositoryName,
    digest: string,
    filter: (list: readonly Descriptor[]) => Descriptor[],
  ): Promise<ReferrersResult> {
    let index: ManifestResult;
    try {
      index = await this.getManifest(name, referrersTag(digest), [MediaTypes.ociIndex]);
    } catch (error) {
      if (error instanceof SourceError && error.isNotFound) return { source: 'none', manifests: [] };
      throw error;
    }
    if (!isIndex(index.json)) throw new SourceError('registry-bad-response', 'referrers fallback tag is not an index');
    return { source: 'tag', manifests: filter(index.json.manifests) };
  }

  /**
   * One registry request with authentication: a cached or up-front authorization first; on 401
   * one negotiation and one retry. A 401 right after fresh credentials is final, so a registry
   * that always answers 401 costs at most two requests and one token fetch.
   */
  private async send(name: RepositoryName, method: 'GET' | 'HEAD', path: string, accept: readonly string[]): Promise<OpenResponse> {
    const origin = originFor(name.registry, this.http);
    const url = new URL(path, origin);
    const scope = `repository:${name.repository}:pull`;
    let authorization = await this.auth.initial(name.registry, scope);
    for (let attempt = 0; ; attempt++) {
      const opened = await openRequest(
        {
          method,
          url,
          headers: { accept: accept.join(', ') },
          ...(authorization === undefined ? {} : { authorization: { origin, value: authorization.value } }),
        },
        this.http,
      );
      // A 401 from a storage host after a redirect is not ours to answer: statusError reports it.
      if (opened.response.status !== 401 || opened.url.origin !== origin) return opened;
      const challenge = opened.response.headers.get('www-authenticate');
      await discard(opened);
      if (attempt > 0 || authorization?.fresh === true) {
        this.auth.forget(name.registry, scope);
        throw new SourceError('registry-unauthorized', `${opened.what}: HTTP 401 with fresh credentials`);
      }
      authorization = await this.auth.negotiate(name.registry, scope, challenge, opened.what);
    }
  }

  private async expectDocument(opened: OpenResponse): Promise<Buffer> {
    if (opened.response.status !== 200) throw await statusError(opened);
    return readBody(opened, this.maxManifestBytes);
  }

  /** A pagination link must stay on the registry's own API: no open redirect through `Link`. */
  private samePathOnRegistry(name: RepositoryName, link: string | undefined, what: string): string | undefined {
    if (link === undefined) return undefined;
    const origin = originFor(name.registry, this.http);
    let url: URL;
    try {
      url = new URL(link, origin);
    } catch {
      throw new SourceError('registry-bad-response', `${what}: unparseable Link`);
    }
    if (url.origin !== origin || !url.pathname.startsWith(`/v2/${name.repository}/`)) {
      throw new SourceError('registry-bad-response', `${what}: Link leaves the repository`);
    }
    return url.pathname + url.search;
  }
}

function toRepository(repo: RepositoryInput): RepositoryName {
  return typeof repo === 'string' ? parseRepositoryName(repo) : checkRepositoryName(repo);
}

function checkReference(reference: string): void {
  if (!isDigest(reference) && !isTag(reference)) throw new SourceError('invalid-reference', 'not a tag or a canonical digest');
}

/**
 * The digest of manifest bytes, checked against what was asked for (by digest) and against
 * Docker-Content-Digest (any time it is present): a registry, proxy or attacker that serves
 * other bytes than it names is caught here, before anything parses them.
 */
function verifyManifestDigest(bytes: Buffer, reference: string, header: string | null, what: string): string {
  const hashAs = (digest: string) => {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  };
  if (isDigest(reference) && hashAs(reference) !== reference) {
    throw new SourceError('registry-digest-mismatch', `${what}: manifest bytes do not match the requested digest`);
  }
  if (header !== null) {
    if (!isDigest(header)) throw new SourceError('registry-bad-response', `${what}: malformed Docker-Content-Digest`);
    if (hashAs(header) !== header) {
      throw new SourceError('registry-digest-mismatch', `${what}: manifest bytes do not match Docker-Content-Digest`);
    }
  }
  return isDigest(reference) ? reference : hashAs('sha256:');
}
