import type { PrismaClient } from './generated/client';
import { Prisma, SubjectKind } from './generated/client';
import { type CheckStatus, fromDbStatus, toDbStatus, worstStatus } from './check-status';

export interface CheckToRecord {
  check: string;
  status: CheckStatus;
  code: string;
  message: string;
  evidence: Record<string, unknown>;
  sbom?: { format: string; specVersion: string; componentCount: number; mainComponent?: string };
}

export interface RunToRecord {
  targetId: number;
  subjectKind: SubjectKind;
  /** The release tag, or `repository@digest` for an image. */
  subjectKey: string;
  trigger: string;
  startedAt: Date;
  finishedAt: Date;
  checks: CheckToRecord[];
}

export interface StatusChange {
  check: string;
  from: CheckStatus | null;
  to: CheckStatus;
  code: string;
}

/** The worst status of a run (see STATUS_SEVERITY). */
export function overallStatus(checks: ReadonlyArray<Pick<CheckToRecord, 'status'>>): CheckStatus {
  return worstStatus(checks.map((c) => c.status)) ?? 'pass';
}

/**
 * Verification history. Runs and check results are append-only; the latest status per subject
 * and check is upserted in the same transaction, so readers never see a run without its
 * latest-status rows, and the caller learns which checks changed status (for alerts).
 */
export class VerificationRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async recordRun(run: RunToRecord): Promise<{ runId: bigint; changes: StatusChange[] }> {
    if (run.checks.length === 0) throw new Error('a verification run records at least one check');
    return this.prisma.$transaction(async (tx) => {
      const created = await tx.verificationRun.create({
        data: {
          targetId: run.targetId,
          subjectKind: run.subjectKind,
          subjectKey: run.subjectKey,
          trigger: run.trigger,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
          status: toDbStatus(overallStatus(run.checks)),
        },
      });
      const changes: StatusChange[] = [];
      for (const check of run.checks) {
        const result = await tx.checkResult.create({
          data: {
            runId: created.id,
            check: check.check,
            status: toDbStatus(check.status),
            code: check.code,
            message: check.message,
            evidence: check.evidence as Prisma.InputJsonValue,
            sbom: check.sbom ? { create: check.sbom } : undefined,
          },
        });
        const key = { targetId: run.targetId, subjectKind: run.subjectKind, subjectKey: run.subjectKey, check: check.check };
        // Row lock: two runs of the same subject finishing together must not both miss a change.
        const previous = await tx.$queryRaw<Array<{ status: CheckStatus; since: Date }>>`
          SELECT status, since FROM latest_check_status
          WHERE target_id = ${key.targetId} AND subject_kind = ${key.subjectKind}::"SubjectKind"
            AND subject_key = ${key.subjectKey} AND "check" = ${key.check}
          FOR UPDATE`;
        const before = previous[0];
        const changed = !before || before.status !== check.status;
        await tx.latestCheckStatus.upsert({
          where: { targetId_subjectKind_subjectKey_check: key },
          create: { ...key, status: toDbStatus(check.status), code: check.code, checkResultId: result.id, since: run.finishedAt, updatedAt: run.finishedAt },
          update: { status: toDbStatus(check.status), code: check.code, checkResultId: result.id, updatedAt: run.finishedAt, ...(changed ? { since: run.finishedAt } : {}) },
        });
        if (changed) changes.push({ check: check.check, from: before?.status ?? null, to: check.status, code: check.code });
      }
      return { runId: created.id, changes };
    });
  }

  /** Latest status of every check of one subject, with the evidence of that result. */
  async latestChecks(targetId: number, subjectKind: SubjectKind, subjectKey: string) {
    const rows = await this.prisma.latestCheckStatus.findMany({ where: { targetId, subjectKind, subjectKey }, orderBy: { check: 'asc' } });
    return rows.map((r) => ({ ...r, status: fromDbStatus(r.status) }));
  }

  /** Run history of a subject, newest first, by keyset pagination on the run id. */
  async runHistory(targetId: number, subjectKey: string, options: { limit: number; before?: bigint }) {
    const runs = await this.prisma.verificationRun.findMany({
      where: { targetId, subjectKey, ...(options.before !== undefined ? { id: { lt: options.before } } : {}) },
      orderBy: { id: 'desc' },
      take: Math.min(Math.max(options.limit, 1), 200),
      include: { checks: { orderBy: { check: 'asc' } } },
    });
    return runs.map((r) => ({ ...r, status: fromDbStatus(r.status), checks: r.checks.map((c) => ({ ...c, status: fromDbStatus(c.status) })) }));
  }

  /**
   * The newest release of the target published before `tag` whose `check` found its evidence
   * (pass or fail): what makes the same evidence's absence from `tag` a regression. Releases are
   * ordered by publication (discovery when unpublished), not by when provwatch verified them, so
   * the first discovery of a project's history, verified in any order, judges each release by
   * its predecessors only.
   */
  async lastReleaseCarrying(targetId: number, check: string, tag: string): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<Array<{ tag: string }>>`
      WITH current_release AS (
        SELECT coalesce(published_at, discovered_at) AS at FROM releases WHERE target_id = ${targetId} AND tag = ${tag}
      )
      SELECT r.tag FROM releases r
      WHERE r.target_id = ${targetId} AND r.tag <> ${tag} AND r.deleted_at IS NULL
        AND coalesce(r.published_at, r.discovered_at) < coalesce((SELECT at FROM current_release), now())
        AND EXISTS (
          SELECT 1 FROM verification_runs v JOIN check_results c ON c.run_id = v.id
          WHERE v.target_id = ${targetId} AND v.subject_kind = 'release' AND v.subject_key = r.tag
            AND c."check" = ${check} AND c.status IN ('pass', 'fail')
        )
      ORDER BY coalesce(r.published_at, r.discovered_at) DESC
      LIMIT 1`;
    return rows[0]?.tag;
  }
}
