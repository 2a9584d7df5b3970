/**
 * Go's semver as slsa-verifier uses it (golang.org/x/mod/semver): `v` followed by MAJOR, or
 * MAJOR.MINOR, or MAJOR.MINOR.PATCH, with optional -prerelease and +build. `v14` is valid and
 * means v14.0.0; a tag that is not of this form cannot be compared and never matches.
 */
export interface SemVer {
  major: number;
  minor?: number;
  patch?: number;
  prerelease?: string;
}

const SEMVER = /^v(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?)?)?$/;

export function parseSemVer(tag: string): SemVer | undefined {
  const m = SEMVER.exec(tag);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: m[2] === undefined ? undefined : Number(m[2]),
    patch: m[3] === undefined ? undefined : Number(m[3]),
    prerelease: m[4],
  };
}

/**
 * slsa-verifier's `--source-versioned-tag`: the expected tag fixes as many components as it
 * names; the built tag must agree on those. `v1` accepts v1.x.y, `v1.2` accepts v1.2.x, `v1.2.3`
 * accepts v1.2.3 (and its builds), and a prerelease given must match exactly.
 */
export function versionedTagMatches(expected: string, actual: string): boolean {
  const want = parseSemVer(expected);
  const have = parseSemVer(actual);
  if (!want || !have) return false;
  if (want.major !== have.major) return false;
  if (want.minor !== undefined && want.minor !== (have.minor ?? 0)) return false;
  if (want.patch !== undefined && want.patch !== (have.patch ?? 0)) return false;
  if (want.prerelease !== undefined && want.prerelease !== have.prerelease) return false;
  // A fully specified release does not accept a prerelease of it.
  if (want.patch !== undefined && want.prerelease === undefined && have.prerelease !== undefined) return false;
  return true;
}
