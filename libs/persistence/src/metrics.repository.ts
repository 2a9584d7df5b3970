import type { PrismaClient } from './generated/client';
import type { CheckStatus } from './generated/client';

/** A watched target as the metrics see it: only these are reported, each with its keep_last window. */
export interface WatchedTargetWindow {
  name: string;
  keepLast: number;
}

export interface CheckStatusRow {
  target: string;
  /** The image repository for image checks, null for release checks. */
  image: string | null;
  /** The release tag, or the image tag. */
  release: string;
  check: string;
  status: CheckStatus;
  code: string;
  since: Date;
  updatedAt: Date;
}

export interface ReleaseTimingRow {
  target: string;
  release: string;
  publishedAt: Date | null;
  firstVerdictAt: Date | null;
}

export interface PollRow {
  target: string;
  /** `github-releases`, or `oci-tags:<repository>`. */
  source: string;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastErrorCode: string | null;
}

export interface StatusSnapshot {
  checks: CheckStatusRow[];
  releases: ReleaseTimingRow[];
  polls: PollRow[];
  /** As GitHub reported it on the most recent poll that carried the header. */
  githubRateLimitRemaining: number | null;
  targets: number;
}

/**
 * The reads behind the scrape-time gauges: one snapshot of the current truth in Postgres, limited
 * to the watched targets and each target's newest `keep_last` releases and image tags, so that
 * label sets stay bounded however long the history grows.
 */
export class MetricsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async snapshot(targets: WatchedTargetWindow[]): Promise<StatusSnapshot> {
    const names = targets.map((t) => t.name);
    const windows = targets.map((t) => t.keepLast);
    if (names.length === 0) return { checks: [], releases: [], polls: [], githubRateLimitRemaining: null, targets: 0 };
    // One round trip each; the window functions run on the (target_id, published_at) index.
    const [releaseChecks, imageChecks, releases, polls, rate] = await Promise.all([
      this.prisma.$queryRaw<CheckStatusRow[]>`
        WITH watched AS (
          SELECT t.id, t.name, w.keep FROM targets t
          JOIN unnest(${names}::text[], ${windows}::int[]) AS w(name, keep) ON w.name = t.name
        ), kept AS (
          SELECT r.target_id, r.tag, w.name,
                 row_number() OVER (PARTITION BY r.target_id ORDER BY r.published_at DESC NULLS LAST, r.id DESC) AS rank, w.keep
          FROM releases r JOIN watched w ON w.id = r.target_id
          WHERE r.deleted_at IS NULL
        )
        SELECT k.name AS target, NULL::text AS image, l.subject_key AS release, l."check", l.status, l.code, l.since, l.updated_at AS "updatedAt"
        FROM kept k
        JOIN latest_check_status l ON l.target_id = k.target_id AND l.subject_kind = 'release' AND l.subject_key = k.tag
        WHERE k.rank <= k.keep`,
      this.prisma.$queryRaw<CheckStatusRow[]>`
        WITH watched AS (
          SELECT t.id, t.name, w.keep FROM targets t
          JOIN unnest(${names}::text[], ${windows}::int[]) AS w(name, keep) ON w.name = t.name
        ), kept AS (
          SELECT i.target_id, i.repository, d.tag, w.name,
                 row_number() OVER (PARTITION BY d.image_id ORDER BY d.last_seen_at DESC, d.id DESC) AS rank, w.keep
          FROM image_digests d JOIN images i ON i.id = d.image_id JOIN watched w ON w.id = i.target_id
        )
        SELECT k.name AS target, k.repository AS image, k.tag AS release, l."check", l.status, l.code, l.since, l.updated_at AS "updatedAt"
        FROM kept k
        JOIN latest_check_status l ON l.target_id = k.target_id AND l.subject_kind = 'image' AND l.subject_key = k.repository || ':' || k.tag
        WHERE k.rank <= k.keep`,
      this.prisma.$queryRaw<ReleaseTimingRow[]>`
        WITH watched AS (
          SELECT t.id, t.name, w.keep FROM targets t
          JOIN unnest(${names}::text[], ${windows}::int[]) AS w(name, keep) ON w.name = t.name
        ), kept AS (
          SELECT r.target_id, r.tag, r.published_at, w.name,
                 row_number() OVER (PARTITION BY r.target_id ORDER BY r.published_at DESC NULLS LAST, r.id DESC) AS rank, w.keep
          FROM releases r JOIN watched w ON w.id = r.target_id
          WHERE r.deleted_at IS NULL
        )
        SELECT k.name AS target, k.tag AS release, k.published_at AS "publishedAt",
               (SELECT min(v.finished_at) FROM verification_runs v
                 WHERE v.target_id = k.target_id AND v.subject_kind = 'release' AND v.subject_key = k.tag) AS "firstVerdictAt"
        FROM kept k WHERE k.rank <= k.keep`,
      this.prisma.$queryRaw<PollRow[]>`
        SELECT t.name AS target, p.source, p.last_polled_at AS "lastPolledAt", p.last_success_at AS "lastSuccessAt", p.last_error_code AS "lastErrorCode"
        FROM poll_states p JOIN targets t ON t.id = p.target_id
        WHERE t.name = ANY(${names}::text[])`,
      this.prisma.$queryRaw<Array<{ remaining: number }>>`
        SELECT p.rate_limit_remaining AS remaining FROM poll_states p
        WHERE p.source = 'github-releases' AND p.rate_limit_remaining IS NOT NULL AND p.last_polled_at IS NOT NULL
        ORDER BY p.last_polled_at DESC LIMIT 1`,
    ]);
    const known = await this.prisma.target.count({ where: { name: { in: names } } });
    return { checks: [...releaseChecks, ...imageChecks], releases, polls, githubRateLimitRemaining: rate[0]?.remaining ?? null, targets: known };
  }
}
