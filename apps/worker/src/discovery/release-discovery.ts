import type { WatchTarget } from '@provwatch/config';
import { type VerifyReleasePayload, verifyReleaseJobId } from '@provwatch/jobs';
import type { PollStateRepository, ReleaseRepository } from '@provwatch/persistence';
import { type GitHubClient, type GitHubRelease, type RateLimit, SourceError } from '@provwatch/sources';

export const GITHUB_RELEASES_SOURCE = 'github-releases';

export interface ReleaseDiscoveryDeps {
  github: GitHubClient;
  pollStates: PollStateRepository;
  releases: ReleaseRepository;
  /** Queues a verify job; the job id collapses duplicates. */
  enqueueVerify: (payload: VerifyReleasePayload, jobId: string) => Promise<void>;
  /** Records a release never seen before (row and a not-yet-verified run) before it is queued. */
  recordFirstSeen?: (target: WatchTarget & { id: number }, release: GitHubRelease) => Promise<void>;
  /** Back-off of verifications whose last run is `error` (default 60 s doubling, at most 1 h). */
  retry?: { baseSeconds: number; capSeconds: number };
  now?: () => Date;
}

export interface DiscoveryResult {
  notModified: boolean;
  queued: string[];
  deleted: string[];
  rateLimit: RateLimit;
}

/**
 * Polls a target's GitHub releases. The ETag of the last answer makes an unchanged repository
 * cost a 304 (free of rate limit); a new or changed release (any asset added, replaced or
 * updated) gets a verify job whose id is derived from its content, so repeats collapse.
 */
export class ReleaseDiscovery {
  constructor(private readonly deps: ReleaseDiscoveryDeps) {}

  /**
   * Nothing changed upstream is no reason to stop checking: a signature or log entry may have been
   * revoked from the trust root, the trust root itself rotates. Releases whose last run is older than
   * the target's re-verification interval get a job; its id is bucketed by interval so replicas and
   * repeated polls collapse into one per interval.
   */
  private async queueReverification(target: WatchTarget & { id: number }, now: Date, alreadyQueued: Set<string>): Promise<string[]> {
    const intervalMs = target.reverifyIntervalSeconds * 1000;
    const due = (await this.deps.releases.dueForReverification(target.id, new Date(now.getTime() - intervalMs), target.releases.keepLast)).filter(
      (r) => !alreadyQueued.has(r.tag),
    );
    const bucket = Math.floor(now.getTime() / intervalMs);
    for (const release of due) {
      const payload: VerifyReleasePayload = { target: target.name, tag: release.tag, releaseId: release.githubReleaseId, trigger: 'schedule', ...afterRun(release.lastRunId) };
      await this.deps.enqueueVerify(payload, verifyReleaseJobId(payload, `reverify:${bucket}`));
    }
    // Undecided releases are tried again on their back-off until a verdict is reached or they
    // leave the watched window: a failure is never final only because a job gave up.
    const retry = this.deps.retry ?? { baseSeconds: 60, capSeconds: 3600 };
    const queued = new Set([...alreadyQueued, ...due.map((r) => r.tag)]);
    const retried = (await this.deps.releases.dueForRetry(target.id, now, { ...retry, window: target.releases.keepLast })).filter((r) => !queued.has(r.tag));
    for (const release of retried) {
      // The release's first verification may still be waiting in the queue (its sighting run is
      // the `error` that made this due): afterRunId lets the job skip itself once that one ran.
      const payload: VerifyReleasePayload = { target: target.name, tag: release.tag, releaseId: release.githubReleaseId, trigger: 'schedule', ...afterRun(release.lastRunId) };
      await this.deps.enqueueVerify(payload, verifyReleaseJobId(payload, `retry:${release.lastRunId}`));
    }
    return [...due, ...retried].map((r) => r.tag);
  }

  async discover(target: WatchTarget & { id: number }, trigger: VerifyReleasePayload['trigger'] = 'discovery'): Promise<DiscoveryResult> {
    const [owner, repo] = target.github.split('/');
    const now = this.deps.now?.() ?? new Date();
    const state = await this.deps.pollStates.get(target.id, GITHUB_RELEASES_SOURCE);
    let page;
    try {
      page = await this.deps.github.listReleases(owner, repo, { etag: state?.etag ?? undefined });
    } catch (err) {
      const code = err instanceof SourceError ? err.code : 'internal-error';
      // A rate limit (answered, or a hold in force so nothing was sent) is on record with its end.
      const until = err instanceof SourceError && err.code === 'github-rate-limited' ? (err.heldUntilMs ?? (err.retryAfterSeconds !== undefined ? now.getTime() + err.retryAfterSeconds * 1000 : undefined)) : undefined;
      await this.deps.pollStates.record(target.id, GITHUB_RELEASES_SOURCE, now, { errorCode: code, ...(until !== undefined ? { rateLimitResetAt: new Date(until) } : {}) });
      throw err;
    }
    const rate = { rateLimitRemaining: page.rateLimit.remaining, rateLimitResetAt: page.rateLimit.reset ? new Date(page.rateLimit.reset * 1000) : undefined };
    if (page.notModified) {
      await this.deps.pollStates.record(target.id, GITHUB_RELEASES_SOURCE, now, rate);
      return { notModified: true, queued: await this.queueReverification(target, now, new Set()), deleted: [], rateLimit: page.rateLimit };
    }
    const published = page.releases.filter((r) => !r.draft);
    const watched = published
      .filter((r) => target.releases.includePrereleases || !r.prerelease)
      .sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? ''))
      .slice(0, target.releases.keepLast);
    const queued: string[] = [];
    if (this.deps.recordFirstSeen) {
      const known = await this.deps.releases.knownTags(target.id, watched.map((r) => r.tag));
      for (const release of watched) if (!known.has(release.tag)) await this.deps.recordFirstSeen(target, release);
    }
    for (const release of watched) {
      const payload: VerifyReleasePayload = { target: target.name, tag: release.tag, releaseId: release.id, trigger };
      await this.deps.enqueueVerify(payload, verifyReleaseJobId(payload, contentKey(release)));
      queued.push(release.tag);
    }
    const deleted = await this.deps.releases.markDeleted(target.id, published.map((r) => r.tag));
    // Releases just queued for their content need no second, re-verification job.
    queued.push(...(await this.queueReverification(target, now, new Set(queued))));
    await this.deps.pollStates.record(target.id, GITHUB_RELEASES_SOURCE, now, { etag: page.etag, ...rate });
    return { notModified: false, queued, deleted, rateLimit: page.rateLimit };
  }
}

function afterRun(runId: bigint | undefined): Pick<VerifyReleasePayload, 'afterRunId'> {
  return runId === undefined ? {} : { afterRunId: runId.toString() };
}

/**
 * What makes a release "the same": its id and every asset's id, size and update time, and whether
 * GitHub calls it immutable. The flag is appended only when true, so releases that never were
 * immutable keep their keys, and one that stops being immutable is looked at again at once.
 */
export function contentKey(release: GitHubRelease): string {
  return [release.id, ...release.assets.map((a) => `${a.id}:${a.name}:${a.size}:${a.updatedAt}`).sort(), ...(release.immutable ? ['immutable'] : [])].join('|');
}
