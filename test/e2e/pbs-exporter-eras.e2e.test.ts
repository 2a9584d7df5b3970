/**
 * natrontech/pbs-exporter's release eras, verified by the running worker: one release of each era
 * (B v0.6.4, C v0.7.1, D v0.8.0, E v0.9.3; see test/support/pbs-exporter-eras.ts) on the GitHub
 * double, its image and cosign evidence in a real docker-registry, legacy log entries in the Rekor
 * double, every signature by the test kit (its root is the run's trust root) with pbs-exporter's
 * real identities, the watchlist entry provwatch.yaml ships and the project's CUE policies.
 *
 * The run goes as an operator would see it: first with the log unreachable (era B cannot be
 * decided: error / tlog-unavailable, never fail; C to E need no log), then with the log back (every
 * check of every era passes, in Postgres and in the status API), then with one archive swapped in
 * each release (asset-changed and subject-digest-mismatch, never pass).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadServiceConfig, loadWatchlistFile, type Watchlist } from '@provwatch/config';
import { JOBS } from '@provwatch/jobs';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { WorkerRuntime } from '../../apps/worker/src/worker.runtime';
import { bootstrap } from '../../apps/api/src/main';
import { closedPortUrl } from '../formats/format-fixtures';
import { SigningKit } from '../kit/signing-kit';
import { eventually } from '../support/eventually';
import { GitHubDouble } from '../support/github-double';
import { type EraRelease, PBS_EXPORTER_ERAS, PBS_EXPORTER_REPO, type PbsExporterEra, buildEraRelease, pbsExporterWatchlistYaml, publishEraImage, sha256Hex } from '../support/pbs-exporter-eras';
import { createTestDatabase } from '../support/postgres';
import { TEST_REDIS_URL, redisConnectionOptions } from '../support/redis';
import { RekorDouble } from '../support/rekor-double';
import { type TestRegistry, startRegistry } from '../support/registry';

const MIGRATIONS = join(resolve(__dirname, '../../..'), 'prisma', 'migrations');
const RELEASE_CHECKS = ['release-assets', 'artifact-provenance', 'checksums-signature', 'release-sbom', 'release-tag'] as const;
const IMAGE_CHECKS = ['image-tag', 'image-signature', 'image-provenance', 'image-sbom'] as const;
const TARGET = 'pbs-exporter';
/** The release checks whose evidence carries no log entry of its own: only a Rekor search completes them. */
function needsLog(era: PbsExporterEra): string[] {
  return [...(era.provenance === 'bare-envelope' ? ['artifact-provenance'] : []), ...(era.checksumsSignature === 'pem-sig' ? ['checksums-signature'] : [])];
}

describe('pbs-exporter release eras end to end', { timeout: 180_000 }, () => {
  let kit: SigningKit;
  let gh: GitHubDouble;
  let rekor: RekorDouble;
  let registry: TestRegistry;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let watchlist: Watchlist;
  let watchlistPath: string;
  let trustRoot: SigstoreTrustRoot;
  let imageRef: string;
  const releases = new Map<string, EraRelease>();
  const runtimes: Array<{ runtime: WorkerRuntime; stopped: boolean }> = [];
  const log: string[] = [];
  const startedAt = Date.now();

  async function startWorker(rekorUrl: string): Promise<WorkerRuntime> {
    const config = loadServiceConfig({ DATABASE_URL: db.url, GITHUB_API_URL: gh.url, PROVWATCH_INSECURE_REGISTRIES: `${gh.storageHost},${registry.host}`, REKOR_URL: rekorUrl });
    const runtime = new WorkerRuntime({ config, watchlist, prisma, trustRoot: () => trustRoot, connection: await redisConnectionOptions(), prefix: `eras-${randomUUID()}`, log: (m) => log.push(m) });
    runtimes.push({ runtime, stopped: false });
    await runtime.start();
    return runtime;
  }

  async function stopWorker(runtime: WorkerRuntime): Promise<void> {
    const entry = runtimes.find((r) => r.runtime === runtime)!;
    if (entry.stopped) return;
    entry.stopped = true;
    await runtime.stop();
    await runtime.discoverQueue.obliterate({ force: true }).catch(() => undefined);
    await runtime.verifyQueue.obliterate({ force: true }).catch(() => undefined);
  }

  const subjectKeys = (era: PbsExporterEra) => ({ release: era.tag, image: `${imageRef}:${era.tag}` });

  /** The latest status of each of the era's eight checks (undefined where none is recorded yet). */
  async function eraChecks(era: PbsExporterEra) {
    const keys = subjectKeys(era);
    const latest = await prisma.latestCheckStatus.findMany({ where: { subjectKey: { in: [keys.release, keys.image] } } });
    const results = await prisma.checkResult.findMany({ where: { id: { in: latest.map((r) => r.checkResultId) } }, select: { id: true, message: true } });
    const messages = new Map(results.map((r) => [r.id, r.message]));
    const rows = latest.map((r) => ({ ...r, message: messages.get(r.checkResultId) ?? '' }));
    const byCheck = new Map(rows.map((r) => [r.check, r]));
    return { byCheck, rows };
  }

  const summary = async () => {
    const rows = await prisma.latestCheckStatus.findMany({ orderBy: [{ subjectKey: 'asc' }, { check: 'asc' }] });
    return `${rows.map((r) => `${r.subjectKey} ${r.check}=${r.status}/${r.code}`).join('; ') || 'no checks'}; worker log: ${log.slice(-6).join(' | ') || 'empty'}`;
  };

  before(async () => {
    kit = await SigningKit.create();
    trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    [gh, rekor, registry, db] = await Promise.all([GitHubDouble.start(), RekorDouble.start(), startRegistry(), createTestDatabase()]);
    for (const era of PBS_EXPORTER_ERAS) {
      const built = await buildEraRelease(kit, era);
      releases.set(era.era, built);
      for (const { entry, digests } of built.rekorEntries) rekor.add(entry, ...digests);
    }
    gh.repos.set(PBS_EXPORTER_REPO, [...releases.values()].map((r) => r.release));
    // In release order: `latest` ends on the newest, as ko leaves it.
    for (const era of PBS_EXPORTER_ERAS) imageRef = (await publishEraImage(kit, registry.host, era)).repository;
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-eras-'));
    watchlistPath = join(dir, 'provwatch.yaml');
    writeFileSync(watchlistPath, pbsExporterWatchlistYaml(registry.host));
    watchlist = loadWatchlistFile(watchlistPath);
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
  });

  after(async () => {
    for (const { runtime } of runtimes) await stopWorker(runtime).catch(() => undefined);
    await prisma?.$disconnect();
    await db?.drop();
    await Promise.allSettled([gh?.close(), rekor?.close(), registry?.stop()]);
    process.stdout.write(`# pbs-exporter eras: ${((Date.now() - startedAt) / 1000).toFixed(1)} s from set-up to tear-down\n`);
  });

  test('the shipped watchlist entry is what is watched: identity, declared evidence, the image with its repositories and policies', () => {
    const [target] = watchlist.targets;
    assert.equal(target.name, TARGET);
    assert.equal(target.github, PBS_EXPORTER_REPO);
    assert.deepEqual(target.artifacts, { provenance: 'multiple.intoto.jsonl', checksums: 'checksums.txt', sbom: '*.sbom.json' });
    assert.equal(target.images[0].ref, `${registry.host}/natrontech/pbs-exporter`);
    assert.equal(target.images[0].signaturesRepository, `${registry.host}/natrontech/signatures`);
    assert.match(target.images[0].provenancePolicy!.source, /generator_container_slsa3/);
    assert.match(target.images[0].sbomPolicy!.source, /cyclonedx/);
  });

  test('Rekor unreachable: what needs a log search (B provenance, B and C .pem/.sig checksums) is error / tlog-unavailable, never fail; the rest passes', async () => {
    const runtime = await startWorker(await closedPortUrl());
    try {
      for (const era of PBS_EXPORTER_ERAS) {
        const undecided = needsLog(era);
        const byCheck = await eventually(
          `era ${era.era} (${era.tag}) release checks without the log`,
          async () => {
            const { byCheck: checks } = await eraChecks(era);
            // Decided: recorded by a verification, not only the placeholder of a release just seen.
            return RELEASE_CHECKS.every((c) => checks.has(c) && checks.get(c)!.code !== 'not-yet-verified') ? checks : undefined;
          },
          { timeoutMs: 45_000, progress: summary },
        );
        for (const check of RELEASE_CHECKS) {
          const row = byCheck.get(check)!;
          assert.notEqual(row.status, 'fail', `${era.tag} ${check} must never fail because the log cannot be asked: ${row.code} ${row.message}`);
          if (undecided.includes(check)) {
            assert.deepEqual([row.status, row.code], ['error', 'tlog-unavailable'], `${era.tag} ${check}: ${row.message}`);
          } else if (check === 'release-sbom' && undecided.includes('artifact-provenance')) {
            // An SBOM is trusted through the provenance: undecided with it.
            assert.deepEqual([row.status, row.code], ['error', 'prerequisite-failed'], `${era.tag} ${check}: ${row.message}`);
          } else {
            assert.equal(row.status, 'pass', `${era.tag} ${check} needs no log search: ${row.code} ${row.message}`);
          }
        }
      }
      assert.ok(log.some((m) => /undecided checks: .*tlog-unavailable/.test(m)), 'the undecided run is retried (its job fails), not reported as done');
    } finally {
      await stopWorker(runtime);
    }
  });

  describe('Rekor reachable (the double serving the kit log entries)', () => {
    let runtime: WorkerRuntime;
    before(async () => {
      runtime = await startWorker(rekor.url);
      // Nothing changed on GitHub (the poll costs a 304): the operator asks for the releases again.
      for (const era of PBS_EXPORTER_ERAS) {
        await runtime.verifyQueue.add(JOBS.verifyRelease, { target: TARGET, tag: era.tag, releaseId: era.releaseId, trigger: 'manual' }, { jobId: `manual-${era.tag}`, attempts: 1 });
      }
    });
    after(async () => runtime && stopWorker(runtime));

    for (const era of PBS_EXPORTER_ERAS) {
      test(`era ${era.era} (${era.tag}): every release and image check passes`, async () => {
        const { byCheck } = await eventually(
          `all eight checks of ${era.tag} to pass`,
          async () => {
            const checks = await eraChecks(era);
            const all = [...RELEASE_CHECKS, ...IMAGE_CHECKS].every((c) => checks.byCheck.get(c)?.status === 'pass');
            return all ? checks : undefined;
          },
          { timeoutMs: 60_000, progress: async () => `${era.tag}: ${[...(await eraChecks(era)).byCheck.values()].map((r) => `${r.check}=${r.status}/${r.code} ${r.status === 'pass' ? '' : r.message}`).join('; ')}; worker log: ${log.slice(-4).join(' | ')}` },
        );
        const evidence = async (check: string) => (await prisma.checkResult.findUniqueOrThrow({ where: { id: byCheck.get(check)!.checkResultId } })).evidence as any;
        const provenance = await evidence('artifact-provenance');
        assert.equal(provenance.builderId, `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/${era.generator}`);
        assert.equal(provenance.sourceRef, `refs/tags/${era.tag}`);
        assert.equal(Object.keys(provenance.details.coverage).length, 12, 'six archives and six SBOMs covered by name');
        assert.ok(Object.values(provenance.details.coverage).every((c: any) => c.matchedBy === 'name'));
        assert.equal(provenance.tlog[0].kind, era.provenance === 'bare-envelope' ? 'intoto' : 'dsse');
        const checksums = await evidence('checksums-signature');
        assert.equal(checksums.signer.identity, `https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/${era.tag}`);
        assert.equal(checksums.details.checksums.length, 12);
        const image = await evidence('image-provenance');
        assert.equal(image.builderId, `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/${era.generator}`);
        assert.equal(image.details.policy, 'allowed');
        const sbom = await evidence('image-sbom');
        assert.equal(sbom.details.policy, 'allowed');
        // What carries no log entry was found through the log: searched by the digests the checks verify.
        const built = releases.get(era.era)!;
        const searched = new Set(rekor.searches.map((q) => (q as { hash: string }).hash));
        if (era.checksumsSignature === 'pem-sig') assert.ok(searched.has(`sha256:${sha256Hex(built.checksums)}`), `the log was searched for ${era.tag} checksums.txt`);
        if (era.provenance === 'bare-envelope') assert.ok(searched.has(`sha256:${sha256Hex(built.archives[0].bytes)}`), `the log was searched for ${built.archives[0].name}`);
        const signature = await evidence('image-signature');
        assert.deepEqual(signature.details.formats, [era.imageEvidence === 'referrers' ? 'sigstore-bundle' : 'cosign-layer']);
      });
    }

    test('the status API shows every era pass, with each check of the release and of its image', async () => {
      const api = await bootstrap({ PROVWATCH_CONFIG: watchlistPath, PORT: '0', PROVWATCH_ROLES: 'api', DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, PROVWATCH_QUEUE_PREFIX: `eras-api-${randomUUID().slice(0, 8)}` });
      try {
        for (const era of PBS_EXPORTER_ERAS) {
          const body = await eventually(`the API to show ${era.tag} pass`, async () => {
            const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/targets/${TARGET}/releases/${era.tag}`);
            const json = (await res.json()) as any;
            return res.status === 200 && json.status === 'pass' ? json : undefined;
          }, { timeoutMs: 15_000 });
          const checks = new Map<string, any>((body.checks as any[]).map((c) => [c.check, c]));
          for (const check of RELEASE_CHECKS) assert.equal(checks.get(check)?.status, 'pass', `${era.tag} ${check} in the API`);
          const imageChecks = JSON.stringify(body);
          for (const check of IMAGE_CHECKS) assert.ok(imageChecks.includes(check), `${era.tag}: ${check} in the API answer`);
        }
        const releasesRes = await fetch(`http://127.0.0.1:${api.port}/api/v1/targets/${TARGET}/releases`);
        const list = (await releasesRes.json()) as any;
        assert.deepEqual(list.items.map((r: any) => [r.tag, r.status]), [...PBS_EXPORTER_ERAS].reverse().map((e) => [e.tag, 'pass']));
      } finally {
        await api.close();
      }
    });

    test('one archive swapped in each release: asset-changed and subject-digest-mismatch, never pass', async () => {
      for (const built of releases.values()) {
        const index = built.release.assets.findIndex((a) => a.name.endsWith('_linux_amd64.tar.gz'));
        const asset = built.release.assets[index];
        const swapped = Buffer.from(asset.bytes);
        swapped[100] ^= 0xff;
        built.release.assets[index] = { ...asset, bytes: swapped, updatedAt: new Date().toISOString() };
      }
      await runtime.discoverQueue.add(JOBS.discoverTarget, { target: TARGET, trigger: 'manual' });
      for (const era of PBS_EXPORTER_ERAS) {
        const rows = await eventually(`${era.tag} to fail on the swapped archive`, async () => {
          const { byCheck } = await eraChecks(era);
          return byCheck.get('release-assets')?.status === 'fail' && byCheck.get('artifact-provenance')?.status === 'fail' ? byCheck : undefined;
        }, { timeoutMs: 45_000, progress: summary });
        assert.equal(rows.get('release-assets')!.code, 'asset-changed');
        assert.match(rows.get('release-assets')!.message, /_linux_amd64\.tar\.gz/);
        assert.equal(rows.get('artifact-provenance')!.code, 'subject-digest-mismatch');
        assert.match(rows.get('artifact-provenance')!.message, /_linux_amd64\.tar\.gz/);
        // The signed checksums file still verifies; the swapped archive no longer matches its line.
        const checksums = rows.get('checksums-signature')!;
        assert.deepEqual([checksums.status, checksums.code], ['fail', 'checksum-mismatch'], `${era.tag} checksums over a swapped archive: ${checksums.message}`);
        assert.match(checksums.message, /_linux_amd64\.tar\.gz/);
        assert.notEqual(rows.get('release-sbom')!.status, 'pass', 'SBOMs are trusted through the provenance, which failed');
      }
    });
  });
});
