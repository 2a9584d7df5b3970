import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadServiceConfig, type Watchlist } from '@provwatch/config';
import { JOBS } from '@provwatch/jobs';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { ProvwatchMetrics } from '@provwatch/observability';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { GitHubDouble } from '../../../test/support/github-double';
import { createTestDatabase } from '../../../test/support/postgres';
import { redisConnectionOptions } from '../../../test/support/redis';
import { type TestRegistry, pushOciLayout, startRegistry } from '../../../test/support/registry';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../test/support/vectors';
import { exampleRelease, exampleTarget } from '../../../test/support/watch-targets';
import { WorkerRuntime } from './worker.runtime';

/**
 * The worker role end to end on real Redis (BullMQ) and Postgres, against the GitHub double
 * serving the real generator v2.1.0 release: scheduled discovery, verify jobs, history rows.
 */
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const MIGRATIONS = join(resolve(__dirname, '../../../../prisma'), 'migrations');

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('worker runtime', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let runtime: WorkerRuntime;
  let registry: TestRegistry;
  const metrics = new ProvwatchMetrics({ version: 'test', defaultMetrics: false });

  before(async () => {
    registry = await startRegistry();
    // The real container generator output, tagged as a release would be.
    await pushOciLayout(registry.host, 'slsa/example-package', vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch'), 'v1.0.0');
    gh = await GitHubDouble.start();
    gh.repos.set('slsa-framework/example-package', [
      exampleRelease(BINARY, PROVENANCE),
      { id: 99, tag: 'v15', draft: true, publishedAt: '2025-03-01T00:00:00Z', assets: [] },
    ]);
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    const watchlist: Watchlist = {
      defaults: { pollIntervalSeconds: 3600, gracePeriodSeconds: 60, reverifyIntervalSeconds: 86_400 },
      targets: [exampleTarget({ gracePeriodSeconds: 60, images: [{ ref: `${registry.host}/slsa/example-package` }] })],
    };
    const config = loadServiceConfig({ DATABASE_URL: db.url, GITHUB_API_URL: gh.url, PROVWATCH_INSECURE_REGISTRIES: `${gh.storageHost},${registry.host}`, REKOR_URL: 'http://127.0.0.1:9' });
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    runtime = new WorkerRuntime({ config, watchlist, prisma, trustRoot: () => trustRoot, connection: await redisConnectionOptions(), prefix: `test-${randomUUID()}`, metrics });
    await runtime.start();
  });
  after(async () => {
    await runtime?.stop();
    await runtime?.discoverQueue.obliterate({ force: true }).catch(() => undefined);
    await runtime?.verifyQueue.obliterate({ force: true }).catch(() => undefined);
    await prisma?.$disconnect();
    await db?.drop();
    await gh?.close();
    await registry?.stop();
  });

  test('the scheduled discovery finds the release, a verify job records pass with evidence; drafts are ignored', async () => {
    const row = await eventually('a provenance verdict', async () => (await prisma.latestCheckStatus.findFirst({ where: { check: 'artifact-provenance', code: { not: 'not-yet-verified' } } })) ?? undefined);
    assert.equal(row.status, 'pass');
    assert.equal(row.subjectKey, 'v14');
    const result = await prisma.checkResult.findUniqueOrThrow({ where: { id: row.checkResultId } });
    assert.match((result.evidence as any).sourceUri, /example-package/);
    assert.equal(await prisma.release.count({ where: { tag: 'v15' } }), 0);
  });

  test('the process metrics count what the worker did: requests by source and status, runs, their duration', async () => {
    await eventually('a counted release run', async () => ((await metrics.verificationsTotal.get()).values.some((v) => v.labels.subject === 'release') ? true : undefined));
    const text = await metrics.render();
    assert.match(text, /^provwatch_poll_requests_total\{source="github",code="200"\} [1-9]/m);
    assert.match(text, /^provwatch_poll_requests_total\{source="oci",code="200"\} [1-9]/m);
    // The release carries provenance only, which is all the target declares: its run passes.
    assert.match(text, /^provwatch_verifications_total\{target="example-package",subject="release",status="pass"\} [1-9]/m);
    assert.match(text, /^provwatch_verification_duration_seconds_count\{subject="release"\} [1-9]/m);
    assert.doesNotMatch(text, /127\.0\.0\.1|sha256:/, 'no host or digest in any label');
  });

  test('the watched image is discovered and verified at its digest: the main-branch build does not pass as tag v1.0.0', async () => {
    const row = await eventually('an image provenance verdict', async () => (await prisma.latestCheckStatus.findFirst({ where: { check: 'image-provenance' } })) ?? undefined);
    assert.equal(row.subjectKind, 'image');
    assert.equal(row.subjectKey, `${registry.host}/slsa/example-package:v1.0.0`);
    assert.equal(row.status, 'fail');
    assert.equal(row.code, 'source-tag-mismatch');
    const tag = await prisma.latestCheckStatus.findFirstOrThrow({ where: { check: 'image-tag' } });
    assert.equal(tag.status, 'pass');
  });

  test('an unchanged repository polled again costs a 304 and queues nothing new', async () => {
    const runsBefore = await prisma.verificationRun.count();
    gh.requests.length = 0;
    const job = await runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'example-package', trigger: 'manual' });
    await eventually('discovery to finish', async () => ((await job.isCompleted()) ? true : undefined));
    const listCalls = gh.requests.filter((r) => r.path.startsWith('/repos/slsa-framework/example-package/releases?'));
    assert.deepEqual(listCalls.map((r) => r.status), [304]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await prisma.verificationRun.count(), runsBefore);
  });

  test('a swapped asset is found by the next discovery and recorded as asset-changed', async () => {
    const release = gh.repos.get('slsa-framework/example-package')![0];
    const swapped = Buffer.from(BINARY);
    swapped[4096] ^= 0xff;
    release.assets[0] = { ...release.assets[0], bytes: swapped, updatedAt: '2025-03-02T00:00:00Z' };
    await runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'example-package', trigger: 'manual' });
    const row = await eventually('asset-changed', async () => (await prisma.latestCheckStatus.findFirst({ where: { check: 'release-assets', status: 'fail' } })) ?? undefined);
    assert.equal(row.code, 'asset-changed');
    const provenance = await prisma.latestCheckStatus.findFirstOrThrow({ where: { check: 'artifact-provenance' } });
    assert.equal(provenance.status, 'fail');
  });

  test('a GitHub outage is recorded on the poll state and the job retried, the service keeps running', async () => {
    gh.setFault('error-500');
    const job = await runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'example-package', trigger: 'manual' }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    await eventually('the job to fail after its retries', async () => ((await job.isFailed()) ? true : undefined));
    const state = await prisma.pollState.findFirstOrThrow({ where: { source: 'github-releases' } });
    assert.equal(state.lastErrorCode, 'github-unavailable');
    gh.setFault(undefined);
    const ok = await runtime.discoverQueue.add(JOBS.discoverTarget, { target: 'example-package', trigger: 'manual' });
    await eventually('recovery', async () => ((await ok.isCompleted()) ? true : undefined));
    assert.equal((await prisma.pollState.findFirstOrThrow({ where: { source: 'github-releases' } })).lastErrorCode, null);
  });
});
