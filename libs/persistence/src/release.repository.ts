import type { PrismaClient } from './generated/client';

export interface ObservedAsset {
  githubAssetId: number;
  name: string;
  size: number;
  contentType: string;
  githubUpdatedAt: Date;
}

export interface StoredAsset extends ObservedAsset {
  sha256: string | null;
}

export interface ReleaseTagState {
  firstCommit?: string;
  commit?: string;
  etag?: string;
}

/** Targets, releases and their assets as last seen on GitHub. */
export class ReleaseRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates or updates the target row from the watchlist; returns its id. */
  async upsertTarget(name: string, github: string, configHash: string): Promise<number> {
    const target = await this.prisma.target.upsert({ where: { name }, create: { name, github, configHash }, update: { github, configHash, enabled: true } });
    return target.id;
  }

  /**
   * Creates or updates a release row as GitHub shows it now. `immutable` is GitHub's flag (absent:
   * it did not say); the first time it is seen true is kept in `immutable_since` and never cleared.
   */
  async upsertRelease(
    targetId: number,
    release: { tag: string; githubReleaseId: number; name: string | null; prerelease: boolean; publishedAt: Date | null; immutable?: boolean },
  ): Promise<number> {
    const immutable = release.immutable ?? null;
    const row = await this.prisma.release.upsert({
      where: { targetId_tag: { targetId, tag: release.tag } },
      create: { targetId, tag: release.tag, githubReleaseId: BigInt(release.githubReleaseId), name: release.name, prerelease: release.prerelease, publishedAt: release.publishedAt, immutable, immutableSince: immutable ? new Date() : null },
      update: { githubReleaseId: BigInt(release.githubReleaseId), name: release.name, prerelease: release.prerelease, publishedAt: release.publishedAt, deletedAt: null, immutable },
    });
    if (immutable && row.immutableSince === null) await this.prisma.$executeRaw`UPDATE releases SET immutable_since = now() WHERE id = ${row.id} AND immutable_since IS NULL`;
    return row.id;
  }

  /** GitHub's immutable flag as last recorded and since when the release has been seen immutable. */
  async immutability(releaseId: number): Promise<{ immutable: boolean | null; since: Date | null }> {
    const row = await this.prisma.release.findUniqueOrThrow({ where: { id: releaseId }, select: { immutable: true, immutableSince: true } });
    return { immutable: row.immutable, since: row.immutableSince };
  }

  /** Where the release's tag pointed when first resolved and at the last resolution, with its ETag. */
  async tagState(releaseId: number): Promise<ReleaseTagState> {
    const row = await this.prisma.release.findUniqueOrThrow({ where: { id: releaseId }, select: { tagFirstCommit: true, tagCommit: true, tagRefEtag: true } });
    return { firstCommit: row.tagFirstCommit ?? undefined, commit: row.tagCommit ?? undefined, etag: row.tagRefEtag ?? undefined };
  }

  /** Records a resolution; the first commit is set once and never overwritten (it is the baseline). */
  async saveTagState(releaseId: number, state: { commit: string | null; etag: string | null }): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE releases SET tag_commit = ${state.commit}, tag_ref_etag = ${state.etag}, tag_first_commit = coalesce(tag_first_commit, ${state.commit})
      WHERE id = ${releaseId} AND (tag_commit IS DISTINCT FROM ${state.commit} OR tag_ref_etag IS DISTINCT FROM ${state.etag} OR tag_first_commit IS NULL)`;
  }

  async storedAssets(releaseId: number): Promise<Map<string, StoredAsset>> {
    const rows = await this.prisma.releaseAsset.findMany({ where: { releaseId } });
    return new Map(
      rows.map((r) => [
        r.name,
        { githubAssetId: Number(r.githubAssetId), name: r.name, size: Number(r.size), contentType: r.contentType ?? '', githubUpdatedAt: r.githubUpdatedAt, sha256: r.sha256 },
      ]),
    );
  }

  /** Records assets as observed now, with the digest computed for each. */
  async saveAssets(releaseId: number, assets: Array<ObservedAsset & { sha256: string }>): Promise<void> {
    await this.prisma.$transaction(
      assets.map((a) =>
        this.prisma.releaseAsset.upsert({
          where: { releaseId_name: { releaseId, name: a.name } },
          create: { releaseId, githubAssetId: BigInt(a.githubAssetId), name: a.name, size: BigInt(a.size), contentType: a.contentType, githubUpdatedAt: a.githubUpdatedAt, sha256: a.sha256, hashedAt: new Date() },
          update: { githubAssetId: BigInt(a.githubAssetId), size: BigInt(a.size), contentType: a.contentType, githubUpdatedAt: a.githubUpdatedAt, sha256: a.sha256, hashedAt: new Date() },
        }),
      ),
    );
  }

  /** Releases that disappeared upstream are kept, marked deleted: their history stays. */
  async markDeleted(targetId: number, presentTags: string[]): Promise<string[]> {
    const gone = await this.prisma.release.findMany({ where: { targetId, deletedAt: null, tag: { notIn: presentTags } }, select: { tag: true } });
    if (gone.length > 0) await this.prisma.release.updateMany({ where: { targetId, tag: { in: gone.map((g) => g.tag) } }, data: { deletedAt: new Date() } });
    return gone.map((g) => g.tag);
  }

  /** Releases whose last verification run is older than `before` (or that never ran), newest first. */
  async dueForReverification(targetId: number, before: Date, limit: number): Promise<Array<{ tag: string; githubReleaseId: number; lastRunId?: bigint }>> {
    const rows = await this.prisma.$queryRaw<Array<{ tag: string; github_release_id: bigint; last_id: bigint | null }>>`
      SELECT r.tag, r.github_release_id, runs.last_id
      FROM releases r
      LEFT JOIN LATERAL (
        SELECT max(v.finished_at) AS last, max(v.id) AS last_id FROM verification_runs v
        WHERE v.target_id = r.target_id AND v.subject_kind = 'release' AND v.subject_key = r.tag
      ) runs ON true
      WHERE r.target_id = ${targetId} AND r.deleted_at IS NULL AND (runs.last IS NULL OR runs.last < ${before})
      ORDER BY r.published_at DESC NULLS LAST
      LIMIT ${limit}`;
    return rows.map((r) => ({ tag: r.tag, githubReleaseId: Number(r.github_release_id), ...(r.last_id !== null ? { lastRunId: BigInt(r.last_id) } : {}) }));
  }

  /** Id of the release's latest verification run (its sighting included), if any. */
  async latestRunId(targetId: number, tag: string): Promise<bigint | undefined> {
    const run = await this.prisma.verificationRun.findFirst({ where: { targetId, subjectKind: 'release', subjectKey: tag }, orderBy: { id: 'desc' }, select: { id: true } });
    return run?.id;
  }

  /** Which of these tags have a release row already (a release never seen before has none). */
  async knownTags(targetId: number, tags: string[]): Promise<Set<string>> {
    if (tags.length === 0) return new Set();
    const rows = await this.prisma.release.findMany({ where: { targetId, tag: { in: tags } }, select: { tag: true } });
    return new Set(rows.map((r) => r.tag));
  }

  /**
   * Releases among the target's newest `window` (not deleted) whose latest run is `error` and
   * older than its back-off: `baseSeconds` doubled per consecutive error run, at most
   * `capSeconds`. Each comes with its latest run id, so a retry job id is new per failed run and
   * never collapses into a job that already failed.
   */
  async dueForRetry(targetId: number, now: Date, options: { baseSeconds: number; capSeconds: number; window: number }): Promise<Array<{ tag: string; githubReleaseId: number; lastRunId: bigint }>> {
    const rows = await this.prisma.$queryRaw<Array<{ tag: string; github_release_id: bigint; run_id: bigint }>>`
      SELECT r.tag, r.github_release_id, last.id AS run_id
      FROM (
        SELECT * FROM releases WHERE target_id = ${targetId} AND deleted_at IS NULL
        ORDER BY published_at DESC NULLS LAST LIMIT ${options.window}
      ) r
      JOIN LATERAL (
        SELECT v.id, v.status, v.finished_at FROM verification_runs v
        WHERE v.target_id = r.target_id AND v.subject_kind = 'release' AND v.subject_key = r.tag
        ORDER BY v.id DESC LIMIT 1
      ) last ON true
      JOIN LATERAL (
        SELECT count(*)::int AS n FROM verification_runs v
        WHERE v.target_id = r.target_id AND v.subject_kind = 'release' AND v.subject_key = r.tag AND v.status = 'error'
          AND v.id > coalesce((SELECT max(w.id) FROM verification_runs w
            WHERE w.target_id = r.target_id AND w.subject_kind = 'release' AND w.subject_key = r.tag AND w.status <> 'error'), 0)
      ) errors ON true
      WHERE last.status = 'error'
        AND last.finished_at < ${now}::timestamptz - make_interval(secs => least(${options.capSeconds}::float8, ${options.baseSeconds}::float8 * power(2, greatest(errors.n - 1, 0))))
      ORDER BY r.published_at DESC NULLS LAST`;
    return rows.map((r) => ({ tag: r.tag, githubReleaseId: Number(r.github_release_id), lastRunId: BigInt(r.run_id) }));
  }
}
