import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WatchTarget } from '@provwatch/config';
import { type PrismaClient, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { GitHubClient, RekorClient } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { GitHubDouble } from '../../../../test/support/github-double';
import { createTestDatabase } from '../../../../test/support/postgres';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../../test/support/vectors';
import { exampleTarget } from '../../../../test/support/watch-targets';
import { ASSETS_CHECK, ReleaseVerifier } from './release-verifier';

/**
 * A watched target whose GitHub release (served by the API double) holds the real generator
 * v2.1.0 binary and provenance, verified into a real Postgres.
 */
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const MIGRATIONS = join(resolve(__dirname, '../../../../../prisma'), 'migrations');
const PUBLISHED = '2025-02-25T21:00:00Z';

const target: WatchTarget & { id: number } = { ...exampleTarget({ pollIntervalSeconds: 300 }), id: 0 };

describe('release verification into Postgres', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let verifier: ReleaseVerifier;
  let now = new Date('2025-02-25T21:10:00Z');

  before(async () => {
    gh = await GitHubDouble.start();
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    const releases = new ReleaseRepository(prisma);
    target.id = await releases.upsertTarget(target.name, target.github, 'hash');
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    verifier = new ReleaseVerifier({
      github: new GitHubClient({ baseUrl: gh.url, insecureHosts: [gh.storageHost] }),
      rekor: new RekorClient({ baseUrl: 'http://127.0.0.1:9' }),
      releases,
      verifications: new VerificationRepository(prisma),
      trustRoot: () => trustRoot,
      now: () => now,
    });
    gh.repos.set('slsa-framework/example-package', [
      {
        id: 14,
        tag: 'v14',
        publishedAt: PUBLISHED,
        assets: [
          { id: 1401, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' },
          { id: 1402, name: 'multiple.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
        ],
      },
      { id: 15, tag: 'v15', publishedAt: PUBLISHED, assets: [{ id: 1501, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' }] },
    ]);
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
    await gh?.close();
  });

  test('a good release: provenance and assets pass, with evidence in Postgres; absent evidence is pending in the grace period', async () => {
    const result = await verifier.verify(target, 14, 'discovery');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck['artifact-provenance'].status, 'pass', byCheck['artifact-provenance'].message);
    assert.equal(byCheck[ASSETS_CHECK].status, 'pass');
    assert.deepEqual(result.pending.sort(), ['checksums-signature', 'release-sbom']);
    const stored = await prisma.checkResult.findFirstOrThrow({ where: { check: 'artifact-provenance' } });
    const evidence = stored.evidence as any;
    assert.match(evidence.builderId, /generator_generic_slsa3\.yml@refs\/tags\/v2\.1\.0$/);
    assert.ok(Number(evidence.tlog[0].logIndex) > 0);
    assert.equal(evidence.signer.issuer, 'https://token.actions.githubusercontent.com');
  });

  test('re-verification of an unchanged release does not download the binary again', async () => {
    gh.requests.length = 0;
    const result = await verifier.verify(target, 14, 'schedule');
    assert.equal(result.changes.length, 0);
    assert.ok(!gh.requests.some((r) => r.path.endsWith('/releases/assets/1401')));
    assert.ok(gh.requests.some((r) => r.path.endsWith('/releases/assets/1402')), 'evidence is read again');
  });

  test('an asset swapped on GitHub fails as asset-changed and against the provenance', async () => {
    const release = gh.repos.get('slsa-framework/example-package')![0];
    const swapped = Buffer.from(BINARY);
    swapped[2048] ^= 0xff;
    release.assets[0] = { ...release.assets[0], bytes: swapped, updatedAt: '2025-03-01T00:00:00Z' };
    const result = await verifier.verify(target, 14, 'schedule');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck[ASSETS_CHECK].status, 'fail');
    assert.equal(byCheck[ASSETS_CHECK].code, 'asset-changed');
    assert.equal(byCheck['artifact-provenance'].code, 'subject-digest-mismatch');
    assert.deepEqual(result.changes.map((c) => [c.check, c.from, c.to]).sort(), [
      ['artifact-provenance', 'pass', 'fail'],
      [ASSETS_CHECK, 'pass', 'fail'],
    ]);
    // The first-seen digest stays the baseline: the next run still reports the swap.
    const again = await verifier.verify(target, 14, 'schedule');
    assert.equal(again.recorded.find((c) => c.check === ASSETS_CHECK)?.code, 'asset-changed');
  });

  test('provenance still absent after the grace period is missing', async () => {
    const early = await verifier.verify(target, 15, 'discovery');
    assert.ok(early.pending.includes('artifact-provenance'));
    now = new Date(Date.parse(PUBLISHED) + 2 * 3600 * 1000);
    const late = await verifier.verify(target, 15, 'schedule');
    assert.equal(late.recorded.find((c) => c.check === 'artifact-provenance')?.status, 'missing');
    assert.deepEqual(late.pending, []);
  });
});
