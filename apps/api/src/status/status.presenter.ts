import type { WatchTarget } from '@provwatch/config';
import type { CheckDetailRow, ReleaseSummaryRow, RunRow, TargetSummaryRow } from '@provwatch/persistence';

// Rows to the JSON the API promises (openapi.schemas.ts): ISO times, ids as strings where they
// may exceed 2^53, nothing internal (database ids) leaking out.
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function presentTargetSummary(target: WatchTarget, row: TargetSummaryRow | undefined) {
  return {
    name: target.name,
    github: target.github,
    status: row?.status ?? null,
    counts: row?.counts ?? { pass: 0, fail: 0, missing: 0, error: 0 },
    lastVerifiedAt: iso(row?.lastVerifiedAt),
    latestRelease: row?.latestRelease ? { tag: row.latestRelease.tag, publishedAt: iso(row.latestRelease.publishedAt), status: row.latestRelease.status } : null,
  };
}

export function presentRelease(row: ReleaseSummaryRow) {
  return {
    tag: row.tag,
    githubReleaseId: row.githubReleaseId,
    name: row.name,
    prerelease: row.prerelease,
    publishedAt: iso(row.publishedAt),
    discoveredAt: iso(row.discoveredAt),
    deletedAt: iso(row.deletedAt),
    immutable: row.immutable,
    immutableSince: iso(row.immutableSince),
    status: row.status,
    counts: row.counts,
  };
}

export function presentCheck(row: CheckDetailRow) {
  return {
    subject: row.subjectKind,
    image: row.image,
    check: row.check,
    status: row.status,
    code: row.code,
    message: row.message,
    since: iso(row.since),
    checkedAt: iso(row.updatedAt),
    evidence: row.evidence,
    sbom: row.sbom,
  };
}

export function presentRun(row: RunRow) {
  return {
    id: row.id.toString(),
    subject: row.subjectKind,
    subjectKey: row.subjectKey,
    trigger: row.trigger,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    status: row.status,
    checks: row.checks,
  };
}
