import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WatchTarget } from '@provwatch/config';
import { type PrismaClient, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { GitHubClient, RekorClient } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { type DoubleRelease, GitHubDouble } from '../../../../test/support/github-double';
import { createTestDatabase } from '../../../../test/support/postgres';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../../test/support/vectors';
import { EXAMPLE_PACKAGE_V14_COMMIT, exampleRelease, exampleTarget } from '../../../../test/support/watch-targets';
import { SigningKit } from '../../../../test/kit/signing-kit';
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

/** A release verifier on the GitHub double and a database, with no Rekor (a closed port). */
function verifierOn(gh: GitHubDouble, prisma: PrismaClient, trustRoot: SigstoreTrustRoot, now: () => Date, github?: GitHubClient): ReleaseVerifier {
  return new ReleaseVerifier({
    github: github ?? new GitHubClient({ baseUrl: gh.url, insecureHosts: [gh.storageHost] }),
    rekor: new RekorClient({ baseUrl: 'http://127.0.0.1:9' }),
    releases: new ReleaseRepository(prisma),
    verifications: new VerificationRepository(prisma),
    trustRoot: () => trustRoot,
    now,
  });
}

/** A GitHub double and a fresh migrated database, with `targets` registered (their ids set). */
async function startVerifierWorld(...targets: Array<WatchTarget & { id: number }>) {
  const gh = await GitHubDouble.start();
  const db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  const prisma = createPrismaClient(db.url);
  const releases = new ReleaseRepository(prisma);
  for (const t of targets) t.id = await releases.upsertTarget(t.name, t.github, 'hash');
  return { gh, db, prisma, releases };
}

async function stopVerifierWorld(world: { gh?: GitHubDouble; db?: { drop(): Promise<void> }; prisma?: PrismaClient }): Promise<void> {
  await world.prisma?.$disconnect();
  await world.db?.drop();
  await world.gh?.close();
}

describe('release verification into Postgres', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let verifier: ReleaseVerifier;
  let now = new Date('2025-02-25T21:10:00Z');

  before(async () => {
    ({ gh, db, prisma } = await startVerifierWorld(target));
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    verifier = verifierOn(gh, prisma, trustRoot, () => now);
    gh.repos.set('slsa-framework/example-package', [
      exampleRelease(BINARY, PROVENANCE),
      { id: 15, tag: 'v15', publishedAt: PUBLISHED, assets: [{ id: 1501, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' }] },
    ]);
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));

  test('a good release: provenance and assets pass, with evidence in Postgres; undeclared evidence is not-applicable, not pending', async () => {
    const result = await verifier.verify(target, 14, 'discovery');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck['artifact-provenance'].status, 'pass', byCheck['artifact-provenance'].message);
    assert.equal(byCheck[ASSETS_CHECK].status, 'pass');
    assert.deepEqual(result.pending, []);
    assert.equal(byCheck['checksums-signature'].status, 'not-applicable');
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

  test('declared evidence: checksums pending in the grace period; provenance still absent after it is missing', async () => {
    const early = await verifier.verify({ ...target, artifacts: { ...target.artifacts, checksums: 'checksums.txt' } }, 15, 'discovery');
    assert.ok(early.pending.includes('checksums-signature'));
    assert.ok(early.pending.includes('artifact-provenance'));
    now = new Date(Date.parse(PUBLISHED) + 2 * 3600 * 1000);
    const late = await verifier.verify(target, 15, 'schedule');
    assert.equal(late.recorded.find((c) => c.check === 'artifact-provenance')?.status, 'missing');
    assert.deepEqual(late.pending, []);
  });
});

/**
 * What a target is held to: a project that publishes only provenance turns green; evidence its
 * earlier releases carried and a later one lacks pages as evidence-regressed. Checksums are
 * signed by the test kit, the provenance is the real generator output.
 */
describe('evidence expectations, through the release verifier and Postgres', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let kit: SigningKit;
  let releases: ReleaseRepository;
  const now = new Date('2025-06-01T00:00:00Z');
  const PBS_IDENTITY = { issuer: 'https://token.actions.githubusercontent.com', subjectRegexp: '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$' };
  const verifierFor = (trustRoot: SigstoreTrustRoot) => verifierOn(gh, prisma, trustRoot, () => now);
  const watched = async (name: string, github: string, overrides: Partial<WatchTarget>) => {
    const t = { ...exampleTarget({ name, github, ...overrides }), id: 0 };
    t.id = await releases.upsertTarget(t.name, t.github, 'hash');
    return t;
  };
  const signedChecksums = async (id: number, tag: string) => {
    const text = Buffer.from(`${createHash('sha256').update(`binary ${tag}`).digest('hex')}  tool_linux_amd64\n`);
    const signed = await kit.signBlob(text, { github: { ref: `refs/tags/${tag}` } });
    return [
      { id: id * 10 + 1, name: 'tool_linux_amd64', bytes: Buffer.from(`binary ${tag}`), updatedAt: '2025-05-01T00:00:00Z' },
      { id: id * 10 + 2, name: 'checksums.txt', bytes: text, updatedAt: '2025-05-01T00:00:00Z' },
      { id: id * 10 + 3, name: 'checksums.txt.sigstore.json', bytes: Buffer.from(JSON.stringify(signed.bundle('0.3'))), updatedAt: '2025-05-01T00:00:00Z' },
    ];
  };

  before(async () => {
    ({ gh, db, prisma, releases } = await startVerifierWorld());
    kit = await SigningKit.create({ now: new Date('2025-05-01T00:00:00Z') });
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));

  test('a provenance-only target passes: checksums and SBOM it never declared nor published are not-applicable, never pending', async () => {
    const target = await watched('provenance-only', 'acme/provenance-only', {});
    gh.repos.set('acme/provenance-only', [
      exampleRelease(BINARY, PROVENANCE),
    ]);
    const result = await verifierFor(SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT))).verify(target, 14, 'discovery');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.deepEqual(result.pending, []);
    assert.equal(byCheck['artifact-provenance'].status, 'pass', byCheck['artifact-provenance'].message);
    for (const check of ['checksums-signature', 'release-sbom']) {
      assert.equal(byCheck[check].status, 'not-applicable', check);
      assert.equal(byCheck[check].code, 'evidence-not-promised', check);
    }
    const run = await prisma.verificationRun.findFirstOrThrow({ where: { targetId: target.id }, orderBy: { id: 'desc' } });
    assert.equal(run.status, 'pass', 'a release whose applicable checks all pass is pass');
    const latest = await new VerificationRepository(prisma).latestChecks(target.id, 'release', 'v14');
    assert.equal(latest.find((c) => c.check === 'release-sbom')?.status, 'not-applicable');
  });

  test('checksums published for three releases and not for the fourth: evidence-regressed, naming the last release that had them', async () => {
    const target = await watched('regressed', 'acme/regressed', { identity: PBS_IDENTITY, artifacts: {} });
    const day = (d: number) => `2025-05-0${d}T00:00:00Z`;
    gh.repos.set('acme/regressed', [
      { id: 1, tag: 'v1.0.0', publishedAt: day(1), assets: await signedChecksums(1, 'v1.0.0') },
      { id: 2, tag: 'v1.1.0', publishedAt: day(2), assets: await signedChecksums(2, 'v1.1.0') },
      { id: 3, tag: 'v1.2.0', publishedAt: day(3), assets: await signedChecksums(3, 'v1.2.0') },
      { id: 4, tag: 'v1.3.0', publishedAt: day(4), assets: [{ id: 41, name: 'tool_linux_amd64', bytes: Buffer.from('binary v1.3.0'), updatedAt: day(4) }] },
    ]);
    const verifier = verifierFor(SigstoreTrustRoot.fromJSON(kit.trustedRoot()));
    // Verified newest first, as a first discovery may: the order of publication decides, not of verification.
    const fourth = await verifier.verify(target, 4, 'discovery');
    assert.equal(fourth.recorded.find((c) => c.check === 'checksums-signature')?.status, 'not-applicable', 'nothing earlier carried checksums yet');
    for (const id of [1, 2, 3]) {
      const r = await verifier.verify(target, id, 'discovery');
      assert.equal(r.recorded.find((c) => c.check === 'checksums-signature')?.status, 'pass', `release ${id}`);
    }
    const again = await verifier.verify(target, 4, 'schedule');
    const checksums = again.recorded.find((c) => c.check === 'checksums-signature')!;
    assert.equal(checksums.status, 'missing');
    assert.equal(checksums.code, 'evidence-regressed');
    assert.match(checksums.message, /^signed checksums published up to v1\.2\.0, absent from v1\.3\.0/);
    assert.ok(again.changes.some((c) => c.check === 'checksums-signature' && c.from === 'not-applicable' && c.to === 'missing'));
    // The provenance none of them carried stays not-applicable throughout.
    assert.equal(again.recorded.find((c) => c.check === 'artifact-provenance')?.status, 'not-applicable');
  });

  test('expect: off silences a check, optional accepts its absence, required holds an undeclared one', async () => {
    const trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    const off = await watched('off', 'acme/regressed', { identity: PBS_IDENTITY, artifacts: {}, expect: { coverage: 'listed', checksums: 'off' } });
    const offRun = await verifierFor(trustRoot).verify(off, 4, 'discovery');
    assert.equal(offRun.recorded.find((c) => c.check === 'checksums-signature')?.code, 'check-off');
    const optional = await watched('optional', 'acme/regressed', { identity: PBS_IDENTITY, artifacts: { checksums: 'checksums.txt' }, expect: { coverage: 'listed', checksums: 'optional' } });
    const optionalRun = await verifierFor(trustRoot).verify(optional, 4, 'discovery');
    assert.equal(optionalRun.recorded.find((c) => c.check === 'checksums-signature')?.status, 'not-applicable');
    const required = await watched('required', 'acme/regressed', { identity: PBS_IDENTITY, artifacts: {}, expect: { coverage: 'listed', provenance: 'required' } });
    const requiredRun = await verifierFor(trustRoot).verify(required, 4, 'discovery');
    assert.equal(requiredRun.recorded.find((c) => c.check === 'artifact-provenance')?.status, 'missing');
  });

  test('coverage: all fails a release binary that no provenance subject covers; listed only lists it', async () => {
    const assets = [
      { id: 5401, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' },
      { id: 5402, name: 'multiple.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
      { id: 5403, name: 'sneaky_linux_amd64.tar.gz', bytes: Buffer.from('not built by the generator'), updatedAt: '2025-02-25T21:07:00Z' },
      { id: 5404, name: 'NOTES.md', bytes: Buffer.from('notes'), updatedAt: '2025-02-25T21:07:00Z' },
    ];
    gh.repos.set('acme/coverage', [{ id: 14, tag: 'v14', publishedAt: PUBLISHED, commit: EXAMPLE_PACKAGE_V14_COMMIT, assets }]);
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    const all = await watched('coverage-all', 'acme/coverage', { expect: { coverage: 'all' } });
    const strict = (await verifierFor(trustRoot).verify(all, 14, 'discovery')).recorded.find((c) => c.check === 'artifact-provenance')!;
    assert.equal(strict.status, 'fail');
    assert.equal(strict.code, 'artifact-uncovered');
    assert.match(strict.message, /sneaky_linux_amd64\.tar\.gz/);
    assert.doesNotMatch(strict.message, /NOTES\.md/);
    const listed = await watched('coverage-listed', 'acme/coverage', {});
    const lenient = (await verifierFor(trustRoot).verify(listed, 14, 'discovery')).recorded.find((c) => c.check === 'artifact-provenance')!;
    assert.equal(lenient.status, 'pass', lenient.message);
    assert.deepEqual((lenient.evidence as any).details.uncoveredAssets, ['sneaky_linux_amd64.tar.gz', 'NOTES.md']);
  });
});

/** Release tags that stay put: resolved at every run, compared with the provenance and the first sighting. */
describe('release tag, through the release verifier and GitHub double', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let verifier: ReleaseVerifier;
  const tagged = { ...exampleTarget({ name: 'tagged' }), id: 0 };
  const MALICIOUS = 'badc0ffee0ddf00dbadc0ffee0ddf00dbadc0ffe';

  before(async () => {
    ({ gh, db, prisma } = await startVerifierWorld(tagged));
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    verifier = verifierOn(gh, prisma, trustRoot, () => new Date('2025-02-25T21:10:00Z'));
    gh.repos.set('slsa-framework/example-package', [
      exampleRelease(BINARY, PROVENANCE),
    ]);
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));
  const tagCheck = (r: { recorded: Array<{ check: string; status: string; code: string; message: string }> }) => r.recorded.find((c) => c.check === 'release-tag')!;

  test('the tag at the commit the provenance built passes; the next run asks with the weak ETag and costs a free 304', async () => {
    const first = tagCheck(await verifier.verify(tagged, 14, 'discovery'));
    assert.equal(first.status, 'pass', first.message);
    gh.requests.length = 0;
    const again = tagCheck(await verifier.verify(tagged, 14, 'schedule'));
    assert.equal(again.status, 'pass');
    const ref = gh.requests.find((r) => r.path.includes('/git/ref/tags/'))!;
    assert.match(String(ref.headers['if-none-match']), /^W\/"/);
    assert.equal(ref.status, 304);
  });

  test('an annotated tag is peeled to its commit', async () => {
    gh.tags.set('slsa-framework/example-package', new Map([['v14', { commit: EXAMPLE_PACKAGE_V14_COMMIT, annotatedSha: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }]]));
    const verdict = tagCheck(await verifier.verify(tagged, 14, 'schedule'));
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.ok(gh.requests.some((r) => r.path.endsWith('/git/tags/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')));
  });

  test('forged: the tag moved to another commit after release fails as tag-moved, and a deleted tag too', async () => {
    gh.tags.set('slsa-framework/example-package', new Map([['v14', { commit: MALICIOUS }]]));
    const result = await verifier.verify(tagged, 14, 'schedule');
    const moved = tagCheck(result);
    assert.equal(moved.status, 'fail');
    assert.equal(moved.code, 'tag-moved');
    assert.match(moved.message, new RegExp(`moved from ${EXAMPLE_PACKAGE_V14_COMMIT} to ${MALICIOUS}`));
    assert.ok(result.changes.some((c) => c.check === 'release-tag' && c.to === 'fail'));
    // Moved back to the commit first seen (and built), it passes again.
    gh.tags.set('slsa-framework/example-package', new Map([['v14', { commit: EXAMPLE_PACKAGE_V14_COMMIT }]]));
    assert.equal(tagCheck(await verifier.verify(tagged, 14, 'schedule')).status, 'pass');
    gh.tags.delete('slsa-framework/example-package');
    gh.repos.get('slsa-framework/example-package')![0].commit = undefined;
    const deleted = tagCheck(await verifier.verify(tagged, 14, 'schedule'));
    assert.equal(deleted.code, 'tag-moved');
    assert.match(deleted.message, /no longer exists/);
  });

  test('GitHub not answering the ref leaves the tag check undecided, never pass', async () => {
    gh.repos.get('slsa-framework/example-package')![0].commit = EXAMPLE_PACKAGE_V14_COMMIT;
    const other = { ...exampleTarget({ name: 'tagged-outage' }), id: await new ReleaseRepository(prisma).upsertTarget('tagged-outage', 'slsa-framework/example-package', 'hash') };
    // Only the ref lookup goes to a closed port: everything else answers.
    const client = new GitHubClient({ baseUrl: 'http://127.0.0.1:9', insecureHosts: [gh.storageHost] });
    const resolve = client.resolveTag.bind(client);
    const outage = verifierOn(gh, prisma, SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT)), () => new Date('2025-02-25T21:10:00Z'), Object.assign(new GitHubClient({ baseUrl: gh.url, insecureHosts: [gh.storageHost] }), { resolveTag: resolve }));
    const verdict = tagCheck(await outage.verify(other, 14, 'discovery'));
    assert.equal(verdict.status, 'error', verdict.message);
  });
});

describe('immutable releases, through the release verifier and Postgres', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let verifier: ReleaseVerifier;
  const immutableTarget: WatchTarget & { id: number } = { ...exampleTarget({ pollIntervalSeconds: 300 }), id: 0 };
  const assetsOf = async (releaseId: number) => (await verifier.verify(immutableTarget, releaseId, 'manual')).recorded.find((c) => c.check === ASSETS_CHECK)!;
  const row = (tag: string) => prisma.release.findFirstOrThrow({ where: { tag }, select: { immutable: true, immutableSince: true } });

  before(async () => {
    ({ gh, db, prisma } = await startVerifierWorld(immutableTarget));
    verifier = verifierOn(gh, prisma, SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT)), () => new Date('2025-02-25T21:10:00Z'));
    const v15 = { id: 15, tag: 'v15', publishedAt: PUBLISHED, assets: [{ id: 1501, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' }] };
    gh.repos.set('slsa-framework/example-package', [{ ...exampleRelease(BINARY, PROVENANCE), immutable: true }, v15]);
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));

  test('an immutable release passes, its flag and first sighting recorded; seen again, the baseline stays', async () => {
    const first = await assetsOf(14);
    assert.equal(first.status, 'pass', first.message);
    assert.match(first.message, /immutable release/);
    const recorded = await row('v14');
    assert.equal(recorded.immutable, true);
    assert.ok(recorded.immutableSince);
    assert.equal((await assetsOf(14)).status, 'pass');
    assert.equal((await row('v14')).immutableSince?.getTime(), recorded.immutableSince.getTime());
  });

  test('a release that was never immutable is not failed for being mutable', async () => {
    const verdict = await assetsOf(15);
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.deepEqual(await row('v15'), { immutable: false, immutableSince: null });
  });

  test('forged: an immutable release seen mutable again fails as immutability-revoked, and so does one whose flag is gone', async () => {
    const release = gh.repos.get('slsa-framework/example-package')!.find((r) => r.tag === 'v14')!;
    release.immutable = false;
    const revoked = await assetsOf(14);
    assert.equal(revoked.status, 'fail');
    assert.equal(revoked.code, 'immutability-revoked');
    assert.match(revoked.message, /mutable now/);
    const recorded = await row('v14');
    assert.equal(recorded.immutable, false);
    assert.ok(recorded.immutableSince, 'the baseline is never cleared');
    gh.sendImmutable = false;
    const silent = await assetsOf(14);
    gh.sendImmutable = true;
    assert.equal(silent.code, 'immutability-revoked');
    assert.equal((await row('v14')).immutable, null);
    release.immutable = true;
    assert.equal((await assetsOf(14)).status, 'pass');
  });

  test('forged: assets of an immutable release that change anyway fail as asset-changed, naming the broken lock', async () => {
    const release = gh.repos.get('slsa-framework/example-package')!.find((r) => r.tag === 'v14')!;
    const swapped = Buffer.from(BINARY);
    swapped[10] ^= 0xff;
    release.assets[0] = { ...release.assets[0], bytes: swapped };
    const changed = await assetsOf(14);
    assert.equal(changed.status, 'fail');
    assert.equal(changed.code, 'asset-changed');
    assert.match(changed.message, /GitHub marked immutable since/);
  });
});

/**
 * The evidence budget: only files the checks read are held, within the release's budget. A
 * signature the budget left out must make its check error/evidence-over-budget; run without it,
 * the checksums check would have said "no signature" (missing) about a signed release.
 */
describe('evidence budget, through the release verifier and GitHub double', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  const budgetTarget: WatchTarget & { id: number } = { ...exampleTarget({ name: 'budget', github: 'budget/example', pollIntervalSeconds: 300 }), id: 0 };
  const checksums = Buffer.from(`${createHash('sha256').update(BINARY).digest('hex')}  gha_generic-binary-linux-amd64-v14\n`);
  const signatureFile = Buffer.alloc(1024, 'A');

  before(async () => {
    ({ gh, db, prisma } = await startVerifierWorld(budgetTarget));
    const release = exampleRelease(BINARY, PROVENANCE);
    release.assets.push(
      { id: 1403, name: 'checksums.txt', bytes: checksums, updatedAt: '2025-02-25T21:06:00Z' },
      { id: 1404, name: 'checksums.txt.pem', bytes: signatureFile, updatedAt: '2025-02-25T21:06:00Z' },
      { id: 1405, name: 'checksums.txt.sig', bytes: signatureFile, updatedAt: '2025-02-25T21:06:00Z' },
      { id: 1406, name: 'notes.json', bytes: Buffer.from('{"notes": true}'), updatedAt: '2025-02-25T21:06:00Z' },
    );
    gh.repos.set('budget/example', [release]);
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));

  function verifier(evidenceBudgetBytes: number): ReleaseVerifier {
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    return new ReleaseVerifier({
      github: new GitHubClient({ baseUrl: gh.url, insecureHosts: [gh.storageHost] }),
      rekor: new RekorClient({ baseUrl: 'http://127.0.0.1:9' }),
      releases: new ReleaseRepository(prisma),
      verifications: new VerificationRepository(prisma),
      trustRoot: () => trustRoot,
      now: () => new Date('2025-02-26T21:10:00Z'),
      limits: { evidenceBudgetBytes },
    });
  }

  test('signature files left out by the budget make the checksums check error/evidence-over-budget, not missing', async () => {
    // Room for the provenance and checksums.txt, not for its .pem and .sig.
    const result = await verifier(PROVENANCE.length + checksums.length + 100).verify(budgetTarget, 14, 'discovery');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck['artifact-provenance'].status, 'pass', byCheck['artifact-provenance'].message);
    assert.equal(byCheck['checksums-signature'].status, 'error');
    assert.equal(byCheck['checksums-signature'].code, 'evidence-over-budget');
    assert.match(byCheck['checksums-signature'].message, /checksums\.txt\.pem \(1024 bytes\), checksums\.txt\.sig \(1024 bytes\)/);
    assert.equal(byCheck[ASSETS_CHECK].status, 'pass', 'every asset is still hashed');
  });

  test('the provenance left out by the budget: provenance error/evidence-over-budget, the assets still decided', async () => {
    const result = await verifier(10).verify(budgetTarget, 14, 'schedule');
    const byCheck = Object.fromEntries(result.recorded.map((c) => [c.check, c]));
    assert.equal(byCheck['artifact-provenance'].status, 'error');
    assert.equal(byCheck['artifact-provenance'].code, 'evidence-over-budget');
    assert.match(byCheck['artifact-provenance'].message, /multiple\.intoto\.jsonl/);
    assert.equal(byCheck[ASSETS_CHECK].status, 'pass');
  });

  test('an unchanged .json no check reads is hashed once, not downloaded on every run', async () => {
    gh.requests.length = 0;
    await verifier(64 * 1024 * 1024).verify(budgetTarget, 14, 'schedule');
    assert.ok(!gh.requests.some((r) => r.path.endsWith('/releases/assets/1406')), 'notes.json is not evidence: its known digest stands');
    assert.ok(gh.requests.some((r) => r.path.endsWith('/releases/assets/1402')), 'the provenance is read again');
  });
});

/**
 * GitHub's `digest` of an asset against the bytes its storage serves. Threat: storage (or the
 * path to it) serving bytes GitHub never recorded for the release, which a first verification
 * would otherwise take as the asset's first-seen digest.
 */
describe("GitHub's asset digest against the downloaded bytes", () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let verifier: ReleaseVerifier;
  const digestTarget: WatchTarget & { id: number } = { ...exampleTarget({ name: 'digest', github: 'digest/example', pollIntervalSeconds: 300 }), id: 0 };
  const assetsCheck = async () => (await verifier.verify(digestTarget, 14, 'discovery')).recorded.find((c) => c.check === ASSETS_CHECK)!;

  before(async () => {
    ({ gh, db, prisma } = await startVerifierWorld(digestTarget));
    verifier = verifierOn(gh, prisma, SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT)), () => new Date('2025-02-25T21:10:00Z'));
    const release: DoubleRelease = exampleRelease(BINARY, PROVENANCE);
    // GitHub lists the digest of other bytes than its storage serves for the binary.
    release.assets[0] = { ...release.assets[0], listedDigest: `sha256:${createHash('sha256').update('the bytes GitHub recorded').digest('hex')}` };
    gh.repos.set('digest/example', [release]);
  });
  after(() => stopVerifierWorld({ gh, db, prisma }));

  test('forged: bytes that are not the ones GitHub records fail asset-changed on the first verification, and are not taken as first seen', async () => {
    const verdict = await assetsCheck();
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'asset-changed');
    assert.match(verdict.message, /differ from the digests GitHub records for them: gha_generic-binary-linux-amd64-v14: GitHub records sha256:[0-9a-f]{64}, its download is sha256:/);
    const stored = await new ReleaseRepository(prisma).storedAssets((await prisma.release.findFirstOrThrow({ where: { tag: 'v14', targetId: digestTarget.id } })).id);
    assert.equal(stored.get('gha_generic-binary-linux-amd64-v14')?.sha256 ?? null, null, 'the mismatching digest is not the first-seen one');
  });

  test('once GitHub and storage agree, the same release passes', async () => {
    const release = gh.repos.get('digest/example')![0];
    release.assets[0] = { ...release.assets[0], listedDigest: undefined };
    const verdict = await assetsCheck();
    assert.equal(verdict.status, 'pass', verdict.message);
  });
});
