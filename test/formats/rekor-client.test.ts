import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { RekorClient } from '../../libs/sources/src/rekor/rekor.client';
import { VerificationError } from '@provwatch/verification';
import { type BlobSigning, SigningKit } from '../kit/signing-kit';
import { startHttpServer } from '../support/http-server';
import { RekorDouble } from '../support/rekor-double';
import { closedPortUrl } from './format-fixtures';

/**
 * The Rekor v1 client used for evidence without log data. It only fetches; the verifier checks
 * what comes back. Here: it asks the right questions, stays bounded in size and time, refuses
 * redirects, and turns every failure to ask into `tlog-unavailable` (an `error`, never a `fail`).
 */
const ARTIFACT = Buffer.from('pbs-exporter_0.6.0_linux_amd64\n');
const DIGEST = createHash('sha256').update(ARTIFACT).digest('hex');

let kit: SigningKit;
let rekor: RekorDouble;
let first: BlobSigning;
let second: BlobSigning;

before(async () => {
  kit = await SigningKit.create();
  rekor = await RekorDouble.start();
  first = await kit.signBlob(ARTIFACT);
  second = await kit.signBlob(ARTIFACT, { email: 'someone@else.test' });
});

after(() => rekor.close());

beforeEach(() => rekor.reset());

const client = (opts: { timeoutMs?: number; maxEntries?: number; baseUrl?: string } = {}) => new RekorClient({ baseUrl: rekor.url, ...opts });

function unavailable(err: unknown): boolean {
  assert.ok(err instanceof VerificationError, `expected VerificationError, got ${String(err)}`);
  assert.equal(err.code, 'tlog-unavailable', err.message);
  assert.equal(err.isUndecided, true);
  return true;
}

describe('RekorClient: search and fetch', () => {
  test('searches by sha256 and returns every entry found, as the API serves them', async () => {
    rekor.add(first.rekorApiEntry(), DIGEST).add(second.rekorApiEntry(), DIGEST);
    const { entries, truncated } = await client().findByArtifactDigest(DIGEST);
    assert.equal(truncated, false);
    assert.deepEqual(entries, [Object.values(first.rekorApiEntry())[0], Object.values(second.rekorApiEntry())[0]]);
    assert.deepEqual(rekor.searches, [{ hash: `sha256:${DIGEST}` }]);
    const search = rekor.requests.find((r) => r.url === '/api/v1/index/retrieve');
    assert.equal(search?.method, 'POST');
    assert.match(String(search?.headers['content-type']), /^application\/json/);
  });

  test('no entry for the digest is an empty list, not an error', async () => {
    rekor.add(first.rekorApiEntry(), 'ab'.repeat(32));
    assert.deepEqual(await client().findByArtifactDigest(DIGEST), { entries: [], truncated: false });
  });

  test('an entry can be fetched by its 64-hex uuid and by its 80-hex entry id', async () => {
    rekor.add(first.rekorApiEntry(), DIGEST);
    const expected = Object.values(first.rekorApiEntry())[0];
    assert.deepEqual(await client().getEntry(first.tlogEntry.uuid), expected);
    assert.deepEqual(await client().getEntry(first.tlogEntry.entryId), expected);
  });

  test('a trailing slash on the base URL is tolerated', async () => {
    rekor.add(first.rekorApiEntry(), DIGEST);
    assert.equal((await client({ baseUrl: `${rekor.url}/` }).findByArtifactDigest(DIGEST)).entries.length, 1);
    assert.ok(rekor.requests.every((r) => !r.url.startsWith('//')));
  });

  test('a malformed digest is refused before any request', async () => {
    for (const bad of [DIGEST.toUpperCase(), DIGEST.slice(1), `sha256:${DIGEST}`, '']) {
      await assert.rejects(client().findByArtifactDigest(bad), (err: VerificationError) => err.code === 'input-unreadable');
    }
    assert.equal(rekor.requests.length, 0);
  });
});

describe('RekorClient: limits', () => {
  test('fetches at most maxEntries entries of a search', async () => {
    rekor.add(first.rekorApiEntry(), DIGEST).add(second.rekorApiEntry(), DIGEST);
    const more = await kit.signBlob(ARTIFACT);
    rekor.add(more.rekorApiEntry(), DIGEST);
    const { entries, truncated } = await client({ maxEntries: 2 }).findByArtifactDigest(DIGEST);
    assert.equal(entries.length, 2);
    assert.equal(truncated, true, 'a cut-off search says so');
    assert.equal(rekor.requests.filter((r) => r.url.startsWith('/api/v1/log/entries/')).length, 2);
  });

  test('a response larger than the limit is tlog-unavailable', async () => {
    rekor.misbehave('oversized', 'search');
    await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
  });

  test('a search listing something that is not an entry id is tlog-unavailable', async () => {
    rekor.extraSearchResults = ['../../etc/passwd'];
    await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
  });

  test('a listed entry the log then cannot serve is tlog-unavailable', async () => {
    rekor.extraSearchResults = ['cd'.repeat(32)];
    await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
  });

  test('an entry document with other than one entry is tlog-unavailable', async () => {
    const entry = Object.values(first.rekorApiEntry())[0];
    for (const doc of [{}, { a: entry, b: entry }, { a: 'not an object' }, [entry]]) {
      const server = await startHttpServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(doc));
      });
      try {
        await assert.rejects(new RekorClient({ baseUrl: server.origin }).getEntry(first.tlogEntry.uuid), unavailable);
      } finally {
        await server.close();
      }
    }
  });
});

describe('RekorClient: failures to ask are tlog-unavailable', () => {
  beforeEach(() => rekor.add(first.rekorApiEntry(), DIGEST));

  for (const on of ['search', 'entry'] as const) {
    test(`500 on ${on}`, async () => {
      rekor.misbehave('500', on);
      await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
    });

    test(`junk on ${on}`, async () => {
      rekor.misbehave('junk', on);
      await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
    });

    test(`a redirect on ${on} is refused, not followed`, async () => {
      rekor.misbehave('redirect', on);
      await assert.rejects(client().findByArtifactDigest(DIGEST), unavailable);
      // The redirect target would have answered correctly: prove it was never asked.
      assert.ok(rekor.requests.every((r) => !r.url.startsWith('/followed-redirect')), JSON.stringify(rekor.requests.map((r) => r.url)));
    });

    test(`a hang on ${on} ends at the timeout`, async () => {
      rekor.misbehave('hang', on);
      const started = Date.now();
      await assert.rejects(client({ timeoutMs: 300 }).findByArtifactDigest(DIGEST), unavailable);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    });
  }

  test('a body that stalls after the headers ends at the timeout', async () => {
    const server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('["');
      // never ends: only the client's own deadline can stop it
    });
    try {
      const started = Date.now();
      await assert.rejects(new RekorClient({ baseUrl: server.origin, timeoutMs: 300 }).findByArtifactDigest(DIGEST), unavailable);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    } finally {
      await server.close();
    }
  });

  test('connection refused', async () => {
    await assert.rejects(new RekorClient({ baseUrl: await closedPortUrl() }).findByArtifactDigest(DIGEST), unavailable);
  });
});
