import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from '../../../test/support/postgres';
import { applyMigrations } from './migrations/migration-applier';
import { type PrismaClient, createPrismaClient } from './persistence.client';
import { type CheckToRecord, VerificationRepository } from './verification.repository';

const MIGRATIONS = join(resolve(__dirname, '../../../../prisma'), 'migrations');

describe('verification history in Postgres', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let repo: VerificationRepository;
  let targetId: number;

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    repo = new VerificationRepository(prisma);
    targetId = (await prisma.target.create({ data: { name: 'pbs-exporter', github: 'natrontech/pbs-exporter', configHash: 'h' } })).id;
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  const check = (name: string, status: CheckToRecord['status'], code = status === 'pass' ? 'verified' : 'signature-invalid'): CheckToRecord => ({
    check: name,
    status,
    code,
    message: `${name} ${status}`,
    evidence: { builderId: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0' },
  });
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 25, 10, minute));
  const run = (minute: number, checks: CheckToRecord[], subjectKey = 'v0.9.0') =>
    repo.recordRun({ targetId, subjectKind: 'release', subjectKey, trigger: 'schedule', startedAt: at(minute), finishedAt: at(minute), checks });

  test('first run: every check is a change; evidence and SBOM summary are stored', async () => {
    const sbomCheck = { ...check('release-sbom', 'pass'), sbom: { format: 'CycloneDX', specVersion: '1.5', componentCount: 42, mainComponent: 'pbs-exporter' } };
    const { runId, changes } = await run(0, [check('artifact-provenance', 'pass'), sbomCheck]);
    assert.deepEqual(changes.map((c) => [c.check, c.from, c.to]), [['artifact-provenance', null, 'pass'], ['release-sbom', null, 'pass']]);
    const stored = await prisma.checkResult.findMany({ where: { runId }, include: { sbom: true }, orderBy: { check: 'asc' } });
    assert.equal((stored[0].evidence as any).builderId.includes('generator_generic_slsa3'), true);
    assert.equal(stored[1].sbom?.componentCount, 42);
    const runRow = await prisma.verificationRun.findUniqueOrThrow({ where: { id: runId } });
    assert.equal(runRow.status, 'pass');
  });

  test('same status again is no change and keeps `since`; a new status is a change and moves it', async () => {
    const same = await run(5, [check('artifact-provenance', 'pass'), check('release-sbom', 'pass')]);
    assert.deepEqual(same.changes, []);
    let latest = await repo.latestChecks(targetId, 'release', 'v0.9.0');
    assert.deepEqual(latest.map((l) => l.since.toISOString()), [at(0).toISOString(), at(0).toISOString()]);

    const failed = await run(10, [check('artifact-provenance', 'fail'), check('release-sbom', 'pass')]);
    assert.deepEqual(failed.changes, [{ check: 'artifact-provenance', from: 'pass', to: 'fail', code: 'signature-invalid' }]);
    latest = await repo.latestChecks(targetId, 'release', 'v0.9.0');
    assert.equal(latest[0].status, 'fail');
    assert.equal(latest[0].since.toISOString(), at(10).toISOString());
    assert.equal(latest[1].since.toISOString(), at(0).toISOString());
    const runRow = await prisma.verificationRun.findUniqueOrThrow({ where: { id: failed.runId } });
    assert.equal(runRow.status, 'fail');
  });

  test('history is append-only and pages newest first', async () => {
    const page1 = await repo.runHistory(targetId, 'v0.9.0', { limit: 2 });
    assert.equal(page1.length, 2);
    assert.ok(page1[0].id > page1[1].id);
    const page2 = await repo.runHistory(targetId, 'v0.9.0', { limit: 2, before: page1[1].id });
    assert.equal(page2.length, 1);
    assert.equal(page2[0].startedAt.toISOString(), at(0).toISOString());
    assert.equal(await prisma.checkResult.count(), 6);
  });

  test('a run that cannot be stored leaves nothing behind', async () => {
    const before = await prisma.verificationRun.count();
    await assert.rejects(
      repo.recordRun({ targetId: 999_999, subjectKind: 'release', subjectKey: 'v1', trigger: 'schedule', startedAt: at(20), finishedAt: at(20), checks: [check('artifact-provenance', 'pass')] }),
    );
    // A bad row in the middle of a run rolls the whole run back.
    await assert.rejects(run(21, [check('artifact-provenance', 'pass'), { ...check('x', 'pass'), status: 'bogus' as never }], 'v2'));
    assert.equal(await prisma.verificationRun.count(), before);
    assert.equal((await repo.latestChecks(targetId, 'release', 'v2')).length, 0);
  });
});
