import type { WatchTarget } from '@provwatch/config';
import { type VerifyImagePayload, verifyImageJobId } from '@provwatch/jobs';
import type { PollStateRepository } from '@provwatch/persistence';
import { type OciRegistryClient, SourceError } from '@provwatch/sources';
import { parseSemVer } from '@provwatch/verification';

export interface ImageDiscoveryDeps {
  registry: OciRegistryClient;
  pollStates: PollStateRepository;
  enqueueVerify: (payload: VerifyImagePayload, jobId: string) => Promise<void>;
  now?: () => Date;
}

/**
 * Lists each watched image's tags, keeps the newest `keep_last` release tags (semver, as the
 * project tags its images) and queues a verify job per tag and digest. The job id contains the
 * digest, so a tag that moved is new work at once; it is bucketed by the re-verification
 * interval, so an unchanged tag is checked again once per interval, not on every poll.
 */
export class ImageDiscovery {
  constructor(private readonly deps: ImageDiscoveryDeps) {}

  async discover(target: WatchTarget & { id: number }, trigger: VerifyImagePayload['trigger'] = 'discovery'): Promise<string[]> {
    const now = this.deps.now?.() ?? new Date();
    const bucket = Math.floor(now.getTime() / (target.reverifyIntervalSeconds * 1000));
    const queued: string[] = [];
    let firstError: unknown;
    for (const image of target.images) {
      const source = `oci-tags:${image.ref}`;
      try {
        const tags = newestReleaseTags(await this.deps.registry.listTags(image.ref), target.releases.keepLast);
        for (const tag of tags) {
          const { digest } = await this.deps.registry.headManifest(image.ref, tag);
          const payload: VerifyImagePayload = { target: target.name, image: image.ref, tag, digest, trigger };
          await this.deps.enqueueVerify(payload, verifyImageJobId(payload, `${tag}:${bucket}`));
          queued.push(`${image.ref}:${tag}`);
        }
        await this.deps.pollStates.record(target.id, source, now, {});
      } catch (err) {
        // One unreachable image must not hide the others: record, go on, fail the job at the end.
        await this.deps.pollStates.record(target.id, source, now, { errorCode: err instanceof SourceError ? err.code : 'internal-error' });
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
    return queued;
  }
}

/** Release-like tags (v1.2.3, 1.2.3, v1.2.3-rc.1), newest first by semver precedence. */
export function newestReleaseTags(tags: string[], keep: number): string[] {
  const parsed = tags
    .map((tag) => ({ tag, v: parseSemVer(tag.startsWith('v') ? tag : `v${tag}`) }))
    .filter((t): t is { tag: string; v: NonNullable<typeof t.v> } => t.v !== undefined && t.v.minor !== undefined && t.v.patch !== undefined && t.v.build === undefined);
  const num = (s: string | undefined) => Number(s ?? 0);
  parsed.sort((a, b) => num(b.v.major) - num(a.v.major) || num(b.v.minor) - num(a.v.minor) || num(b.v.patch) - num(a.v.patch) || prerelease(b.v.prerelease) - prerelease(a.v.prerelease) || b.tag.localeCompare(a.tag));
  return parsed.slice(0, keep).map((t) => t.tag);
}

/** A release sorts above its prereleases. */
function prerelease(value: string | undefined): number {
  return value === undefined ? 1 : 0;
}
