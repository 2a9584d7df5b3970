import { SourceError } from '../source.error';
import { type HttpSettings, openRequest, readBody, statusError } from './registry-http';
import { parseWwwAuthenticate } from './www-authenticate.parser';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Looks credentials up by registry API host (`ghcr.io`, `registry-1.docker.io`, `127.0.0.1:5000`). */
export type CredentialsProvider = (host: string) => RegistryCredentials | undefined;

export interface Authorization {
  readonly value: string;
  /** True when just obtained: a 401 with it means the credentials are wrong, not stale. */
  readonly fresh: boolean;
}

type HostScheme = { kind: 'bearer'; realm: URL; service?: string } | { kind: 'basic' };

const MAX_TOKEN_RESPONSE = 1024 * 1024;
// JWTs from cloud registries run to a few KiB; printable ASCII only so that a hostile token
// endpoint cannot inject header syntax.
const TOKEN_SHAPE = /^[\x21-\x7e]{1,65536}$/;
const DEFAULT_TOKEN_SECONDS = 60; // the token spec's default when expires_in is absent
const MAX_TOKEN_SECONDS = 24 * 3600;

/**
 * Registry authentication: Docker token auth (anonymous or with Basic credentials at the realm)
 * and plain Basic. Tokens are cached per host and scope until shortly before they expire; the
 * scheme a host asked for is remembered so that later scopes fetch their token up front.
 */
export class RegistryAuth {
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  private readonly schemes = new Map<string, HostScheme>();
  private readonly inflight = new Map<string, Promise<Authorization>>();

  constructor(
    private readonly settings: HttpSettings,
    private readonly credentials: CredentialsProvider | undefined,
    private readonly now: () => number,
  ) {}

  /** What to send on the first attempt: a cached token, a token fetched up front, Basic, or nothing. */
  async initial(host: string, scope: string): Promise<Authorization | undefined> {
    const cached = this.tokens.get(`${host} ${scope}`);
    if (cached !== undefined && cached.expiresAt > this.now()) return { value: `Bearer ${cached.value}`, fresh: false };
    const scheme = this.schemes.get(host);
    if (scheme?.kind === 'bearer') return this.fetchToken(host, scope, scheme);
    if (scheme?.kind === 'basic') return this.basic(host);
    return undefined;
  }

  /** Drops a token the registry refused, so that the next call does not start with it. */
  forget(host: string, scope: string): void {
    this.tokens.delete(`${host} ${scope}`);
  }

  /** Answers a 401 challenge with a fresh authorization, or fails as unauthorized. */
  async negotiate(host: string, scope: string, header: string | null, what: string): Promise<Authorization> {
    this.tokens.delete(`${host} ${scope}`);
    const challenges = parseWwwAuthenticate(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined);
    if (bearer !== undefined) {
      let realm: URL;
      try {
        realm = new URL(bearer.params.realm);
      } catch {
        throw new SourceError('registry-unauthorized', `${what}: unusable token realm`);
      }
      const scheme: HostScheme = { kind: 'bearer', realm, service: bearer.params.service };
      this.schemes.set(host, scheme);
      return this.fetchToken(host, scope, scheme);
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.schemes.set(host, { kind: 'basic' });
      const basic = this.basic(host);
      if (basic !== undefined) return basic;
      throw new SourceError('registry-unauthorized', `${what}: Basic authentication required and no credentials configured`);
    }
    throw new SourceError('registry-unauthorized', `${what}: HTTP 401 without a supported challenge`);
  }

  private basic(host: string): Authorization | undefined {
    const creds = this.credentials?.(host);
    if (creds === undefined) return undefined;
    return { value: basicHeader(creds), fresh: true };
  }

  /** Parallel requests for one scope (a verify job fetching several blobs) share one token request. */
  private fetchToken(host: string, scope: string, scheme: Extract<HostScheme, { kind: 'bearer' }>): Promise<Authorization> {
    const key = `${host} ${scope}`;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.requestToken(host, scope, scheme).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async requestToken(host: string, scope: string, scheme: Extract<HostScheme, { kind: 'bearer' }>): Promise<Authorization> {
    const url = new URL(scheme.realm);
    if (scheme.service !== undefined) url.searchParams.set('service', scheme.service);
    url.searchParams.set('scope', scope);
    const creds = this.credentials?.(host);
    // The realm is where the registry tells us to log in (auth.docker.io for Docker Hub): the one
    // place besides the registry itself that receives the credentials, and only over https
    // unless listed as insecure (openRequest enforces that), never to another host on redirect.
    const opened = await openRequest(
      {
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        ...(creds === undefined ? {} : { authorization: { origin: url.origin, value: basicHeader(creds) } }),
      },
      this.settings,
    );
    const what = `token request to ${url.host}`;
    if (opened.response.status !== 200) {
      const error = await statusError(opened);
      if (error.code === 'registry-not-found' || error.code === 'registry-bad-response') {
        throw new SourceError('registry-unauthorized', `${what}: HTTP ${opened.response.status}`);
      }
      throw new SourceError(error.code, `${what}: HTTP ${opened.response.status}`);
    }
    const body = await readBody(opened, MAX_TOKEN_RESPONSE);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new SourceError('registry-bad-response', `${what}: answer is not JSON`);
    }
    const token = typeof parsed?.token === 'string' ? parsed.token : parsed?.access_token;
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) {
      throw new SourceError('registry-bad-response', `${what}: answer carries no usable token`);
    }
    const seconds =
      typeof parsed.expires_in === 'number' && Number.isFinite(parsed.expires_in) && parsed.expires_in > 0
        ? Math.min(parsed.expires_in, MAX_TOKEN_SECONDS)
        : DEFAULT_TOKEN_SECONDS;
    // Our clock, not the server's issued_at: skew between the two must not keep a dead token.
    const margin = Math.min(10, seconds / 10);
    this.tokens.set(`${host} ${scope}`, { value: token, expiresAt: this.now() + (seconds - margin) * 1000 });
    return { value: `Bearer ${token}`, fresh: true };
  }
}

function basicHeader(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
}
