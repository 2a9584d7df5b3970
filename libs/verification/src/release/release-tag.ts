import { type Verdict, VerificationError, passVerdict, verdictFromError } from '../verdict';

export const RELEASE_TAG_CHECK = 'release-tag';

export interface ReleaseTagInput {
  tag: string;
  /** Where the tag points now (GitHub's `git/ref/tags`, annotated tags peeled); `absent` when deleted. */
  now: { commit: string } | 'absent';
  /** Where it pointed when provwatch first resolved it; undefined on the first resolution. */
  firstCommit?: string;
  /** The release's provenance verdict: when it passed, the commit it built is verified fact. */
  provenance: Verdict;
}

/**
 * A release tag must stay where the release was built. Moving a tag of a trusted repository to
 * another commit is how tj-actions/changed-files was attacked (March 2025): everything that
 * resolves the tag then gets the attacker's code while old provenance still "passes". The tag is
 * compared with the commit the verified provenance names (a tag moved before provwatch first saw
 * it) and with the commit first seen (moved since); a deleted tag fails as well.
 */
export function checkReleaseTag(input: ReleaseTagInput): Verdict {
  const { tag, now, firstCommit } = input;
  const built = input.provenance.status === 'pass' ? commitOf(input.provenance.evidence.sourceDigest) : undefined;
  const evidence = { details: { tag, commit: now === 'absent' ? null : now.commit, firstCommit: firstCommit ?? null, provenanceCommit: built ?? null } };
  try {
    if (now === 'absent') throw new VerificationError('tag-moved', `tag ${tag} no longer exists on GitHub${firstCommit ? ` (it pointed at ${firstCommit})` : ''}`);
    const commit = now.commit.toLowerCase();
    if (firstCommit !== undefined && commit !== firstCommit.toLowerCase()) {
      throw new VerificationError('tag-moved', `tag ${tag} moved from ${firstCommit} to ${commit} after it was first seen`);
    }
    if (built !== undefined && commit !== built) {
      throw new VerificationError('tag-moved', `tag ${tag} points at ${commit}, but the verified provenance built ${built}`);
    }
    return passVerdict(`tag ${tag} points at ${commit}${built ? ', the commit the provenance built' : ''}${firstCommit ? ', as when first seen' : ''}`, evidence);
  } catch (err) {
    return verdictFromError(err, evidence);
  }
}

/** A git commit id (sha1 or sha256) in lowercase, or undefined for anything else. */
function commitOf(value: string | undefined): string | undefined {
  return value !== undefined && /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(value) ? value.toLowerCase() : undefined;
}
