/**
 * Semantic versions as Go's golang.org/x/mod/semver reads them, which is what slsa-verifier uses
 * for builder tags and `--source-versioned-tag`: `v` then MAJOR, MAJOR.MINOR or
 * MAJOR.MINOR.PATCH; only the full form may carry `-prerelease` and `+build`; no leading zeros.
 * `v14` is valid and stands for v14.0.0; `14`, `release-1` or `v1.02` are not versions.
 */
export interface SemVer {
  major: string;
  /** Absent when the tag was the `vMAJOR` shorthand. */
  minor?: string;
  /** Absent for the `vMAJOR` and `vMAJOR.MINOR` shorthands. */
  patch?: string;
  /** Without the leading `-`. */
  prerelease?: string;
  /** Without the leading `+`. */
  build?: string;
}

const NUMBER = '(0|[1-9][0-9]*)';
const PRERELEASE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^v${NUMBER}(?:\\.${NUMBER}(?:\\.${NUMBER}(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?)?)?$`,
);

export function parseSemVer(tag: string): SemVer | undefined {
  const m = SEMVER.exec(tag);
  if (!m) return undefined;
  return { major: m[1], minor: m[2], patch: m[3], prerelease: m[4], build: m[5] };
}

export function isSemVerTag(tag: string): boolean {
  return parseSemVer(tag) !== undefined;
}

/**
 * A builder may only be trusted at a release tag `refs/tags/vX.Y.Z`: no shorthand, no
 * prerelease, no build metadata (slsa-verifier's IsValidBuilderTag outside its testing mode).
 * A branch, or a tag like `v2` that could be moved, names no fixed builder code.
 */
export function isReleaseBuilderRef(ref: string): boolean {
  const v = tagOf(ref);
  return v !== undefined && v.patch !== undefined && v.prerelease === undefined && v.build === undefined;
}

/** JReleaser's builder tags are `vX.Y.Z-java`: slsa-verifier's one exception to the rule above. */
export function isJReleaserBuilderRef(ref: string): boolean {
  const v = tagOf(ref);
  return v !== undefined && v.patch !== undefined && v.prerelease === 'java' && v.build === undefined;
}

function tagOf(ref: string): SemVer | undefined {
  return ref.startsWith('refs/tags/') ? parseSemVer(ref.slice('refs/tags/'.length)) : undefined;
}

/**
 * slsa-verifier's `--source-versioned-tag`: the expected version fixes as many components as it
 * names and the built tag must agree on those, after reading the built tag the way Go's
 * semver.Canonical does (`v14` is v14.0.0; build metadata ignored). So `v1` accepts v1.x.y
 * (prereleases included), `v1.2` accepts v1.2.x, `v1.2.3` accepts v1.2.3 but not v1.2.3-rc.1.
 * A built tag that is not a version never matches.
 *
 * Deviation: when the expectation names a prerelease, it must equal the built one exactly.
 * slsa-verifier compares the text between the second and third dots, so it lets `v1.2.3-rc.1`
 * accept `v1.2.3-rc.2`; that reads as an accident, not a rule worth copying.
 */
export function versionedTagMatches(expected: string, actual: string): boolean {
  const want = parseSemVer(expected);
  const have = parseSemVer(actual);
  if (!want || !have) return false;
  if (want.major !== have.major) return false;
  if (want.minor !== undefined && want.minor !== (have.minor ?? '0')) return false;
  if (want.patch !== undefined) {
    if (want.patch !== (have.patch ?? '0')) return false;
    if ((want.prerelease ?? '') !== (have.prerelease ?? '')) return false;
  }
  return true;
}
