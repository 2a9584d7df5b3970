import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from '../../../test/support/postgres';
import { ImageRepository } from './image.repository';
import { MetricsRepository } from './metrics.repository';
import { applyMigrations } from './migrations/migration-applier';
import { type PrismaClient, createPrismaClient } from './persistence.client';
import { PollStateRepository } from './poll-state.repository';
import { ReleaseRepository } from './release.repository';
import { VerificationRepository } from './verification.repository';

const MIGRATIONS = join(resolve(__dirname, '../../../../prisma'), 'migrations');
const at = (day: number, minute = 0) => new Date(Date.UTC(2026, 10, day, 10, minute));

describe('the snapshot behind the scrape-time gauges', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let repo: MetricsRepository;

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    repo = new MetricsRepository(prisma);
    const releases = new ReleaseRepository(prisma);
    const runs = new VerificationRepository(prisma);
    const images = new ImageRepository(prisma);
    const polls = new PollStateRepository(prisma);
    const pbs = await releases.upsertTarget('pbs-exporter', 'natrontech/pbs-exporter', 'h');
    // A target no longer in the watchlist: its rows stay in history but not in the metrics.
    const gone = await releases.upsertTarget('removed', 'someone/removed', 'h');
    const pass = (check: string) => ({ check, status: 'pass' as const, code: 'verified', message: 'ok', evidence: {} });
    for (let i = 1; i <= 4; i++) {
      await releases.upsertRelease(pbs, { tag: `v0.${i}.0`, githubReleaseId: i, name: null, prerelease: false, publishedAt: at(i) });
      await runs.recordRun({ targetId: pbs, subjectKind: 'release', subjectKey: `v0.${i}.0`, trigger: 'discovery', startedAt: at(i, 1), finishedAt: at(i, 2), checks: [pass('artifact-provenance')] });
    }
    // v0.4.0 is re-verified later and now fails; its first verdict time must not move.
    await runs.recordRun({ targetId: pbs, subjectKind: 'release', subjectKey: 'v0.4.0', trigger: 'schedule', startedAt: at(20), finishedAt: at(20), checks: [{ check: 'artifact-provenance', status: 'fail', code: 'signature-invalid', message: 'bad', evidence: {} }] });
    // A deleted release drops out of the window.
    await releases.markDeleted(pbs, ['v0.1.0', 'v0.2.0', 'v0.4.0']);
    const image = await images.upsertImage(pbs, 'ghcr.io/natrontech/pbs-exporter');
    for (const [tag, day] of [['v0.2.0', 2], ['v0.4.0', 4], ['v0.1.0', 1]] as const) {
      await images.observeTag(image, tag, `sha256:${'a'.repeat(63)}${day}`, at(day));
      await runs.recordRun({ targetId: pbs, subjectKind: 'image', subjectKey: `ghcr.io/natrontech/pbs-exporter:${tag}`, trigger: 'discovery', startedAt: at(day, 3), finishedAt: at(day, 4), checks: [pass('image-signature')] });
    }
    await releases.upsertRelease(gone, { tag: 'v9', githubReleaseId: 99, name: null, prerelease: false, publishedAt: at(9) });
    await runs.recordRun({ targetId: gone, subjectKind: 'release', subjectKey: 'v9', trigger: 'discovery', startedAt: at(9), finishedAt: at(9), checks: [pass('artifact-provenance')] });
    await polls.record(pbs, 'github-releases', at(21), { rateLimitRemaining: 4990 });
    await polls.record(pbs, 'oci-tags:ghcr.io/natrontech/pbs-exporter', at(21), { errorCode: 'registry-unavailable' });
    await polls.record(gone, 'github-releases', at(22), { rateLimitRemaining: 4980 });
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  test('only watched targets, only the newest keep_last live releases and image tags', async () => {
    const s = await repo.verdicts([{ name: 'pbs-exporter', keepLast: 2 }]);
    const releaseChecks = s.checks.filter((c) => c.image === null).map((c) => `${c.release}:${c.check}=${c.status}`).sort();
    assert.deepEqual(releaseChecks, ['v0.2.0:artifact-provenance=pass', 'v0.4.0:artifact-provenance=fail'], 'v0.3.0 was deleted, v0.1.0 is outside keep_last');
    const imageChecks = s.checks.filter((c) => c.image !== null).map((c) => `${c.image}:${c.release}`).sort();
    assert.deepEqual(imageChecks, ['ghcr.io/natrontech/pbs-exporter:v0.2.0', 'ghcr.io/natrontech/pbs-exporter:v0.4.0'], 'the two tags seen last (the discovery stops seeing tags outside keep_last)');
    assert.ok(s.checks.every((c) => c.target === 'pbs-exporter'));
  });

  test('release timings: first verdict, not the latest', async () => {
    const s = await repo.verdicts([{ name: 'pbs-exporter', keepLast: 10 }]);
    const v4 = s.releases.find((r) => r.release === 'v0.4.0')!;
    assert.deepEqual(v4.publishedAt, at(4));
    assert.deepEqual(v4.firstVerdictAt, at(4, 2));
    assert.deepEqual(s.releases.map((r) => r.release).sort(), ['v0.1.0', 'v0.2.0', 'v0.4.0']);
    const v4check = s.checks.find((c) => c.release === 'v0.4.0' && c.image === null)!;
    assert.deepEqual(v4check.since, at(20));
  });

  test('poll states of watched targets and the newest rate-limit reading', async () => {
    const s = await repo.polls([{ name: 'pbs-exporter', keepLast: 10 }]);
    assert.equal(s.targets, 1);
    assert.deepEqual(s.polls.map((p) => `${p.source}:${p.lastErrorCode ?? 'ok'}`).sort(), ['github-releases:ok', 'oci-tags:ghcr.io/natrontech/pbs-exporter:registry-unavailable']);
    assert.equal(s.githubRateLimitRemaining, 4980, 'one token per process: the newest reading, whichever target carried it');
  });

  test('a change read leaves unwatched targets out, and recounts watched targets only when the targets table changed', async () => {
    const watched = [{ name: 'pbs-exporter', keepLast: 10 }, { name: 'registered-later', keepLast: 10 }];
    const first = await repo.polls(watched);
    assert.equal(first.targets, 1);
    const releases = new ReleaseRepository(prisma);
    const polls = new PollStateRepository(prisma);
    // Polled since: a target of no concern here ('removed') and a watched one.
    await polls.record((await prisma.target.findUniqueOrThrow({ where: { name: 'removed' } })).id, 'github-releases', at(23), {});
    await polls.record((await prisma.target.findUniqueOrThrow({ where: { name: 'pbs-exporter' } })).id, 'github-releases', at(23), {});
    const changed = await repo.polls(watched, first.horizon, first.knownTargets);
    assert.deepEqual(changed.polls.map((p) => `${p.target}:${p.source}`), ['pbs-exporter:github-releases']);
    assert.equal(changed.complete, false);
    assert.deepEqual(changed.knownTargets, first.knownTargets, 'the targets table did not change: the count is carried over');
    // A lying count is carried over only while the stamp matches: proof the count was not redone.
    const carried = await repo.polls(watched, changed.horizon, { stamp: changed.knownTargets.stamp, count: 7 });
    assert.equal(carried.targets, 7);
    // The worker registers a watched target: the stamp moves and the count is redone.
    await releases.upsertTarget('registered-later', 'someone/later', 'h');
    const recounted = await repo.polls(watched, carried.horizon, { stamp: changed.knownTargets.stamp, count: 7 });
    assert.equal(recounted.targets, 2);
    assert.notEqual(recounted.knownTargets.stamp, changed.knownTargets.stamp);
  });

  test('an undecided check carries its last verdict; decided checks do not look back', async () => {
    const target = (await prisma.target.findUniqueOrThrow({ where: { name: 'pbs-exporter' } })).id;
    const runs = new VerificationRepository(prisma);
    const error = { check: 'artifact-provenance', status: 'error' as const, code: 'network-error', message: 'registry down', evidence: {} };
    await runs.recordRun({ targetId: target, subjectKind: 'release', subjectKey: 'v0.4.0', trigger: 'schedule', startedAt: at(21), finishedAt: at(21), checks: [error] });
    await runs.recordRun({ targetId: target, subjectKind: 'release', subjectKey: 'v0.4.0', trigger: 'schedule', startedAt: at(22), finishedAt: at(22), checks: [error] });
    const s = await repo.verdicts([{ name: 'pbs-exporter', keepLast: 10 }]);
    const v4 = s.checks.find((c) => c.release === 'v0.4.0' && c.image === null)!;
    assert.equal(v4.status, 'error');
    assert.equal(v4.lastVerdict, 'fail', 'the failure before the outage, not the pass before it');
    assert.ok(s.checks.filter((c) => c.status !== 'error').every((c) => c.lastVerdict === null));
  });

  test('a sequential read answers the same and never has two statements in flight', async () => {
    // Counts the statements in flight through the client the repository is given.
    let inFlight = 0;
    let most = 0;
    const counting = new Proxy(prisma, {
      get(client, key, receiver) {
        const value = Reflect.get(client, key, receiver) as unknown;
        if (key !== '$queryRaw' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          most = Math.max(most, ++inFlight);
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(client, args);
          } finally {
            inFlight--;
          }
        };
      },
    });
    const watched = [{ name: 'pbs-exporter', keepLast: 10 }];
    const counted = new MetricsRepository(counting);
    const atOnce = await counted.verdicts(watched);
    assert.equal(most, 3, 'without the option the three statements go at once');
    most = 0;
    const sequential = await counted.verdicts(watched, { sequential: true });
    assert.equal(most, 1);
    assert.deepEqual(sequential, atOnce);
    assert.ok(sequential.checks.length > 0 && sequential.releases.length > 0);
  });

  test('an empty watchlist reads nothing', async () => {
    assert.deepEqual(await repo.verdicts([]), { checks: [], releases: [] });
    const { horizon: _, knownTargets: __, ...polls } = await repo.polls([]);
    assert.deepEqual(polls, { polls: [], githubRateLimitRemaining: null, targets: 0, complete: true });
  });

  test('the verdict version moves with every recorded run, new release and deletion, and only then', async () => {
    const version = async () => (await repo.verdictVersions(['pbs-exporter'])).versions.get('pbs-exporter');
    const before = await version();
    assert.equal(await version(), before);
    const target = (await prisma.target.findUniqueOrThrow({ where: { name: 'pbs-exporter' } })).id;
    // A run recorded with an older timestamp than everything else (a late commit) still counts.
    await new VerificationRepository(prisma).recordRun({ targetId: target, subjectKind: 'release', subjectKey: 'v0.2.0', trigger: 'schedule', startedAt: at(1), finishedAt: at(1), checks: [{ check: 'artifact-provenance', status: 'pass', code: 'verified', message: 'ok', evidence: {} }] });
    const afterRun = await version();
    assert.notEqual(afterRun, before);
    await new ReleaseRepository(prisma).upsertRelease(target, { tag: 'v0.5.0', githubReleaseId: 5, name: null, prerelease: false, publishedAt: at(23) });
    const afterRelease = await version();
    assert.notEqual(afterRelease, afterRun);
    await new ReleaseRepository(prisma).markDeleted(target, ['v0.2.0', 'v0.4.0']);
    assert.notEqual(await version(), afterRelease);
    // An image tag seen, or moved, is a change too (the image window follows last_seen_at).
    const image = await prisma.image.create({ data: { targetId: target, repository: 'registry.test/pbs-exporter' } });
    const beforeTag = await version();
    await prisma.imageDigest.create({ data: { imageId: image.id, tag: 'v0.5.0', digest: 'sha256:' + 'a'.repeat(64) } });
    assert.notEqual(await version(), beforeTag);
    // Polls do not touch it.
    const settled = await version();
    await new PollStateRepository(prisma).record(target, 'github-releases', at(24), {});
    assert.equal(await version(), settled);
    // Each target has its own: recording for another target leaves this one alone.
    const other = (await prisma.target.findUniqueOrThrow({ where: { name: 'removed' } })).id;
    const both = (await repo.verdictVersions(['pbs-exporter', 'removed'])).versions;
    await new VerificationRepository(prisma).recordRun({ targetId: other, subjectKind: 'release', subjectKey: 'v9', trigger: 'schedule', startedAt: at(25), finishedAt: at(25), checks: [{ check: 'artifact-provenance', status: 'fail', code: 'signature-invalid', message: 'bad', evidence: {} }] });
    const later = (await repo.verdictVersions(['pbs-exporter', 'removed'])).versions;
    assert.equal(later.get('pbs-exporter'), both.get('pbs-exporter'));
    assert.notEqual(later.get('removed'), both.get('removed'));
    assert.deepEqual([...(await repo.verdictVersions([])).versions.keys()], []);
  });

  test('alerting reads only what is not passing', async () => {
    const s = await repo.verdicts([{ name: 'pbs-exporter', keepLast: 10 }], { notPassing: true });
    assert.ok(s.checks.length > 0);
    assert.ok(s.checks.every((c) => c.status !== 'pass'));
    assert.deepEqual(s.releases, []);
  });

  test('timestamps come back as the Dates the columns hold, to the millisecond, and a missing one as null', async () => {
    // The read returns epoch milliseconds (float8) instead of timestamptz text: compare with Prisma's own Date mapping.
    await prisma.$executeRaw`UPDATE latest_check_status SET since = '2026-11-21T10:00:00.987Z', updated_at = '1969-12-31T23:59:59.001Z' WHERE subject_key = 'v0.4.0'`;
    await prisma.$executeRaw`UPDATE releases SET published_at = NULL WHERE tag = 'v0.2.0'`;
    const s = await repo.verdicts([{ name: 'pbs-exporter', keepLast: 10 }]);
    const rows = await prisma.latestCheckStatus.findMany({ where: { subjectKey: 'v0.4.0' } });
    const check = s.checks.find((c) => c.release === 'v0.4.0' && c.image === null)!;
    assert.deepEqual(check.since, new Date('2026-11-21T10:00:00.987Z'));
    assert.deepEqual(check.since, rows[0].since);
    assert.deepEqual(check.updatedAt, new Date('1969-12-31T23:59:59.001Z'), 'before the epoch');
    const v2 = s.releases.find((r) => r.release === 'v0.2.0')!;
    assert.equal(v2.publishedAt, null);
  });

  test('names, tags and codes come back byte for byte through the JSON text the read answers', async () => {
    // Quotes, backslashes, control characters, astral characters and text that looks
    // like JSON: what a hostile release tag or image repository could carry into the labels.
    const tag = 'v1"\\n\u0001\t</x>{"a":1} é 😀 \u2028';
    const releases = new ReleaseRepository(prisma);
    const target = await releases.upsertTarget('odd-names', 'someone/odd', 'h');
    await releases.upsertRelease(target, { tag, githubReleaseId: 777, name: null, prerelease: false, publishedAt: at(5) });
    const code = 'code"\\with\nnewline';
    await new VerificationRepository(prisma).recordRun({ targetId: target, subjectKind: 'release', subjectKey: tag, trigger: 'discovery', startedAt: at(5), finishedAt: at(5, 1), checks: [{ check: 'release-assets', status: 'fail', code, message: 'm', evidence: {} }] });
    const image = await new ImageRepository(prisma).upsertImage(target, 'registry.test/odd"\\name');
    await new ImageRepository(prisma).observeTag(image, tag, `sha256:${'b'.repeat(64)}`, at(5));
    await new VerificationRepository(prisma).recordRun({ targetId: target, subjectKind: 'image', subjectKey: `registry.test/odd"\\name:${tag}`, trigger: 'discovery', startedAt: at(5), finishedAt: at(5, 2), checks: [{ check: 'image-signature', status: 'pass', code: 'verified', message: 'ok', evidence: {} }] });
    const s = await repo.verdicts([{ name: 'odd-names', keepLast: 10 }]);
    assert.deepEqual(
      s.checks.map((c) => [c.target, c.image, c.release, c.check, c.status, c.code, c.lastVerdict]).sort(),
      [
        ['odd-names', null, tag, 'release-assets', 'fail', code, null],
        ['odd-names', 'registry.test/odd"\\name', tag, 'image-signature', 'pass', 'verified', null],
      ].sort(),
    );
    assert.deepEqual(s.releases, [{ target: 'odd-names', release: tag, publishedAt: at(5), firstVerdictAt: at(5, 1) }]);
  });
});
