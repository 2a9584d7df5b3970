// Misbehaving registries, storage hosts and token servers: each case must end in a SourceError
// with the right code, never in a success.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { type TestHttpServer, startHttpServer } from '../../../../test/support/http-server';
import { SourceError } from '../source.error';
import { MediaTypes } from './oci-manifest.schema';
import { OciRegistryClient, type OciRegistryClientOptions } from './oci-registry.client';

const REPO = 'org/repo';
const SECRET = 's3cret-password';
const CREDS = { username: 'robot', password: SECRET };

const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociEmpty, digest: digestOf(Buffer.from('{}')), size: 2 },
    layers: [],
  }),
);
const MANIFEST_DIGEST = digestOf(manifest);
const blob = Buffer.from('attestation bytes '.repeat(1000));
const BLOB_DIGEST = digestOf(blob);

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const servers: TestHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestHttpServer> {
  const s = await startHttpServer(handler);
  servers.push(s);
  return s;
}

function client(hosts: TestHttpServer[], options: Partial<OciRegistryClientOptions> = {}): OciRegistryClient {
  return new OciRegistryClient({ insecureHosts: hosts.map((h) => h.host), timeoutMs: 2000, ...options });
}

/** Asserts a SourceError with `code` whose message leaks no secret. */
async function rejects(promise: Promise<unknown>, code: string): Promise<SourceError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof SourceError, `expected a SourceError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const secret of [SECRET, 'tok-', 'X-Amz-Signature', Buffer.from(`robot:${SECRET}`).toString('base64')]) {
    assert.ok(!caught.message.includes(secret), `message leaks ${secret}: ${caught.message}`);
  }
  return caught;
}

function serveManifest(res: ServerResponse, bytes: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': MediaTypes.ociManifest, 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

describe('manifest integrity', () => {
  it('rejects bytes that do not match the requested digest', async () => {
    const other = Buffer.from(manifest.toString().replace('"layers":[]', '"layers":[] '));
    const s = await server((_req, res) => serveManifest(res, other));
    await rejects(client([s]).getManifest(`${s.host}/${REPO}`, MANIFEST_DIGEST), 'registry-digest-mismatch');
  });

  it('rejects a Docker-Content-Digest that the bytes contradict (fetch by tag)', async () => {
    const s = await server((_req, res) => serveManifest(res, manifest, { 'docker-content-digest': `sha256:${'a'.repeat(64)}` }));
    await rejects(client([s]).getManifest(`${s.host}/${REPO}`, 'v1'), 'registry-digest-mismatch');
  });

  it('accepts a tag fetch whose header matches, and returns the computed digest', async () => {
    const s = await server((_req, res) => serveManifest(res, manifest, { 'docker-content-digest': MANIFEST_DIGEST }));
    const got = await client([s]).getManifest(`${s.host}/${REPO}`, 'v1');
    assert.equal(got.digest, MANIFEST_DIGEST);
    assert.equal(s.requests[0].headers.accept?.includes(MediaTypes.ociIndex), true);
  });

  it('rejects a media type that was not asked for, and malformed documents', async () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }));
    const s = await server((req, res) => {
      if (req.url?.endsWith('/index')) {
        res.writeHead(200, { 'content-type': MediaTypes.ociIndex });
        res.end(index);
      } else if (req.url?.endsWith('/garbage')) {
        res.writeHead(200, { 'content-type': MediaTypes.ociManifest });
        res.end('{"schemaVersion":2,"config":{"digest":"sha256:../../etc"},"layers":[]}');
      } else {
        res.writeHead(200, { 'content-type': MediaTypes.ociManifest });
        res.end('not json');
      }
    });
    const c = client([s]);
    await rejects(c.getManifest(`${s.host}/${REPO}`, 'index', [MediaTypes.ociManifest]), 'registry-bad-response');
    await rejects(c.getManifest(`${s.host}/${REPO}`, 'garbage'), 'registry-bad-response');
    await rejects(c.getManifest(`${s.host}/${REPO}`, 'text'), 'registry-bad-response');
  });

  it('rejects a blob whose bytes do not match its digest, after streaming them', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat([blob, Buffer.from('x')]));
    });
    await rejects(client([s]).getBlob(`${s.host}/${REPO}`, BLOB_DIGEST), 'registry-digest-mismatch');
    let received = 0;
    await rejects(
      (async () => {
        for await (const chunk of client([s]).streamBlob(`${s.host}/${REPO}`, BLOB_DIGEST)) received += chunk.length;
      })(),
      'registry-digest-mismatch',
    );
    assert.equal(received, blob.length + 1);
  });

  it('refuses malformed digests and references before any request', async () => {
    const s = await server((_req, res) => serveManifest(res, manifest));
    const c = client([s]);
    await rejects(c.getBlob(`${s.host}/${REPO}`, 'sha256:../../../v2/other'), 'invalid-reference');
    await rejects(c.getManifest(`${s.host}/${REPO}`, '../x'), 'invalid-reference');
    assert.equal(s.requests.length, 0);
  });
});

describe('limits and timeouts', () => {
  it('stops reading an endless manifest at the limit', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': MediaTypes.ociManifest });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    await rejects(client([s], { maxManifestBytes: 1024 * 1024 }).getManifest(`${s.host}/${REPO}`, 'v1'), 'registry-too-large');
    await rejects(client([s], { maxBlobBytes: 1024 * 1024 }).getBlob(`${s.host}/${REPO}`, BLOB_DIGEST), 'registry-too-large');
  });

  it('refuses an announced length over the limit without reading', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': MediaTypes.ociManifest, 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
    });
    await rejects(client([s]).getManifest(`${s.host}/${REPO}`, 'v1'), 'registry-too-large');
  });

  it('times out on a server that never answers', async () => {
    const s = await server(() => undefined);
    const started = Date.now();
    const error = await rejects(client([s], { timeoutMs: 300 }).getManifest(`${s.host}/${REPO}`, 'v1'), 'registry-timeout');
    assert.equal(error.retryable, true);
    assert.ok(Date.now() - started < 2000);
  });

  it('times out on a body that stalls halfway', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(blob.subarray(0, 100));
    });
    await rejects(client([s], { timeoutMs: 300 }).getBlob(`${s.host}/${REPO}`, BLOB_DIGEST), 'registry-timeout');
    await rejects(client([s], { timeoutMs: 300 }).getManifest(`${s.host}/${REPO}`, 'v1'), 'registry-timeout');
  });

  it('stops a blob trickled inside the idle timeout at the overall deadline', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // One byte every 50 ms: never idle for 300 ms, never complete.
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const error = await rejects(client([s], { timeoutMs: 300, downloadDeadlineMs: 800 }).getBlob(`${s.host}/${REPO}`, BLOB_DIGEST), 'registry-timeout');
    assert.equal(error.retryable, true);
    assert.match(error.message, /no complete answer within 1 s/);
    assert.ok(Date.now() - started < 5000, 'the deadline, not the idle timeout, ended it');
  });

  it('reports a refused connection as a retryable network error', async () => {
    const s = await server(() => undefined);
    const host = s.host;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const error = await rejects(client([s]).getManifest(`${host}/${REPO}`, 'v1'), 'network-error');
    assert.equal(error.retryable, true);
  });

  it('never speaks plain http to a host not listed as insecure', async () => {
    const s = await server((_req, res) => serveManifest(res, manifest));
    await rejects(client([]).getManifest(`${s.host}/${REPO}`, MANIFEST_DIGEST), 'network-error');
    assert.equal(s.requests.length, 0);
  });
});

describe('redirects', () => {
  it('follows a blob redirect to a storage host without the Authorization header', async () => {
    const storage = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(blob);
    });
    const registry = await server((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' });
        res.end();
        return;
      }
      res.writeHead(307, { location: `${storage.origin}/bucket/blob?X-Amz-Signature=abc` });
      res.end();
    });
    const got = await client([registry, storage], { credentials: () => CREDS }).getBlob(`${registry.host}/${REPO}`, BLOB_DIGEST);
    assert.deepEqual(got, blob);
    assert.equal(registry.requests.length, 2);
    assert.equal(registry.requests[1].headers.authorization, `Basic ${Buffer.from(`robot:${SECRET}`).toString('base64')}`);
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0].headers.authorization, undefined);
  });

  it('refuses a redirect to plain http on a host not listed as insecure', async () => {
    const storage = await server((_req, res) => {
      res.writeHead(200);
      res.end(blob);
    });
    const registry = await server((_req, res) => {
      res.writeHead(302, { location: `${storage.origin}/blob?X-Amz-Signature=abc` });
      res.end();
    });
    await rejects(client([registry]).getBlob(`${registry.host}/${REPO}`, BLOB_DIGEST), 'registry-redirect-refused');
    assert.equal(storage.requests.length, 0);
  });

  it('gives up after a few redirects', async () => {
    const registry = await server((req, res) => {
      res.writeHead(302, { location: `${req.url}?X-Amz-Signature=abc` });
      res.end();
    });
    await rejects(client([registry]).getBlob(`${registry.host}/${REPO}`, BLOB_DIGEST), 'registry-redirect-refused');
    assert.equal(registry.requests.length, 4); // the request and three redirects
  });

  it('refuses a tag-list Link that leaves the repository', async () => {
    const registry = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', link: '<http://evil.example/v2/org/repo/tags/list?last=a>; rel="next"' });
      res.end(JSON.stringify({ name: REPO, tags: ['a'] }));
    });
    await rejects(client([registry]).listTags(`${registry.host}/${REPO}`), 'registry-bad-response');
  });
});

describe('authentication', () => {
  /** A registry that accepts `Bearer <token>` and points everyone else at `realm`. */
  async function tokenRegistry(realm: () => string, accepted: Set<string>): Promise<TestHttpServer> {
    return server((req, res) => {
      const auth = req.headers.authorization;
      if (auth === undefined || !accepted.has(auth.replace(/^Bearer /, ''))) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${realm()}",service="fake-registry",scope="repository:${REPO}:pull"`,
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"secret details"}]}');
        return;
      }
      serveManifest(res, manifest);
    });
  }

  it('fetches a token with Basic credentials, caches it per scope until it expires', async () => {
    let issued = 0;
    const tokens = await server((_req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `tok-${issued}`, expires_in: 300 }));
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set(['tok-1', 'tok-2', 'tok-3']));
    let now = 1_000_000;
    const c = client([registry, tokens], { credentials: (host) => (host === registry.host ? CREDS : undefined), now: () => now });
    const ref = `${registry.host}/${REPO}`;

    assert.equal((await c.getManifest(ref, MANIFEST_DIGEST)).digest, MANIFEST_DIGEST);
    assert.equal(tokens.requests.length, 1);
    const tokenRequest = new URL(tokens.requests[0].url, tokens.origin);
    assert.equal(tokenRequest.searchParams.get('service'), 'fake-registry');
    assert.equal(tokenRequest.searchParams.get('scope'), `repository:${REPO}:pull`);
    assert.equal(tokens.requests[0].headers.authorization, `Basic ${Buffer.from(`robot:${SECRET}`).toString('base64')}`);
    assert.deepEqual(
      registry.requests.map((r) => r.headers.authorization),
      [undefined, 'Bearer tok-1'],
    );

    // Cached: no token request, no 401.
    await c.getManifest(ref, MANIFEST_DIGEST);
    assert.equal(tokens.requests.length, 1);
    assert.equal(registry.requests.at(-1)?.headers.authorization, 'Bearer tok-1');
    assert.equal(registry.requests.length, 3);

    // Expired: a new token is fetched up front, still no 401.
    now += 300_000;
    await c.getManifest(ref, MANIFEST_DIGEST);
    assert.equal(tokens.requests.length, 2);
    assert.equal(registry.requests.at(-1)?.headers.authorization, 'Bearer tok-2');
    assert.equal(registry.requests.length, 4);
  });

  it('shares one token request among parallel requests', async () => {
    const tokens = await server((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: 'tok-shared' }));
      }, 50);
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set(['tok-shared']));
    const c = client([registry, tokens]);
    await c.getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST); // learns the scheme
    tokens.requests.length = 0;
    const other = `${registry.host}/org/other`;
    await Promise.all([1, 2, 3].map(() => c.getManifest(other, MANIFEST_DIGEST)));
    assert.equal(tokens.requests.length, 1);
  });

  it('gets anonymous tokens without sending any credentials', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'tok-anon' }));
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set(['tok-anon']));
    await client([registry, tokens]).getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST);
    assert.equal(tokens.requests[0].headers.authorization, undefined);
  });

  it('stops after one fresh token is refused (no 401 loop)', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok-useless' }));
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set());
    const c = client([registry, tokens], { credentials: () => CREDS });
    await rejects(c.getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST), 'registry-unauthorized');
    assert.equal(registry.requests.length, 2);
    assert.equal(tokens.requests.length, 1);
    // A second call fetches a token up front and stops at the first 401.
    await rejects(c.getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST), 'registry-unauthorized');
    assert.equal(registry.requests.length, 3);
    assert.equal(tokens.requests.length, 2);
  });

  it('reports credentials refused by the token server as unauthorized, without leaking them', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ details: `bad password ${SECRET}` }));
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set());
    const error = await rejects(
      client([registry, tokens], { credentials: () => CREDS }).getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST),
      'registry-unauthorized',
    );
    assert.equal(error.retryable, false);
  });

  it('refuses a token realm over plain http that is not listed as insecure', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(200);
      res.end('{"token":"tok-x"}');
    });
    const registry = await tokenRegistry(() => `${tokens.origin}/token`, new Set(['tok-x']));
    await rejects(client([registry], { credentials: () => CREDS }).getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST), 'registry-bad-response');
    assert.equal(tokens.requests.length, 0);
  });

  it('answers a Basic challenge with credentials, and fails without them', async () => {
    const expected = `Basic ${Buffer.from(`robot:${SECRET}`).toString('base64')}`;
    const registry = await server((req, res) => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry Realm"' });
        res.end();
        return;
      }
      serveManifest(res, manifest);
    });
    await rejects(client([registry]).getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST), 'registry-unauthorized');
    const c = client([registry], { credentials: () => CREDS });
    assert.equal((await c.getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST)).digest, MANIFEST_DIGEST);
    await c.getManifest(`${registry.host}/${REPO}`, MANIFEST_DIGEST);
    // Remembered: the third request carries Basic at once.
    assert.deepEqual(registry.requests.map((r) => r.headers.authorization !== undefined), [false, false, true, true]);
  });

  it('maps 403, 429 and 5xx to stable codes', async () => {
    const statuses: Record<string, number> = { a: 403, b: 429, c: 503 };
    const registry = await server((req, res) => {
      res.writeHead(statuses[req.url?.split('/').at(-1) ?? ''] ?? 400);
      res.end();
    });
    const c = client([registry]);
    await rejects(c.getManifest(`${registry.host}/${REPO}`, 'a'), 'registry-unauthorized');
    assert.equal((await rejects(c.getManifest(`${registry.host}/${REPO}`, 'b'), 'registry-rate-limited')).retryable, true);
    assert.equal((await rejects(c.getManifest(`${registry.host}/${REPO}`, 'c'), 'registry-unavailable')).retryable, true);
    await rejects(c.getManifest(`${registry.host}/${REPO}`, 'd'), 'registry-bad-response');
  });
});

describe('referrers API', () => {
  it('uses the API when present and filters even when the registry ignores the filter', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        { mediaType: MediaTypes.ociManifest, digest: MANIFEST_DIGEST, size: manifest.length, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
        { mediaType: MediaTypes.ociManifest, digest: BLOB_DIGEST, size: 1, artifactType: 'application/spdx+json' },
      ],
    };
    const registry = await server((_req, res) => {
      res.writeHead(200, { 'content-type': MediaTypes.ociIndex });
      res.end(JSON.stringify(index));
    });
    const result = await client([registry]).getReferrers(`${registry.host}/${REPO}`, MANIFEST_DIGEST, {
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    });
    assert.equal(result.source, 'api');
    assert.deepEqual(result.manifests.map((d) => d.digest), [MANIFEST_DIGEST]);
    assert.match(registry.requests[0].url, /\/v2\/org\/repo\/referrers\/sha256:[0-9a-f]{64}\?artifactType=application%2Fvnd\.dev/);
  });
});
