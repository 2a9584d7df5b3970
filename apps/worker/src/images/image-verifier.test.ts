import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImageTarget, WatchTarget } from '@provwatch/config';
import { type PrismaClient, ImageRepository, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { OciRegistryClient } from '@provwatch/sources';
import { CuePolicyEvaluator, SigstoreTrustRoot } from '@provwatch/verification';
import { createTestDatabase } from '../../../../test/support/postgres';
import { type TestRegistry, pushBlob, pushJsonManifest, pushOciLayout, startRegistry } from '../../../../test/support/registry';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../../test/support/vectors';
import { exampleTarget } from '../../../../test/support/watch-targets';
import { IMAGE_CHECKS, ImageVerifier } from './image-verifier';

/** The real container generator v2.1.0 output in a real docker-registry, verified into Postgres. */
const LAYOUT = vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch');
const DIGEST = readFileSync(vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch.digest'), 'utf8').trim();
const MIGRATIONS = join(resolve(__dirname, '../../../../../prisma'), 'migrations');
const POLICY = readFileSync(resolve(__dirname, '../../../../../test/fixtures/policies/example-package/policy.cue'), 'utf8');

describe('image verification into Postgres', () => {
  let registry: TestRegistry;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let cue: CuePolicyEvaluator;
  let verifier: ImageVerifier;
  let target: WatchTarget & { id: number };
  let image: ImageTarget;
  let now = new Date('2026-11-25T10:00:00Z');

  before(async () => {
    registry = await startRegistry();
    await pushOciLayout(registry.host, 'slsa/example-package', LAYOUT, 'main');
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    cue = new CuePolicyEvaluator();
    target = { ...exampleTarget({ gracePeriodSeconds: 600 }), id: 0 };
    target.id = await new ReleaseRepository(prisma).upsertTarget(target.name, target.github, 'h');
    image = { ref: `${registry.host}/slsa/example-package`, provenancePolicy: { path: 'policy.cue', source: POLICY } };
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    verifier = new ImageVerifier({
      registry: new OciRegistryClient({ insecureHosts: [registry.host] }),
      images: new ImageRepository(prisma),
      verifications: new VerificationRepository(prisma),
      trustRoot: () => trustRoot,
      cue,
      now: () => now,
    });
  });
  after(async () => {
    await cue?.close();
    await prisma?.$disconnect();
    await db?.drop();
    await registry?.stop();
  });

  test('provenance passes with the project policy; the absent signature is pending in the grace period, the undeclared SBOM not-applicable', async () => {
    const result = await verifier.verifyTag(target, image, 'main', 'discovery');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck[IMAGE_CHECKS.provenance].status, 'pass', byCheck[IMAGE_CHECKS.provenance].message);
    assert.equal((byCheck[IMAGE_CHECKS.provenance].evidence as any).digest, DIGEST);
    assert.equal((byCheck[IMAGE_CHECKS.provenance].evidence as any).details.policy, 'allowed');
    assert.equal(byCheck[IMAGE_CHECKS.tag].status, 'pass');
    assert.deepEqual(result.pending, [IMAGE_CHECKS.signature]);
    assert.equal(byCheck[IMAGE_CHECKS.sbom].status, 'not-applicable');
  });

  test('after the grace period, absent evidence is missing', async () => {
    now = new Date(now.getTime() + 3600_000);
    const result = await verifier.verifyTag(target, image, 'main', 'schedule');
    assert.equal(result.recorded.find((c) => c.check === IMAGE_CHECKS.signature)?.status, 'missing');
    assert.deepEqual(result.pending, []);
  });

  test('a tag moved to another digest fails as tag-moved, and keeps failing', async () => {
    const config = await pushBlob(registry.host, 'slsa/example-package', Buffer.from('{}'));
    await pushJsonManifest(
      registry.host,
      'slsa/example-package',
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [] },
      ['main'],
    );
    const result = await verifier.verifyTag(target, image, 'main', 'schedule');
    const tag = result.recorded.find((c) => c.check === IMAGE_CHECKS.tag)!;
    assert.equal(tag.status, 'fail');
    assert.equal(tag.code, 'tag-moved');
    assert.ok(result.changes.some((c) => c.check === IMAGE_CHECKS.tag && c.to === 'fail'));
    // The moved-to image has no attestation at all.
    assert.equal(result.recorded.find((c) => c.check === IMAGE_CHECKS.provenance)?.status, 'missing');
    const again = await verifier.verifyTag(target, image, 'main', 'schedule');
    assert.equal(again.recorded.find((c) => c.check === IMAGE_CHECKS.tag)?.code, 'tag-moved');
  });

  test('a release-like tag expects that tag as the source ref: the main-branch build fails it', async () => {
    await pushOciLayout(registry.host, 'slsa/example-package', LAYOUT, 'v14.0.0');
    const result = await verifier.verifyTag(target, image, 'v14.0.0', 'discovery');
    assert.equal(result.recorded.find((c) => c.check === IMAGE_CHECKS.provenance)?.code, 'source-tag-mismatch');
  });

  test('an unreachable registry leaves every image check undecided, never pass', async () => {
    const down = new ImageVerifier({
      registry: new OciRegistryClient({ insecureHosts: ['127.0.0.1:9'], timeoutMs: 1000 }),
      images: new ImageRepository(prisma),
      verifications: new VerificationRepository(prisma),
      trustRoot: () => SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT)),
      cue,
    });
    await assert.rejects(down.verifyTag(target, { ref: '127.0.0.1:9/x/y' }, 'main', 'schedule'), (err: Error & { code?: string }) => err.code === 'network-error');
  });
});
