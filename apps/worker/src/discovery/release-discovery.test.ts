import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WatchTarget } from '@provwatch/config';
import type { VerifyReleasePayload } from '@provwatch/jobs';
import { type PrismaClient, PollStateRepository, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { GitHubClient } from '@provwatch/sources';
import { GitHubDouble } from '../../../../test/support/github-double';
import { createTestDatabase } from '../../../../test/support/postgres';
import { exampleTarget } from '../../../../test/support/watch-targets';
import { ReleaseDiscovery } from './release-discovery';

const MIGRATIONS = join(resolve(__dirname, '../../../../../prisma'), 'migrations');
const asset = (id: number, name: string) => ({ id, name, bytes: Buffer.from(name), updatedAt: '2025-01-01T00:00:00Z' });

/** Discovery on a fresh database against `gh`, its queued jobs collected. */
async function discoveryOn(gh: GitHubDouble, target: WatchTarget & { id: number }, now: () => Date) {
  const db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  const prisma = createPrismaClient(db.url);
  const releases = new ReleaseRepository(prisma);
  target.id = await releases.upsertTarget(target.name, target.github, 'h');
  const queued: Array<{ payload: VerifyReleasePayload; jobId: string }> = [];
  const discovery = new ReleaseDiscovery({
    github: new GitHubClient({ baseUrl: gh.url }),
    pollStates: new PollStateRepository(prisma),
    releases,
    enqueueVerify: async (payload, jobId) => {
      queued.push({ payload, jobId });
    },
    now,
  });
  return { db, prisma, discovery, queued };
}

describe('release discovery', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let discovery: ReleaseDiscovery;
  let now = new Date('2025-06-01T00:00:00Z');
  let queued: Array<{ payload: VerifyReleasePayload; jobId: string }> = [];
  const target = { ...exampleTarget({ releases: { includePrereleases: false, keepLast: 2 }, reverifyIntervalSeconds: 86_400 }), id: 0 };

  before(async () => {
    gh = await GitHubDouble.start();
    gh.repos.set('slsa-framework/example-package', [
      { id: 1, tag: 'v1', publishedAt: '2025-01-01T00:00:00Z', assets: [asset(11, 'a')] },
      { id: 2, tag: 'v2', publishedAt: '2025-02-01T00:00:00Z', assets: [asset(21, 'a')] },
      { id: 3, tag: 'v3-rc.1', prerelease: true, publishedAt: '2025-03-01T00:00:00Z', assets: [] },
      { id: 4, tag: 'v4', publishedAt: '2025-04-01T00:00:00Z', assets: [asset(41, 'a')] },
      { id: 5, tag: 'v5', draft: true, publishedAt: '2025-05-01T00:00:00Z', assets: [] },
    ]);
    ({ db, prisma, discovery, queued } = await discoveryOn(gh, target, () => now));
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
    await gh?.close();
  });

  test('queues the newest keep_last published releases, not drafts nor prereleases (by config)', async () => {
    const result = await discovery.discover(target);
    assert.deepEqual(result.queued, ['v4', 'v2']);
    assert.equal(new Set(queued.map((q) => q.jobId)).size, 2);
  });

  test('a release that disappears upstream is marked deleted, its history kept', async () => {
    const releases = new ReleaseRepository(prisma);
    const id = await releases.upsertRelease(target.id, { tag: 'v4', githubReleaseId: 4, name: 'v4', prerelease: false, publishedAt: new Date('2025-04-01T00:00:00Z') });
    await new VerificationRepository(prisma).recordRun({ targetId: target.id, subjectKind: 'release', subjectKey: 'v4', trigger: 'discovery', startedAt: now, finishedAt: now, checks: [{ check: 'artifact-provenance', status: 'pass', code: 'verified', message: 'ok', evidence: {} }] });
    gh.repos.get('slsa-framework/example-package')!.splice(3, 1);
    const result = await discovery.discover(target);
    assert.deepEqual(result.deleted, ['v4']);
    const row = await prisma.release.findUniqueOrThrow({ where: { id } });
    assert.ok(row.deletedAt instanceof Date);
    assert.equal(await prisma.verificationRun.count({ where: { subjectKey: 'v4' } }), 1);
  });

  test('unchanged upstream: a 304, and re-verification only once the interval has passed, one job per interval', async () => {
    const releases = new ReleaseRepository(prisma);
    await releases.upsertRelease(target.id, { tag: 'v2', githubReleaseId: 2, name: 'v2', prerelease: false, publishedAt: new Date('2025-02-01T00:00:00Z') });
    await new VerificationRepository(prisma).recordRun({ targetId: target.id, subjectKind: 'release', subjectKey: 'v2', trigger: 'discovery', startedAt: now, finishedAt: now, checks: [{ check: 'artifact-provenance', status: 'pass', code: 'verified', message: 'ok', evidence: {} }] });
    queued.length = 0;
    const fresh = await discovery.discover(target);
    assert.equal(fresh.notModified, true);
    assert.deepEqual(fresh.queued, []);

    now = new Date(now.getTime() + 2 * 86_400_000);
    const due = await discovery.discover(target);
    assert.equal(due.notModified, true);
    assert.deepEqual(due.queued, ['v2']);
    assert.equal(queued[0].payload.trigger, 'schedule');
    await discovery.discover(target);
    assert.equal(queued.length, 2);
    assert.equal(queued[0].jobId, queued[1].jobId, 'the same interval collapses into one job id');
  });

  test('a rate-limited GitHub is recorded on the poll state and rethrown for retry', async () => {
    gh.setFault('rate-limited');
    await assert.rejects(discovery.discover(target), (err: Error & { code?: string; retryable?: boolean }) => err.code === 'github-rate-limited' && err.retryable === true);
    gh.setFault(undefined);
    const state = await prisma.pollState.findFirstOrThrow({ where: { targetId: target.id } });
    assert.equal(state.lastErrorCode, 'github-rate-limited');
  });
});

describe('release discovery over GitHub\'s pages', () => {
  let gh: GitHubDouble;
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let discovery: ReleaseDiscovery;
  let queued: Array<{ payload: VerifyReleasePayload; jobId: string }> = [];
  const target = { ...exampleTarget({ releases: { includePrereleases: false, keepLast: 10 }, reverifyIntervalSeconds: 86_400 }), id: 0 };

  before(async () => {
    gh = await GitHubDouble.start();
    // Two releases a page: six releases are three pages, pages 2 and 3 linked by repository id.
    gh.releasesMaxPerPage = 2;
    gh.repos.set('slsa-framework/example-package', Array.from({ length: 6 }, (_, i) => ({ id: i + 1, tag: `v${i + 1}`, publishedAt: `2025-0${i + 1}-01T00:00:00Z`, assets: [asset(100 + i, 'a')] })));
    ({ db, prisma, discovery, queued } = await discoveryOn(gh, target, () => new Date('2025-07-01T00:00:00Z')));
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
    await gh?.close();
  });

  test('releases spread over three pages are all discovered, none of the later pages marked deleted', async () => {
    const result = await discovery.discover(target);
    assert.deepEqual(result.queued, ['v6', 'v5', 'v4', 'v3', 'v2', 'v1']);
    assert.deepEqual(result.deleted, []);
    const id = gh.repoId('slsa-framework/example-package');
    const pages = gh.requests.filter((r) => r.server === 'api' && /releases/.test(r.path)).map((r) => r.path.split('?')[0]);
    assert.deepEqual(pages, ['/repos/slsa-framework/example-package/releases', `/repositories/${id}/releases`, `/repositories/${id}/releases`]);
  });

  test('a release whose immutable flag changes is queued under a new job id; the others keep theirs', async () => {
    const before = new Map(queued.map((q) => [q.payload.tag, q.jobId]));
    gh.repos.get('slsa-framework/example-package')!.find((r) => r.tag === 'v3')!.immutable = true;
    queued.length = 0;
    await discovery.discover(target);
    const after = new Map(queued.map((q) => [q.payload.tag, q.jobId]));
    assert.notEqual(after.get('v3'), before.get('v3'));
    for (const tag of ['v6', 'v5', 'v4', 'v2', 'v1']) if (after.has(tag)) assert.equal(after.get(tag), before.get(tag), tag);
  });
});
