import type { PrismaClient } from './generated/client';
import { textList } from './sql-lists';
import { type CheckStatus, STATUS_SEVERITY, fromDbStatus, worstStatus } from './check-status';

export interface StatusCounts {
  pass: number;
  fail: number;
  missing: number;
  error: number;
  'not-applicable': number;
}

export interface TargetSummaryRow {
  name: string;
  github: string;
  /** Latest status counts over the target's live releases and watched images. */
  counts: StatusCounts;
  /** Worst current status of any check (null: nothing verified yet). */
  status: CheckStatus | null;
  lastVerifiedAt: Date | null;
  latestRelease: { tag: string; publishedAt: Date | null; status: CheckStatus | null } | null;
}

export interface ReleaseSummaryRow {
  tag: string;
  githubReleaseId: number;
  name: string | null;
  prerelease: boolean;
  publishedAt: Date | null;
  discoveredAt: Date;
  deletedAt: Date | null;
  /** GitHub's immutable flag as last seen (null: GitHub did not say) and since when it has been true. */
  immutable: boolean | null;
  immutableSince: Date | null;
  status: CheckStatus | null;
  counts: StatusCounts;
}

export interface CheckDetailRow {
  subjectKind: 'release' | 'image';
  /** The image repository for image checks. */
  image: string | null;
  check: string;
  status: CheckStatus;
  code: string;
  message: string;
  evidence: unknown;
  since: Date;
  updatedAt: Date;
  sbom: { format: string; specVersion: string; componentCount: number; mainComponent: string | null } | null;
}

export interface RunRow {
  id: bigint;
  subjectKind: 'release' | 'image';
  subjectKey: string;
  trigger: string;
  startedAt: Date;
  finishedAt: Date;
  status: CheckStatus;
  checks: Array<{ check: string; status: CheckStatus; code: string; message: string }>;
}

export interface PollStateRow {
  source: string;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastErrorCode: string | null;
}

const worst = worstStatus;

function counts(rows: Array<{ status: CheckStatus; n: number }>): StatusCounts {
  const out: StatusCounts = { pass: 0, fail: 0, missing: 0, error: 0, 'not-applicable': 0 };
  for (const r of rows) out[r.status] += Number(r.n);
  return out;
}

function statusOfCounts(c: StatusCounts): CheckStatus | null {
  const present = (Object.keys(c) as CheckStatus[]).filter((s) => c[s] > 0);
  return present.length === 0 ? null : present.reduce((a, b) => (STATUS_SEVERITY[b] > STATUS_SEVERITY[a] ? b : a));
}

/**
 * The reads behind the REST status API. Every list is bounded and paginated by keyset; every
 * query runs on an index (targets by name, releases by (target, published_at), latest statuses
 * by their primary key), so a page costs the same with 20 releases or 20,000.
 */
export class StatusRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Targets by name (the watchlist's page), with their current verdict summary. */
  async targetSummaries(names: string[]): Promise<TargetSummaryRow[]> {
    if (names.length === 0) return [];
    const [targets, statusRows, latest] = await Promise.all([
      this.prisma.target.findMany({ where: { name: { in: names } }, select: { id: true, name: true, github: true } }),
      // Checks of live releases and of watched images (an image tag's checks stay until the target goes).
      this.prisma.$queryRaw<Array<{ target_id: number; status: CheckStatus; n: number; last: Date | null }>>`
        SELECT l.target_id, l.status, count(*)::int AS n, max(l.updated_at) FILTER (WHERE l.status <> 'error') AS last
        FROM latest_check_status l
        JOIN targets t ON t.id = l.target_id
        LEFT JOIN releases r ON l.subject_kind = 'release' AND r.target_id = l.target_id AND r.tag = l.subject_key
        WHERE t.name = ANY(${textList(names)}) AND (l.subject_kind = 'image' OR r.deleted_at IS NULL)
        GROUP BY l.target_id, l.status`,
      this.prisma.$queryRaw<Array<{ target_id: number; tag: string; published_at: Date | null; status: CheckStatus | null }>>`
        SELECT t.id AS target_id, r.tag, r.published_at, s.status
        FROM targets t
        JOIN LATERAL (
          SELECT tag, published_at FROM releases
          WHERE target_id = t.id AND deleted_at IS NULL
          ORDER BY published_at DESC NULLS LAST, id DESC LIMIT 1
        ) r ON true
        LEFT JOIN LATERAL (
          SELECT (array_agg(l.status ORDER BY CASE l.status WHEN 'fail' THEN 4 WHEN 'error' THEN 3 WHEN 'missing' THEN 2 WHEN 'pass' THEN 1 ELSE 0 END DESC))[1] AS status
          FROM latest_check_status l
          WHERE l.target_id = t.id AND (
            (l.subject_kind = 'release' AND l.subject_key = r.tag)
            OR (l.subject_kind = 'image' AND l.subject_key IN (SELECT i.repository || ':' || r.tag FROM images i WHERE i.target_id = t.id))
          )
        ) s ON true
        WHERE t.name = ANY(${textList(names)})`,
    ]);
    const byTarget = new Map<number, Array<{ status: CheckStatus; n: number; last: Date | null }>>();
    for (const row of statusRows) byTarget.set(row.target_id, [...(byTarget.get(row.target_id) ?? []), row]);
    const latestBy = new Map(latest.map((l) => [l.target_id, l]));
    const rows = targets.map((t): TargetSummaryRow => {
      const own = byTarget.get(t.id) ?? [];
      const c = counts(own);
      const lastTimes = own.map((r) => r.last).filter((d): d is Date => d !== null);
      const l = latestBy.get(t.id);
      return {
        name: t.name,
        github: t.github,
        counts: c,
        status: statusOfCounts(c),
        lastVerifiedAt: lastTimes.length > 0 ? new Date(Math.max(...lastTimes.map((d) => d.getTime()))) : null,
        latestRelease: l ? { tag: l.tag, publishedAt: l.published_at, status: l.status } : null,
      };
    });
    const order = new Map(names.map((n, i) => [n, i]));
    return rows.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  }

  /** Live and deleted releases of a target, newest first; `before` is the cursor of the last page. */
  async releases(targetName: string, options: { limit: number; before?: { publishedAt: Date | null; id: number } }): Promise<{ rows: ReleaseSummaryRow[]; next?: { publishedAt: Date | null; id: number } } | undefined> {
    const target = await this.prisma.target.findUnique({ where: { name: targetName }, select: { id: true } });
    if (!target) return undefined;
    const limit = Math.min(Math.max(options.limit, 1), 200);
    const b = options.before;
    // Keyset on (published_at DESC NULLS LAST, id DESC), the index order.
    const page = await this.prisma.$queryRaw<
      Array<{ id: number; tag: string; github_release_id: bigint; name: string | null; prerelease: boolean; published_at: Date | null; discovered_at: Date; deleted_at: Date | null; immutable: boolean | null; immutable_since: Date | null }>
    >`
      SELECT id, tag, github_release_id, name, prerelease, published_at, discovered_at, deleted_at, immutable, immutable_since
      FROM releases
      WHERE target_id = ${target.id}
        AND (${b === undefined}::boolean
             OR (${b?.publishedAt ?? null}::timestamptz IS NOT NULL AND (published_at < ${b?.publishedAt ?? null}::timestamptz OR published_at IS NULL OR (published_at = ${b?.publishedAt ?? null}::timestamptz AND id < ${b?.id ?? 0})))
             OR (${b?.publishedAt ?? null}::timestamptz IS NULL AND published_at IS NULL AND id < ${b?.id ?? 0}))
      ORDER BY published_at DESC NULLS LAST, id DESC
      LIMIT ${limit + 1}`;
    const rows = page.slice(0, limit);
    const tags = rows.map((r) => r.tag);
    const statuses =
      tags.length === 0
        ? []
        : await this.prisma.$queryRaw<Array<{ tag: string; status: CheckStatus; n: number }>>`
            SELECT CASE WHEN l.subject_kind = 'release' THEN l.subject_key ELSE substring(l.subject_key FROM length(i.repository) + 2) END AS tag,
                   l.status, count(*)::int AS n
            FROM latest_check_status l
            LEFT JOIN images i ON l.subject_kind = 'image' AND i.target_id = l.target_id AND l.subject_key LIKE i.repository || ':%'
            WHERE l.target_id = ${target.id}
              AND ((l.subject_kind = 'release' AND l.subject_key = ANY(${tags}::text[]))
                OR (l.subject_kind = 'image' AND l.subject_key IN (SELECT i2.repository || ':' || t FROM images i2, unnest(${tags}::text[]) t WHERE i2.target_id = ${target.id})))
            GROUP BY 1, l.status`;
    const byTag = new Map<string, Array<{ status: CheckStatus; n: number }>>();
    for (const s of statuses) byTag.set(s.tag, [...(byTag.get(s.tag) ?? []), s]);
    const last = rows.at(-1);
    return {
      rows: rows.map((r) => {
        const c = counts(byTag.get(r.tag) ?? []);
        return {
          tag: r.tag,
          githubReleaseId: Number(r.github_release_id),
          name: r.name,
          prerelease: r.prerelease,
          publishedAt: r.published_at,
          discoveredAt: r.discovered_at,
          deletedAt: r.deleted_at,
          immutable: r.immutable,
          immutableSince: r.immutable_since,
          status: statusOfCounts(c),
          counts: c,
        };
      }),
      next: page.length > limit && last ? { publishedAt: last.published_at, id: last.id } : undefined,
    };
  }

  /** One release with the current status of each of its checks and of its images at the same tag. */
  async releaseDetail(targetName: string, tag: string) {
    const release = await this.prisma.release.findFirst({
      where: { tag, target: { name: targetName } },
      select: { id: true, targetId: true, tag: true, githubReleaseId: true, name: true, prerelease: true, publishedAt: true, discoveredAt: true, deletedAt: true, immutable: true, immutableSince: true },
    });
    if (!release) return undefined;
    const images = await this.prisma.image.findMany({ where: { targetId: release.targetId }, select: { id: true, repository: true } });
    const imageKeys = images.map((i) => `${i.repository}:${tag}`);
    const latest = await this.prisma.latestCheckStatus.findMany({
      where: { targetId: release.targetId, OR: [{ subjectKind: 'release', subjectKey: tag }, ...(imageKeys.length > 0 ? [{ subjectKind: 'image' as const, subjectKey: { in: imageKeys } }] : [])] },
      orderBy: [{ subjectKind: 'asc' }, { subjectKey: 'asc' }, { check: 'asc' }],
    });
    const results = await this.prisma.checkResult.findMany({
      where: { id: { in: latest.map((l) => l.checkResultId) } },
      select: { id: true, message: true, evidence: true, sbom: true },
    });
    const resultById = new Map(results.map((r) => [r.id, r]));
    const digests = await this.prisma.imageDigest.findMany({ where: { imageId: { in: images.map((i) => i.id) }, tag }, select: { imageId: true, digest: true, movedToDigest: true } });
    const checks: CheckDetailRow[] = latest.map((l) => {
      const result = resultById.get(l.checkResultId);
      return {
        subjectKind: l.subjectKind,
        image: l.subjectKind === 'image' ? l.subjectKey.slice(0, -(tag.length + 1)) : null,
        check: l.check,
        status: fromDbStatus(l.status),
        code: l.code,
        message: result?.message ?? '',
        evidence: result?.evidence ?? {},
        since: l.since,
        updatedAt: l.updatedAt,
        sbom: result?.sbom ? { format: result.sbom.format, specVersion: result.sbom.specVersion, componentCount: result.sbom.componentCount, mainComponent: result.sbom.mainComponent } : null,
      };
    });
    return {
      release: { ...release, githubReleaseId: Number(release.githubReleaseId) },
      status: worst(checks.map((c) => c.status)),
      checks,
      images: images.map((i) => {
        const d = digests.find((x) => x.imageId === i.id);
        return { repository: i.repository, digest: d ? (d.movedToDigest ?? d.digest) : null, firstDigest: d?.digest ?? null };
      }),
    };
  }

  /** Verification runs of a release and of its images at the tag, newest first (keyset on run id). */
  async runs(targetName: string, tag: string, options: { limit: number; before?: bigint }): Promise<{ rows: RunRow[]; next?: bigint } | undefined> {
    const target = await this.prisma.target.findUnique({ where: { name: targetName }, select: { id: true, images: { select: { repository: true } } } });
    if (!target) return undefined;
    const exists = await this.prisma.release.count({ where: { targetId: target.id, tag } });
    if (exists === 0) return undefined;
    const limit = Math.min(Math.max(options.limit, 1), 200);
    const keys = [tag, ...target.images.map((i) => `${i.repository}:${tag}`)];
    const runs = await this.prisma.verificationRun.findMany({
      where: { targetId: target.id, subjectKey: { in: keys }, ...(options.before !== undefined ? { id: { lt: options.before } } : {}) },
      orderBy: { id: 'desc' },
      take: limit + 1,
      include: { checks: { orderBy: { check: 'asc' }, select: { check: true, status: true, code: true, message: true } } },
    });
    const rows = runs.slice(0, limit).map((r) => ({
      id: r.id,
      subjectKind: r.subjectKind,
      subjectKey: r.subjectKey,
      trigger: r.trigger,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      status: fromDbStatus(r.status),
      checks: r.checks.map((c) => ({ ...c, status: fromDbStatus(c.status) })),
    }));
    return { rows, next: runs.length > limit ? rows.at(-1)!.id : undefined };
  }

  /** What a re-verification needs: the release's GitHub id and the digest of each watched image at the tag. */
  async verificationSubject(targetName: string, tag: string) {
    const release = await this.prisma.release.findFirst({ where: { tag, deletedAt: null, target: { name: targetName } }, select: { githubReleaseId: true, targetId: true } });
    if (!release) return undefined;
    const digests = await this.prisma.imageDigest.findMany({ where: { tag, image: { targetId: release.targetId } }, select: { digest: true, movedToDigest: true, image: { select: { repository: true } } } });
    return {
      githubReleaseId: Number(release.githubReleaseId),
      images: digests.map((d) => ({ repository: d.image.repository, digest: d.movedToDigest ?? d.digest })),
    };
  }
}
