import { type GitHubClient, type GitHubRelease, type RekorClient, SourceError, verdictFromAnyError } from '@provwatch/sources';
import type { CheckToRecord, ReleaseRepository, StatusChange, StoredAsset, VerificationRepository } from '@provwatch/persistence';
import {
  RELEASE_CHECKS,
  RELEASE_TAG_CHECK,
  type ReleaseAssetInput,
  type SigstoreTrustRoot,
  type SlsaExpectations,
  type TlogSearchResult,
  type ErrorCode,
  type Verdict,
  VerificationError,
  applyEvidenceExpectation,
  checkReleaseAttestations,
  checkReleaseChecksums,
  checkReleaseProvenance,
  checkReleaseSboms,
  checkReleaseTag,
  isEvidenceAsset,
  legacyProvenanceSearchDigest,
  passVerdict,
  planEvidenceHolding,
} from '@provwatch/verification';
import type { WatchTarget } from '@provwatch/config';
import { identityOf } from '../targets/target-identity';

export const ASSETS_CHECK = 'release-assets';
/** Every check a release run records, in order. */
export const RELEASE_RUN_CHECKS = [ASSETS_CHECK, RELEASE_CHECKS.provenance, RELEASE_CHECKS.checksums, RELEASE_CHECKS.sbom] as const;
/**
 * The code of the run recorded when discovery first sees a release, before any evidence is read:
 * a release is on record from its first sighting, whatever happens to its first verification.
 */
export const NOT_YET_VERIFIED = 'not-yet-verified' satisfies ErrorCode;
/** A check whose evidence file did not fit in the release's memory budget. */
export const EVIDENCE_OVER_BUDGET = 'evidence-over-budget' satisfies ErrorCode;
/** Evidence files the checks read are held whole (each up to this); everything else only hashed. */
const MAX_EVIDENCE_BYTES = 64 * 1024 * 1024;
const MAX_ASSET_BYTES = 2 * 1024 * 1024 * 1024;
/** Evidence bytes one release may hold in memory, all files together. */
export const DEFAULT_EVIDENCE_BUDGET_BYTES = 64 * 1024 * 1024;

export interface ReleaseVerifierLimits {
  /** Per evidence file. */
  maxEvidenceBytes?: number;
  maxAssetBytes?: number;
  /** All evidence held for one release (PROVWATCH_EVIDENCE_BUDGET). */
  evidenceBudgetBytes?: number;
}

interface UnreadableAsset {
  name: string;
  reason: string;
}
/** Attestation lookups per release (one API request each). */
const MAX_ATTESTATION_LOOKUPS = 20;

export interface ReleaseVerifierDeps {
  github: GitHubClient;
  rekor: RekorClient;
  releases: ReleaseRepository;
  verifications: VerificationRepository;
  trustRoot: () => SigstoreTrustRoot;
  now?: () => Date;
  limits?: ReleaseVerifierLimits;
}

export interface ReleaseVerificationResult {
  recorded: CheckToRecord[];
  /** Checks whose evidence is absent but the release is still inside its grace period. */
  pending: string[];
  changes: StatusChange[];
}

/**
 * Verifies one GitHub release of a watched target end to end: reads the release as it is now,
 * compares its assets with what was first seen (a swapped asset is `asset-changed`), hashes
 * each asset once (unchanged binaries are not downloaded again, but everything is re-checked),
 * runs the release checks and records the run. Missing evidence counts only after the grace period.
 */
export class ReleaseVerifier {
  constructor(private readonly deps: ReleaseVerifierDeps) {}

  /**
   * `signal` is the job's deadline: once it is aborted nothing more is downloaded and no run is
   * recorded by this call (the caller records the timeout), so a late finish cannot overwrite it.
   */
  async verify(target: WatchTarget & { id: number }, releaseId: number, trigger: string, signal?: AbortSignal): Promise<ReleaseVerificationResult> {
    const startedAt = this.now();
    const [owner, repo] = target.github.split('/');
    const release = await this.deps.github.getRelease(owner, repo, releaseId);
    const dbReleaseId = await this.saveRelease(target, release);
    const stored = await this.deps.releases.storedAssets(dbReleaseId);
    const immutability: Immutability = { since: (await this.deps.releases.immutability(dbReleaseId)).since, now: release.immutable };
    const { assets, changed, unreadable, overBudget, budgetBytes } = await this.readAssets(owner, repo, target, release, stored, signal);
    await this.deps.releases.saveAssets(
      dbReleaseId,
      assets.filter((a) => !changed.some((c) => c.name === a.input.name)).map((a) => ({ ...a.observed, sha256: a.input.sha256 })),
    );
    if (unreadable.length > 0) {
      // Evidence that cannot be read again is no evidence: the old verdicts must not stand. A
      // change already proven from GitHub's metadata is still a fail.
      const what = unreadable.map((u) => `${u.name}: ${u.reason}`).join('; ');
      const verdicts = new Map<string, Verdict>(
        RELEASE_RUN_CHECKS.map((check) => [check, { status: 'error', code: 'source-unavailable', message: `release asset(s) could not be read: ${what}`, evidence: { details: { unreadable } } }]),
      );
      const assetsNow = assetsVerdict(changed, [], immutability);
      if (assetsNow.status === 'fail') verdicts.set(ASSETS_CHECK, assetsNow);
      return this.record(target, release.tag, trigger, startedAt, [...verdicts], [], signal);
    }

    const inputs = assets.map((a) => a.input);
    // A log that cannot be asked must not stop the run: the checks that need it become
    // `error/tlog-unavailable` (retried), and every other check is still recorded.
    const searches = new Map<string, TlogSearchResult | VerificationError>();
    for (const sha of this.legacyDigestsNeedingRekor(inputs, target)) {
      try {
        searches.set(sha, await this.deps.rekor.findByArtifactDigest(sha));
      } catch (err) {
        if (!(err instanceof VerificationError && err.code === 'tlog-unavailable')) throw err;
        searches.set(sha, err);
      }
    }
    const checkInput = {
      trustRoot: this.deps.trustRoot(),
      assets: inputs,
      identity: identityOf(target),
      expectations: { sourceUri: target.sourceUri, sourceTag: release.tag, builderId: target.builderId } satisfies SlsaExpectations,
      provenanceAsset: target.artifacts.provenance,
      checksumsAsset: target.artifacts.checksums,
      sbomAssets: target.artifacts.sbom,
      requireFullCoverage: target.expect.coverage === 'all',
      tlogSearch: (sha: string) => {
        const found = searches.get(sha);
        if (found instanceof VerificationError) throw found;
        return found;
      },
    };
    // A check that ran without a file it reads (left out by the budget) decided nothing: it may
    // have seen "no signature" where one was published. Its verdict is replaced, never kept.
    const withheld = (check: string, verdict: Verdict): Verdict => overBudgetVerdict(check, overBudget, budgetBytes) ?? verdict;
    let provenance = checkReleaseProvenance(checkInput);
    if (provenance.status === 'missing') provenance = await this.attestationsProvenance(owner, repo, checkInput);
    provenance = withheld(RELEASE_CHECKS.provenance, provenance);
    const verdicts: Array<[string, Verdict]> = [
      [ASSETS_CHECK, assetsVerdict(changed, inputs, immutability)],
      [RELEASE_CHECKS.provenance, await this.expected(target, release.tag, RELEASE_CHECKS.provenance, provenance)],
      [RELEASE_CHECKS.checksums, await this.expected(target, release.tag, RELEASE_CHECKS.checksums, withheld(RELEASE_CHECKS.checksums, checkReleaseChecksums(checkInput)))],
      [RELEASE_CHECKS.sbom, await this.expected(target, release.tag, RELEASE_CHECKS.sbom, withheld(RELEASE_CHECKS.sbom, checkReleaseSboms(checkInput, provenance)))],
      [RELEASE_TAG_CHECK, await this.tagVerdict(owner, repo, dbReleaseId, release.tag, provenance)],
    ];

    const inGrace = release.publishedAt !== null && this.now().getTime() - Date.parse(release.publishedAt) < target.gracePeriodSeconds * 1000;
    const pending = verdicts.filter(([, v]) => v.status === 'missing' && inGrace).map(([name]) => name);
    return this.record(target, release.tag, trigger, startedAt, verdicts, pending, signal);
  }

  /**
   * A verification that could not even start or finish (the release unreadable, garbage from
   * the API, the database of assets unreachable...) is a run like any other, every check
   * `error`: never only a failed job in Redis that nobody looks at.
   */
  async recordFailure(target: WatchTarget & { id: number }, tag: string, trigger: string, startedAt: Date, err: unknown): Promise<ReleaseVerificationResult> {
    const verdict = verdictFromAnyError(err);
    const message = `verification could not complete: ${verdict.message}`;
    return this.record(target, tag, trigger, startedAt, RELEASE_RUN_CHECKS.map((check) => [check, { ...verdict, status: 'error', message }]), []);
  }

  /** The first sighting of a release: its row and a run saying nothing is verified yet. */
  async recordFirstSeen(target: WatchTarget & { id: number }, release: GitHubRelease): Promise<void> {
    await this.saveRelease(target, release);
    const message = 'release seen; its evidence has not been verified yet';
    await this.record(target, release.tag, 'discovery', this.now(), RELEASE_RUN_CHECKS.map((check) => [check, { status: 'error', code: NOT_YET_VERIFIED, message, evidence: {} } as unknown as Verdict]), []);
  }

  /** The release's row as GitHub describes it now (its id in Postgres). */
  private saveRelease(target: WatchTarget & { id: number }, release: GitHubRelease): Promise<number> {
    return this.deps.releases.upsertRelease(target.id, {
      tag: release.tag,
      githubReleaseId: release.id,
      name: release.name,
      prerelease: release.prerelease,
      publishedAt: release.publishedAt ? new Date(release.publishedAt) : null,
      immutable: release.immutable,
    });
  }

  private async record(
    target: WatchTarget & { id: number },
    tag: string,
    trigger: string,
    startedAt: Date,
    verdicts: Array<[string, Verdict]>,
    pending: string[],
    signal?: AbortSignal,
  ): Promise<ReleaseVerificationResult> {
    // Past the job's deadline the timeout is what gets recorded, not verdicts that arrived late.
    signal?.throwIfAborted();
    const recorded = verdicts
      .filter(([name]) => !pending.includes(name))
      .map(([check, v]): CheckToRecord => ({ check, status: v.status, code: v.code, message: v.message, evidence: v.evidence as Record<string, unknown> }));
    const { changes } = await this.deps.verifications.recordRun({
      targetId: target.id,
      subjectKind: 'release',
      subjectKey: tag,
      trigger,
      startedAt,
      finishedAt: this.now(),
      checks: recorded,
    });
    return { recorded, pending, changes };
  }

  /**
   * No provenance asset: GitHub's attestations API may hold provenance for the assets
   * (`actions/attest-build-provenance`). An API that cannot be asked leaves the check undecided.
   */
  private async attestationsProvenance(owner: string, repo: string, input: Parameters<typeof checkReleaseAttestations>[0]): Promise<Verdict> {
    const bundles = new Map<string, object[]>();
    try {
      for (const asset of input.assets.filter((a) => !isEvidenceAsset(a.name)).slice(0, MAX_ATTESTATION_LOOKUPS)) {
        const found = await this.deps.github.getAttestations(owner, repo, asset.sha256);
        if (found.length > 0) bundles.set(asset.name, found);
      }
    } catch (err) {
      return verdictFromAnyError(err);
    }
    // As `gh attestation verify --repo OWNER/REPO`: the watched repository is the one the run belonged to.
    return checkReleaseAttestations(input, bundles, `${owner}/${repo}`);
  }

  /**
   * Where the release tag points now against where the verified provenance built and where it
   * pointed first (checkReleaseTag). One conditional request per release and run: an unchanged
   * ref answers 304 and costs no rate limit. GitHub not answering leaves the check undecided.
   */
  private async tagVerdict(owner: string, repo: string, releaseId: number, tag: string, provenance: Verdict): Promise<Verdict> {
    try {
      const state = await this.deps.releases.tagState(releaseId);
      const resolved = await this.deps.github.resolveTag(owner, repo, tag, { etag: state.commit ? state.etag : undefined });
      const commit = resolved.kind === 'unchanged' ? state.commit! : resolved.kind === 'commit' ? resolved.commit : null;
      if (resolved.kind !== 'unchanged') await this.deps.releases.saveTagState(releaseId, { commit, etag: resolved.kind === 'commit' ? (resolved.etag ?? null) : null });
      return checkReleaseTag({ tag, now: commit === null ? 'absent' : { commit }, firstCommit: state.firstCommit, provenance });
    } catch (err) {
      return verdictFromAnyError(err);
    }
  }

  /**
   * What absent evidence means for this target (applyEvidenceExpectation): the watchlist's
   * declarations and `expect:`, then the target's own history, asked only when it matters.
   */
  private async expected(target: WatchTarget & { id: number }, tag: string, check: string, verdict: Verdict): Promise<Verdict> {
    const rule = RELEASE_EXPECTATIONS[check];
    const expect = target.expect[rule.key];
    const declared = target.artifacts[rule.key] !== undefined;
    const needsHistory = verdict.status === 'missing' && expect === undefined && !declared;
    const lastCarriedBy = needsHistory ? await this.deps.verifications.lastReleaseCarrying(target.id, check, tag) : undefined;
    return applyEvidenceExpectation(verdict, { evidence: rule.evidence, subject: tag, declared, expect, lastCarriedBy });
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async readAssets(owner: string, repo: string, target: WatchTarget, release: GitHubRelease, stored: Map<string, StoredAsset>, signal?: AbortSignal) {
    const assets: Array<{ input: ReleaseAssetInput; observed: { githubAssetId: number; name: string; size: number; contentType: string; githubUpdatedAt: Date } }> = [];
    const changed: AssetChange[] = [];
    const unreadable: UnreadableAsset[] = [];
    const maxEvidence = this.deps.limits?.maxEvidenceBytes ?? MAX_EVIDENCE_BYTES;
    const maxAsset = this.deps.limits?.maxAssetBytes ?? MAX_ASSET_BYTES;
    const budgetBytes = this.deps.limits?.evidenceBudgetBytes ?? DEFAULT_EVIDENCE_BUDGET_BYTES;
    // Only what the checks read is held, most important first, within the budget (threat: a
    // release of many large evidence-like files exhausting the worker's memory). GitHub's listed
    // sizes plan it; a body larger than listed is never kept (keepBytesUpTo).
    const plan = planEvidenceHolding(
      release.assets.map((a) => ({ name: a.name, size: a.size })),
      { provenanceAsset: target.artifacts.provenance, checksumsAsset: target.artifacts.checksums, sbomAssets: target.artifacts.sbom },
      { budgetBytes, maxFileBytes: maxEvidence },
    );
    const readByCheck = new Set([...plan.hold.keys(), ...plan.overBudget.map((r) => r.name), ...plan.overFileLimit.map((r) => r.name)]);
    for (const a of release.assets) {
      signal?.throwIfAborted();
      const observed = { githubAssetId: a.id, name: a.name, size: a.size, contentType: a.contentType, githubUpdatedAt: new Date(a.updatedAt) };
      const previous = stored.get(a.name);
      const same =
        previous?.sha256 &&
        previous.githubAssetId === a.id &&
        previous.size === a.size &&
        previous.githubUpdatedAt.getTime() === observed.githubUpdatedAt.getTime();
      const evidence = readByCheck.has(a.name);
      const holdUpTo = plan.hold.get(a.name);
      // GitHub's own digest, or merely another size, proves a swap without a download: an
      // attacker cannot hide the swap behind a file too large (or too slow) to fetch again.
      const githubSha = a.digest?.slice('sha256:'.length);
      if (previous?.sha256 && ((githubSha && githubSha !== previous.sha256) || a.size !== previous.size)) {
        changed.push({ name: a.name, before: previous.sha256, after: githubSha ? githubSha : `(size ${a.size}, was ${previous.size})` });
        if (!githubSha || evidence) unreadable.push({ name: a.name, reason: 'changed after it was first seen' });
        else assets.push({ input: { name: a.name, sha256: githubSha }, observed });
        continue;
      }
      let input: ReleaseAssetInput;
      if (same && holdUpTo === undefined) {
        // Unchanged bytes that are not held need not travel again; the checks still run on the known digest.
        input = { name: a.name, sha256: previous.sha256! };
      } else {
        let downloaded;
        try {
          downloaded = await this.deps.github.downloadAsset(owner, repo, a.id, { maxBytes: evidence ? maxEvidence : maxAsset, keepBytesUpTo: holdUpTo ?? 0 });
        } catch (err) {
          if (!(err instanceof SourceError)) throw err;
          signal?.throwIfAborted();
          unreadable.push({ name: a.name, reason: `${err.code}: ${err.message}` });
          continue;
        }
        if (holdUpTo !== undefined && downloaded.bytes === undefined) {
          unreadable.push({ name: a.name, reason: `${downloaded.size} bytes, more than the ${a.size} GitHub lists` });
          continue;
        }
        input = { name: a.name, sha256: downloaded.sha256, bytes: downloaded.bytes };
        // GitHub recorded other bytes than storage served: a swap behind GitHub's back, or a
        // storage host (or the path to it) serving something else. Threat: bytes that were never
        // the release's becoming its first-seen digest. Not saved; the release fails.
        if (githubSha && githubSha !== downloaded.sha256) {
          changed.push({ name: a.name, before: githubSha, after: downloaded.sha256, against: 'github-digest' });
          assets.push({ input, observed });
          continue;
        }
      }
      if (previous?.sha256 && previous.sha256 !== input.sha256) changed.push({ name: a.name, before: previous.sha256, after: input.sha256 });
      assets.push({ input, observed });
    }
    return { assets, changed, unreadable, overBudget: plan.overBudget, budgetBytes };
  }

  /** Digests whose evidence has no log entry of its own (legacy .pem/.sig, bare envelopes). */
  private legacyDigestsNeedingRekor(assets: ReleaseAssetInput[], target: WatchTarget): string[] {
    const digests: string[] = [];
    const checksums = target.artifacts.checksums ?? 'checksums.txt';
    const hasBundle = assets.some((a) => a.name === `${checksums}.sigstore.json`);
    const file = assets.find((a) => a.name === checksums);
    if (file && !hasBundle && assets.some((a) => a.name === `${checksums}.sig`)) digests.push(file.sha256);
    // The asset the provenance check will verify the log entry for, not merely the first file.
    const provenanceDigest = legacyProvenanceSearchDigest({ assets, provenanceAsset: target.artifacts.provenance });
    if (provenanceDigest && !digests.includes(provenanceDigest)) digests.push(provenanceDigest);
    return digests;
  }
}

/** Which watchlist keys declare (artifacts.*) and override (expect.*) each release check. */
const RELEASE_EXPECTATIONS: Record<string, { key: 'provenance' | 'checksums' | 'sbom'; evidence: string }> = {
  [RELEASE_CHECKS.provenance]: { key: 'provenance', evidence: 'provenance' },
  [RELEASE_CHECKS.checksums]: { key: 'checksums', evidence: 'signed checksums' },
  [RELEASE_CHECKS.sbom]: { key: 'sbom', evidence: 'SBOM' },
};

/** `error/evidence-over-budget` for a check that needed a file the budget left out; undefined when none. */
function overBudgetVerdict(check: string, overBudget: ReadonlyArray<{ name: string; check: string; size: number }>, budgetBytes: number): Verdict | undefined {
  const left = overBudget.filter((r) => r.check === check);
  if (left.length === 0) return undefined;
  return {
    status: 'error',
    code: EVIDENCE_OVER_BUDGET,
    message: `not held in memory, over the release's ${budgetBytes}-byte evidence budget (PROVWATCH_EVIDENCE_BUDGET): ${left.map((r) => `${r.name} (${r.size} bytes)`).join(', ')}`,
    evidence: { details: { overBudget: left.map(({ name, size }) => ({ name, size })), budgetBytes } },
  };
}

/** GitHub's immutable flag now, and since when provwatch has seen the release immutable (null: never). */
interface Immutability {
  since: Date | null;
  now: boolean | undefined;
}

/**
 * The release's assets against their first sighting, and GitHub's immutability promise against
 * its own history. Threat: an immutable release is what lets consumers trust its bytes never
 * change; one seen immutable and then mutable again (the flag turned off, or gone from the answer)
 * may be rewritten at any time, so it fails even before anything changed. An immutable release
 * whose assets changed anyway is `asset-changed`, its message saying GitHub's lock was broken.
 */
/** An asset whose bytes differ from its first sighting, or from the digest GitHub records for it. */
interface AssetChange {
  name: string;
  before: string;
  after: string;
  /** What `before` is: the first-seen digest (default), or GitHub's own `digest` of the asset. */
  against?: 'github-digest';
}

function describeChange(c: AssetChange): string {
  const after = /^[0-9a-f]{64}$/.test(c.after) ? `sha256:${c.after}` : c.after;
  return c.against === 'github-digest' ? `${c.name}: GitHub records sha256:${c.before}, its download is ${after}` : `${c.name} sha256:${c.before} -> ${after}`;
}

function assetsVerdict(changed: AssetChange[], inputs: ReleaseAssetInput[], immutability: Immutability): Verdict {
  const since = immutability.since?.toISOString();
  if (changed.length > 0) {
    return {
      status: 'fail',
      code: 'asset-changed',
      message: `${changed.every((c) => c.against === 'github-digest') ? 'release assets differ from the digests GitHub records for them' : 'release assets changed after they were first seen'}${since ? ` (on a release GitHub marked immutable since ${since})` : ''}: ${changed.map(describeChange).join('; ')}`,
      evidence: { details: { changed, ...(since ? { immutableSince: since, immutable: immutability.now ?? null } : {}) } },
    };
  }
  if (since && immutability.now !== true) {
    return {
      status: 'fail',
      code: 'immutability-revoked',
      message: `release was immutable on GitHub since ${since} and is ${immutability.now === false ? 'mutable now' : 'no longer said to be immutable'}: its assets and tag can be replaced`,
      evidence: { details: { immutableSince: since, immutable: immutability.now ?? null } },
    };
  }
  return passVerdict(`${inputs.length} asset(s) unchanged since first seen${immutability.now ? ' (GitHub: immutable release)' : ''}`, {
    artifactDigests: Object.fromEntries(inputs.map((a) => [a.name, `sha256:${a.sha256}`])),
    ...(immutability.now !== undefined ? { details: { immutable: immutability.now, ...(since ? { immutableSince: since } : {}) } } : {}),
  });
}
