import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GitHubDouble } from '../../../../test/support/github-double';
import { vector } from '../../../../test/support/vectors';
import { InMemoryHostHoldStore, UpstreamBackoff, UpstreamBackoffPolicy } from '../backoff/upstream-backoff';
import { SourceError } from '../source.error';
import { GitHubClient } from './github.client';

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

  test('a storage host over plain http that was not allowed is refused', async () => {
    await assert.rejects(client({ insecureHosts: [] }).downloadAsset('slsa-framework', 'example-package', 1401, { maxBytes: 10 * 1024 * 1024 }), code('registry-redirect-refused'));
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

  test('owner and repository names are checked before any request', async () => {
    await assert.rejects(client().listReleases('../../etc', 'passwd'), code('invalid-reference'));
    assert.equal(gh.requests.length, 0);
  });
});
