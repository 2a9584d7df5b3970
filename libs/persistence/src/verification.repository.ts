import type { PrismaClient } from './generated/client';
import { CheckStatus, Prisma, SubjectKind } from './generated/client';

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

/** The worst status of a run: a fail anywhere is a failed run; error beats missing beats pass. */
const SEVERITY: Record<CheckStatus, number> = { pass: 0, missing: 1, error: 2, fail: 3 };

export function overallStatus(checks: CheckToRecord[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => (SEVERITY[c.status] > SEVERITY[worst] ? c.status : worst), CheckStatus.pass);
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
          status: overallStatus(run.checks),
        },
      });
      const changes: StatusChange[] = [];
      for (const check of run.checks) {
        const result = await tx.checkResult.create({
          data: {
            runId: created.id,
            check: check.check,
            status: check.status,
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
          create: { ...key, status: check.status, code: check.code, checkResultId: result.id, since: run.finishedAt, updatedAt: run.finishedAt },
          update: { status: check.status, code: check.code, checkResultId: result.id, updatedAt: run.finishedAt, ...(changed ? { since: run.finishedAt } : {}) },
        });
        if (changed) changes.push({ check: check.check, from: before?.status ?? null, to: check.status, code: check.code });
      }
      return { runId: created.id, changes };
    });
  }

  /** Latest status of every check of one subject, with the evidence of that result. */
  latestChecks(targetId: number, subjectKind: SubjectKind, subjectKey: string) {
    return this.prisma.latestCheckStatus.findMany({ where: { targetId, subjectKind, subjectKey }, orderBy: { check: 'asc' } });
  }

  /** Run history of a subject, newest first, by keyset pagination on the run id. */
  runHistory(targetId: number, subjectKey: string, options: { limit: number; before?: bigint }) {
    return this.prisma.verificationRun.findMany({
      where: { targetId, subjectKey, ...(options.before !== undefined ? { id: { lt: options.before } } : {}) },
      orderBy: { id: 'desc' },
      take: Math.min(Math.max(options.limit, 1), 200),
      include: { checks: { orderBy: { check: 'asc' } } },
    });
  }
}
