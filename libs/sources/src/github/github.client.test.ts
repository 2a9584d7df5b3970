import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GitHubDouble } from '../../../../test/support/github-double';
import { vector } from '../../../../test/support/vectors';
import { withAbortSignal } from '../abort-scope';
import { InMemoryHostHoldStore, UpstreamBackoff, UpstreamBackoffPolicy } from '../backoff/upstream-backoff';
import { SourceError } from '../source.error';
import { GitHubClient } from './github.client';
import { snappyDecode, snappyUncompress } from './snappy';

const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const TOKEN = 'ghp_secret-token-value';

let gh: GitHubDouble;
const client = (opts: Partial<ConstructorParameters<typeof GitHubClient>[0]> = {}) =>
  new GitHubClient({ baseUrl: gh.url, token: TOKEN, insecureHosts: [gh.storageHost], timeoutMs: 2000, ...opts });
const code = (c: string) => (err: unknown) => err instanceof SourceError && err.code === c && !err.message.includes(TOKEN);

before(async () => {
  gh = await GitHubDouble.start();
});
after(() => gh.close());
beforeEach(() => {
  gh.setFault(undefined);
  gh.attestations.clear();
  gh.bundleOverrides.clear();
  gh.attestationShape = 'both';
  gh.bundleEncoding = 'snappy';
  gh.attestationsPerPage = 30;
  gh.attestationsMaxPerPage = 100;
  gh.bundleDelayMs = 0;
  gh.pathFaults.length = 0;
  gh.requests.length = 0;
  gh.rateLimit.remaining = 5000;
  gh.repos.set('slsa-framework/example-package', [
    {
      id: 14,
      tag: 'v14',
      publishedAt: '2025-02-25T21:00:00Z',
      assets: [
        { id: 1401, name: 'binary-linux-amd64', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' },
        { id: 1402, name: 'binary-linux-amd64.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
      ],
    },
    ...Array.from({ length: 4 }, (_, i) => ({ id: i + 1, tag: `v${i + 1}`, publishedAt: `2024-0${i + 1}-01T00:00:00Z`, assets: [] })),
    { id: 99, tag: 'v15-draft', draft: true, publishedAt: '2025-03-01T00:00:00Z', assets: [] },
  ]);
});

/** The client hung up on every trickled download (none left open on the double). */
async function eventuallyClosed(): Promise<void> {
  for (let i = 0; i < 50 && gh.trickles.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(gh.trickles.open, 0, 'the trickled connection was closed');
}

describe('GitHubClient against the API double', () => {
  test('lists every release across pages, newest first, with drafts flagged', async () => {
    const page = await client().listReleases('slsa-framework', 'example-package', { perPage: 2 });
    assert.equal(page.notModified, false);
    if (page.notModified) return;
    assert.deepEqual(page.releases.map((r) => r.tag), ['v15-draft', 'v14', 'v4', 'v3', 'v2', 'v1']);
    assert.equal(page.releases[0].draft, true);
    assert.equal(page.releases[1].assets[0].size, BINARY.length);
    assert.equal(gh.requests.filter((r) => r.server === 'api').length, 3);
    assert.ok(page.etag);
  });

  test('an unchanged repository polled again costs a 304 and no rate limit', async () => {
    const first = await client().listReleases('slsa-framework', 'example-package');
    assert.equal(first.notModified, false);
    const remaining = gh.rateLimit.remaining;
    const again = await client().listReleases('slsa-framework', 'example-package', { etag: first.notModified ? undefined : first.etag });
    assert.equal(again.notModified, true);
    assert.equal(gh.requests.at(-1)?.status, 304);
    assert.equal(gh.rateLimit.remaining, remaining);
    assert.equal(again.rateLimit.remaining, remaining);
  });

  test('assets are streamed through SHA-256 from the storage host, which never sees the token', async () => {
    const asset = await client().downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 });
    assert.equal(asset.sha256, createHash('sha256').update(BINARY).digest('hex'));
    assert.equal(asset.size, BINARY.length);
    assert.equal(asset.bytes, undefined);
    const api = gh.requests.find((r) => r.server === 'api')!;
    const storage = gh.requests.find((r) => r.server === 'storage')!;
    assert.equal(api.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(storage.headers.authorization, undefined);
    const evidence = await client().downloadAsset('slsa-framework', 'example-package', 1402, { maxBytes: 1024 * 1024, keepBytesUpTo: 1024 * 1024 });
    assert.deepEqual(evidence.bytes, PROVENANCE);
  });

  test('an asset over the size limit is refused', async () => {
    await assert.rejects(client().downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 1000 }), code('registry-too-large'));
  });

  test('a trickled asset ends at the download deadline, though every byte comes inside the idle timeout', async () => {
    const release = gh.repos.get('slsa-framework/example-package')![0];
    release.assets[0] = { ...release.assets[0], trickleMs: 50 };
    const started = Date.now();
    await assert.rejects(
      client({ timeoutMs: 500, downloadDeadlineMs: 1000 }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 }),
      (err: unknown) => code('registry-timeout')(err) && (err as SourceError).retryable && /no complete answer within 1 s/.test((err as SourceError).message),
    );
    assert.ok(Date.now() - started < 5000);
    await eventuallyClosed();
  });

  test('an abort of the enclosing job (withAbortSignal) stops a download in flight', async () => {
    const release = gh.repos.get('slsa-framework/example-package')![0];
    release.assets[0] = { ...release.assets[0], trickleMs: 50 };
    const job = new AbortController();
    setTimeout(() => job.abort(), 300);
    await assert.rejects(
      withAbortSignal(job.signal, () => client({ timeoutMs: 5000, downloadDeadlineMs: 60_000 }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 })),
      (err: unknown) => code('registry-timeout')(err) && /verification ran out of time/.test((err as SourceError).message),
    );
    await eventuallyClosed();
  });

  test('a storage host over plain http that was not allowed is refused', async () => {
    await assert.rejects(client({ insecureHosts: [] }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 }), code('registry-redirect-refused'));
  });

  test('asset downloads (http1 path) keep the API\'s answers: rate limit by message, 500, a refused redirect with nothing sent to storage', async () => {
    const assetPath = /^\/repos\/slsa-framework\/example-package\/releases\/assets\/1401$/;
    const download = () => client().downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 });
    gh.pathFaults.push({ path: assetPath, fault: 'secondary-rate-limit-403', times: 1 });
    await assert.rejects(download(), (err: unknown) => code('github-rate-limited')(err) && (err as SourceError).retryAfterSeconds === 60);
    gh.pathFaults.push({ path: assetPath, fault: 'error-500', times: 1 });
    await assert.rejects(download(), (err: unknown) => code('github-unavailable')(err) && (err as SourceError).retryable);
    gh.pathFaults.push({ path: assetPath, fault: 'redirect-refused', times: 1 });
    await assert.rejects(download(), code('registry-redirect-refused'));
    assert.equal(gh.requests.filter((r) => r.server === 'storage').length, 0);
    await assert.rejects(client().downloadAsset('slsa-framework', 'example-package', 999, { maxBytes: 1024 }), (err: unknown) => code('github-not-found')(err) && (err as SourceError).isNotFound);
  });

  test('a 429 on an asset download holds the API host in the shared back-off, as any other request\'s', async () => {
    let now = Date.now();
    const backoff = new UpstreamBackoff(new InMemoryHostHoldStore(), new UpstreamBackoffPolicy(), { now: () => now });
    gh.pathFaults.push({ path: /\/releases\/assets\/1401$/, fault: 'rate-limited-retry-after', retryAfterSeconds: 5 });
    await assert.rejects(client({ backoff }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 }), (err: unknown) => code('github-rate-limited')(err) && (err as SourceError).retryAfterSeconds === 5);
    gh.pathFaults.length = 0;
    await assert.rejects(client({ backoff }).getRelease('slsa-framework', 'example-package', 14), (err: unknown) => code('github-rate-limited')(err) && (err as SourceError).heldUntilMs === now + 5000);
    assert.equal(gh.requests.length, 1, 'nothing sent while held');
    now += 5000;
    const asset = await client({ backoff }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 });
    assert.equal(asset.sha256, createHash('sha256').update(BINARY).digest('hex'));
  });

  test('a large asset (hashed on the hashing thread) has the digest of its bytes; storage never sees the token', async () => {
    const large = Buffer.alloc(24 * 1024 * 1024 + 5, 0x42);
    gh.repos.get('slsa-framework/example-package')![0].assets.push({ id: 1403, name: 'large.tar.gz', bytes: large, updatedAt: '2025-02-25T21:07:00Z' });
    const asset = await client().downloadAsset('slsa-framework', 'example-package', 1403, { maxBytes: 32 * 1024 * 1024, keepBytesUpTo: 1024 * 1024 });
    assert.equal(asset.sha256, createHash('sha256').update(large).digest('hex'));
    assert.equal(asset.size, large.length);
    assert.equal(asset.bytes, undefined);
    assert.equal(gh.requests.find((r) => r.server === 'storage')?.headers.authorization, undefined);
    await assert.rejects(client().downloadAsset('slsa-framework', 'example-package', 1403, { maxBytes: 16 * 1024 * 1024 }), code('registry-too-large'));
  });

  test('a 403 whose only sign of a secondary rate limit is its message is a retryable rate limit, not a bad token', async () => {
    gh.pathFaults.push({ path: /^\/repos\/slsa-framework\/example-package\/releases$/, fault: 'secondary-rate-limit-403' });
    try {
      await assert.rejects(client().listReleases('slsa-framework', 'example-package'), (err: unknown) =>
        code('github-rate-limited')(err) && (err as SourceError).retryable && (err as SourceError).retryAfterSeconds === 60);
    } finally {
      gh.pathFaults.length = 0;
    }
  });

  test('a 429 holds the host for Retry-After: until then nothing is sent, by this or any client sharing the back-off', async () => {
    let now = Date.now();
    const backoff = new UpstreamBackoff(new InMemoryHostHoldStore(), new UpstreamBackoffPolicy(), { now: () => now });
    gh.pathFaults.push({ path: /^\/repos\/slsa-framework\/example-package\/releases$/, fault: 'rate-limited-retry-after', retryAfterSeconds: 6 });
    try {
      await assert.rejects(client({ backoff }).listReleases('slsa-framework', 'example-package'), (err: unknown) =>
        code('github-rate-limited')(err) && (err as SourceError).retryAfterSeconds === 6 && /resource core/.test((err as Error).message) && (err as SourceError).heldUntilMs === undefined);
      assert.equal(gh.requests.length, 1);
      // Another client (a verify job) on the same back-off: refused locally, nothing sent.
      await assert.rejects(client({ backoff }).getRelease('slsa-framework', 'example-package', 14), (err: unknown) =>
        code('github-rate-limited')(err) && (err as SourceError).heldUntilMs === now + 6000 && /no request sent/.test((err as Error).message));
      assert.equal(gh.requests.length, 1);
      gh.pathFaults.length = 0;
      now += 6000;
      assert.equal((await client({ backoff }).getRelease('slsa-framework', 'example-package', 14)).tag, 'v14');
      assert.equal(gh.requests.length, 2);
    } finally {
      gh.pathFaults.length = 0;
    }
  });

  test('rate limit exhausted, 5xx, invalid JSON, a hang and 404 each have their code', async () => {
    gh.setFault('rate-limited');
    await assert.rejects(client().listReleases('slsa-framework', 'example-package'), (err: unknown) =>
      code('github-rate-limited')(err) && (err as SourceError).retryable && (err as SourceError).retryAfterSeconds === 60);
    gh.rateLimit.remaining = 5000; // the window resets
    gh.setFault('error-500');
    await assert.rejects(client().listReleases('slsa-framework', 'example-package'), (err: unknown) => code('github-unavailable')(err) && (err as SourceError).retryable);
    gh.setFault('invalid-json');
    await assert.rejects(client().listReleases('slsa-framework', 'example-package'), code('github-bad-response'));
    gh.setFault('hang');
    await assert.rejects(client({ timeoutMs: 300 }).listReleases('slsa-framework', 'example-package'), code('github-unavailable'));
    gh.setFault(undefined);
    await assert.rejects(client().listReleases('nobody', 'nothing'), (err: unknown) => code('github-not-found')(err) && (err as SourceError).isNotFound);
  });

  test('attestations API: bundles for a digest, none is an empty list', async () => {
    const hex = createHash('sha256').update(BINARY).digest('hex');
    gh.attestations.set(hex, [JSON.parse(PROVENANCE.toString())]);
    const bundles = await client().getAttestations('slsa-framework', 'example-package', hex);
    assert.equal(bundles.length, 1);
    assert.deepEqual(await client().getAttestations('slsa-framework', 'example-package', 'f'.repeat(64)), []);
  });

  test('releases over three pages: pages 2 and 3 come from GitHub\'s /repositories/<id>/releases links', async () => {
    const page = await client().listReleases('slsa-framework', 'example-package', { perPage: 3 });
    assert.equal(page.notModified, false);
    if (page.notModified) return;
    assert.deepEqual(page.releases.map((r) => r.tag), ['v15-draft', 'v14', 'v4', 'v3', 'v2', 'v1']);
    const paths = gh.requests.filter((r) => r.server === 'api').map((r) => r.path);
    assert.equal(paths.length, 2);
    // Six releases fill two pages of three; a seventh makes a third page.
    gh.repos.get('slsa-framework/example-package')!.push({ id: 0, tag: 'v0', publishedAt: '2023-01-01T00:00:00Z', assets: [] });
    gh.requests.length = 0;
    const three = await client().listReleases('slsa-framework', 'example-package', { perPage: 3 });
    assert.equal(three.notModified, false);
    if (three.notModified) return;
    assert.deepEqual(three.releases.map((r) => r.tag), ['v15-draft', 'v14', 'v4', 'v3', 'v2', 'v1', 'v0']);
    const id = gh.repoId('slsa-framework/example-package');
    assert.deepEqual(
      gh.requests.filter((r) => r.server === 'api').map((r) => r.path),
      ['/repos/slsa-framework/example-package/releases?per_page=3', `/repositories/${id}/releases?per_page=3&page=2`, `/repositories/${id}/releases?per_page=3&page=3`],
    );
  });

  test('GitHub\'s immutable flag is read per release; absent, it is not guessed', async () => {
    gh.repos.get('slsa-framework/example-package')![0].immutable = true;
    const page = await client().listReleases('slsa-framework', 'example-package');
    assert.equal(page.notModified, false);
    if (page.notModified) return;
    assert.equal(page.releases.find((r) => r.tag === 'v14')?.immutable, true);
    assert.equal(page.releases.find((r) => r.tag === 'v4')?.immutable, false);
    assert.equal((await client().getRelease('slsa-framework', 'example-package', 14)).immutable, true);
    gh.sendImmutable = false;
    const older = await client().getRelease('slsa-framework', 'example-package', 14);
    gh.sendImmutable = true;
    assert.equal('immutable' in older, false);
  });

  test('a secondary rate limit names the limit GitHub says was hit (x-ratelimit-resource)', async () => {
    gh.pathFaults.push({ path: /releases$/, fault: 'rate-limited-no-retry-after' });
    await assert.rejects(client().listReleases('slsa-framework', 'example-package'), (err: unknown) => code('github-rate-limited')(err) && /\(resource core\)/.test((err as Error).message));
  });

  describe('attestations', () => {
    const hex = createHash('sha256').update(BINARY).digest('hex');
    const bundle = () => JSON.parse(PROVENANCE.toString()) as object;
    const storage = () => gh.requests.filter((r) => r.server === 'storage');

    test('items with only a bundle_url (API 2026-03-10): fetched from storage, which never sees the token', async () => {
      gh.attestationShape = 'url-only';
      gh.attestations.set(hex, [bundle()]);
      assert.deepEqual(await client().getAttestations('slsa-framework', 'example-package', hex), [bundle()]);
      assert.equal(storage().length, 1);
      assert.match(storage()[0].path, /^\/attestation-bundles\//);
      assert.equal(storage()[0].headers.authorization, undefined);
      assert.equal(gh.requests.find((r) => r.server === 'api')?.headers.authorization, `Bearer ${TOKEN}`);
    });

    test('a plain JSON bundle_url body is read too; an inline bundle needs no second request', async () => {
      gh.attestationShape = 'url-only';
      gh.bundleEncoding = 'json';
      gh.attestations.set(hex, [bundle()]);
      assert.deepEqual(await client().getAttestations('slsa-framework', 'example-package', hex), [bundle()]);
      gh.attestationShape = 'both';
      gh.requests.length = 0;
      assert.deepEqual(await client().getAttestations('slsa-framework', 'example-package', hex), [bundle()]);
      assert.equal(storage().length, 0);
    });

    test('pages follow the after cursor of the Link header, and stop at the page bound', async () => {
      gh.attestationShape = 'url-only';
      gh.attestationsMaxPerPage = 2;
      const five = Array.from({ length: 5 }, (_, i) => ({ ...bundle(), n: i }));
      gh.attestations.set(hex, five);
      assert.deepEqual(await client().getAttestations('slsa-framework', 'example-package', hex), five);
      const api = gh.requests.filter((r) => r.server === 'api');
      assert.equal(api.length, 3);
      assert.match(api[1].path, /[?&]after=[A-Za-z0-9_-]+/);
      gh.attestationsMaxPerPage = 1;
      gh.attestations.set(hex, Array.from({ length: 9 }, (_, i) => ({ ...bundle(), n: i })));
      gh.requests.length = 0;
      assert.equal((await client().getAttestations('slsa-framework', 'example-package', hex)).length, 5);
      assert.equal(gh.requests.filter((r) => r.server === 'api').length, 5);
    });

    test('a bundle_url over plain http to a host not listed insecure is refused, nothing sent there', async () => {
      gh.attestationShape = 'url-only';
      gh.attestations.set(hex, [bundle()]);
      await assert.rejects(client({ insecureHosts: [] }).getAttestations('slsa-framework', 'example-package', hex), (err: unknown) => code('github-bad-response')(err) && !/secret-presigned/.test((err as Error).message));
      assert.equal(storage().length, 0);
    });

    test('an oversized or unreadable bundle is an error, never "no attestations"', async () => {
      gh.attestationShape = 'url-only';
      gh.attestations.set(hex, [bundle()]);
      await assert.rejects(client({ maxBundleBytes: 100 }).getAttestations('slsa-framework', 'example-package', hex), code('registry-too-large'));
      gh.bundleEncoding = 'json';
      await assert.rejects(client({ maxBundleBytes: 100 }).getAttestations('slsa-framework', 'example-package', hex), code('registry-too-large'));
      gh.pathFaults.length = 0;
      const [item] = gh.attestations.get(hex)!;
      gh.attestations.set(hex, [item, item]);
      gh.bundleOverrides.set(`${hex}/1`, []);
      await assert.rejects(client().getAttestations('slsa-framework', 'example-package', hex), (err: unknown) => code('github-bad-response')(err) && !/secret-presigned/.test((err as Error).message));
      // An item with neither a bundle nor a bundle_url is listed evidence that cannot be read.
      gh.attestationShape = 'inline';
      gh.attestations.set(hex, [null as unknown as object]);
      await assert.rejects(client().getAttestations('slsa-framework', 'example-package', hex), code('github-bad-response'));
    });

    test('a slow bundle_url, or many, cannot hold the lookup past its deadline: an error, not a partial list', async () => {
      gh.attestationShape = 'url-only';
      gh.attestations.set(hex, [bundle()]);
      gh.bundleDelayMs = 1000;
      await assert.rejects(client({ timeoutMs: 200 }).getAttestations('slsa-framework', 'example-package', hex), code('github-unavailable'));
      // Each answer inside the request deadline, all of them together not inside three.
      gh.bundleDelayMs = 150;
      gh.attestations.set(hex, Array.from({ length: 6 }, (_, i) => ({ ...bundle(), n: i })));
      const started = Date.now();
      await assert.rejects(client({ timeoutMs: 200 }).getAttestations('slsa-framework', 'example-package', hex), code('github-unavailable'));
      assert.ok(Date.now() - started < 2000, 'ended near its deadline');
    });

    test('the attestations link may not leave the API host', async () => {
      gh.attestationsMaxPerPage = 1;
      gh.attestations.set(hex, [bundle(), bundle()]);
      const foreign = new GitHubClient({ baseUrl: gh.url.replace('127.0.0.1', 'localhost'), token: TOKEN, insecureHosts: [gh.storageHost], timeoutMs: 2000 });
      await assert.rejects(foreign.getAttestations('slsa-framework', 'example-package', hex), code('github-bad-response'));
      assert.equal(gh.requests.filter((r) => r.server === 'api').length, 1);
    });
  });

  test('snappy blocks: literals and overlapping copies decode; bombs and bad offsets are refused', () => {
    // "abcabcabcabc": length 12, literal "abc", then a 1-byte-offset copy of 9 bytes at offset 3
    // (kind 1 holds 4..11: 9 -> (9-4)<<2 | 1).
    const block = Buffer.from([12, (3 - 1) << 2, 0x61, 0x62, 0x63, ((9 - 4) << 2) | 1, 3]);
    assert.equal(snappyDecode(block, 100, 'x').toString(), 'abcabcabcabc');
    assert.throws(() => snappyDecode(block, 11, 'x'), (err: unknown) => err instanceof SourceError && err.code === 'registry-too-large');
    assert.throws(() => snappyDecode(Buffer.from([12, (3 - 1) << 2, 0x61, 0x62, 0x63, ((9 - 4) << 2) | 1, 4]), 100, 'x'), (err: unknown) => err instanceof SourceError && err.code === 'github-bad-response');
    assert.throws(() => snappyDecode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), 2 ** 40, 'x'), SourceError);
    // The framing format: stream identifier, a compressed chunk (that block), an uncompressed one.
    const chunk = (type: number, data: Buffer) => Buffer.concat([Buffer.from([type, data.length & 0xff, (data.length >> 8) & 0xff, data.length >> 16]), data]);
    const crc = Buffer.alloc(4); // not checked: the bundle's signature is
    const framed = Buffer.concat([Buffer.from([0xff, 6, 0, 0]), Buffer.from('sNaPpY'), chunk(0x00, Buffer.concat([crc, block])), chunk(0xfe, Buffer.alloc(3)), chunk(0x01, Buffer.concat([crc, Buffer.from('!')]))]);
    assert.equal(snappyUncompress(framed, 100, 'x').toString(), 'abcabcabcabc!');
    assert.equal(snappyUncompress(block, 100, 'x').toString(), 'abcabcabcabc');
    assert.throws(() => snappyUncompress(framed, 12, 'x'), (err: unknown) => err instanceof SourceError && err.code === 'registry-too-large');
    assert.throws(() => snappyUncompress(Buffer.concat([framed, chunk(0x02, crc)]), 100, 'x'), (err: unknown) => err instanceof SourceError && err.code === 'github-bad-response');
  });

  test('owner and repository names are checked before any request', async () => {
    await assert.rejects(client().listReleases('../../etc', 'passwd'), code('invalid-reference'));
    assert.equal(gh.requests.length, 0);
  });
});
