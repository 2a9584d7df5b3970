import { createHash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

/**
 * The artifact under verification, as digests computed by the caller (hashed once, streamed)
 * and, when they are at hand, its bytes. Digests are computed here, never taken from evidence.
 */
export interface Artifact {
  /** At least one; a caller that knows only a sha512 (an npm package's) gives that one. */
  digests: Partial<Record<DigestAlgorithm, Buffer>>;
  bytes?: Buffer;
}

/** An artifact whose bytes were hashed here: its SHA-256 is always among the digests. */
export type HashedArtifact = Artifact & { digests: { sha256: Buffer } };

export function artifactFromBytes(bytes: Buffer, algorithms: DigestAlgorithm[] = ['sha256']): HashedArtifact {
  const digests: Partial<Record<DigestAlgorithm, Buffer>> = {};
  for (const alg of new Set<DigestAlgorithm>(['sha256', ...algorithms])) digests[alg] = createHash(alg).update(bytes).digest();
  return { digests: digests as HashedArtifact['digests'], bytes };
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

export function artifactFromDigest(algorithm: DigestAlgorithm, hex: string): Artifact {
  return { digests: { [algorithm]: Buffer.from(hex, 'hex') } };
}

/** An artifact known only by its SHA-256 digest (`sha256:<hex>` on the command line). */
export function artifactFromSha256(hex: string): Artifact {
  return { digests: { sha256: Buffer.from(hex, 'hex') } };
}

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

/** Parses `sha256:<64 hex>`; anything else is not a digest (the conformance protocol then reads a file). */
export function parseSha256Digest(value: string): string | undefined {
  return SHA256_DIGEST.exec(value)?.[1];
}

export function formatSha256(digest: Buffer): string {
  return `sha256:${digest.toString('hex')}`;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha384', 'sha512'];

/**
 * The subject that is this artifact, compared as sigstore-go does with the algorithms the subject
 * names: every algorithm both the subject and the artifact's computed digests have must agree,
 * and there must be at least one (sha512-only npm subjects match a sha512 digest). Threat: a
 * subject that lists the real sha256 next to another file's sha512 is not this artifact.
 * Algorithms we do not compute (sha1, md5, gitCommit) are never the basis of a match.
 */
export function subjectMatchesArtifact(subjectDigest: Record<string, string>, artifact: Artifact): boolean {
  let compared = 0;
  for (const alg of DIGEST_ALGORITHMS) {
    const mine = artifact.digests[alg];
    if (!mine || !Object.hasOwn(subjectDigest, alg)) continue;
    if (String(subjectDigest[alg]).toLowerCase() !== mine.toString('hex')) return false;
    compared++;
  }
  return compared > 0;
}

/** `sha256:<hex> sha512:<hex>` of what was computed, for messages. */
export function describeDigests(artifact: Artifact): string {
  return DIGEST_ALGORITHMS.filter((a) => artifact.digests[a]).map((a) => `${a}:${artifact.digests[a]!.toString('hex')}`).join(' ');
}


/** A digest as written on a command line: `<algorithm>:<lower-case hex>`. */
export interface ArtifactDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Thrown for text that is written as a digest but is not a valid one (the CLI: a usage error). */
export class DigestSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestSyntaxError';
  }
}

// Anything that starts like `sha256:`, `SHA-512:`, `sha1:` or `md5:` was meant as a digest: a typo
// in it must not turn it into a file name (a file of that name in the working directory would
// then be verified instead of the digest the user typed).
const DIGEST_LIKE = /^(?:sha[-_]?[0-9]*|md5):/i;

/** True when `value` is written as a digest (well-formed or not); a file of that name needs `./`. */
export function looksLikeDigest(value: string): boolean {
  return DIGEST_LIKE.test(value);
}

/**
 * What counts as an attempt is broad: `SHA256:`, `sha1:`, `md5:` are digests written wrongly,
 * not file names. Returns undefined for text not written as a
 * digest at all; throws DigestSyntaxError saying what is wrong for a malformed one.
 */
export function parseArtifactDigest(value: string): ArtifactDigest | undefined {
  if (!looksLikeDigest(value)) return undefined;
  const colon = value.indexOf(':');
  const prefix = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === prefix);
  if (!algorithm) {
    const lower = DIGEST_ALGORITHMS.find((a) => a === prefix.toLowerCase());
    if (lower) throw new DigestSyntaxError(`${shown} is not a ${lower} digest: the algorithm must be written in lower case (${lower}:)`);
    throw new DigestSyntaxError(`${shown} is not a sha256, sha384 or sha512 digest: unsupported algorithm ${JSON.stringify(prefix)}`);
  }
  const length = HEX_LENGTH[algorithm];
  if (hex.length === 0) throw new DigestSyntaxError(`${shown} is not a ${algorithm} digest: no hex digits after ${algorithm}:`);
  if (!/^[0-9a-f]*$/.test(hex)) {
    const why = /^[0-9a-fA-F]*$/.test(hex) ? 'upper-case hex digits; write them in lower case' : 'characters that are not hex digits';
    throw new DigestSyntaxError(`${shown} is not a ${algorithm} digest: ${why}`);
  }
  if (hex.length !== length) throw new DigestSyntaxError(`${shown} is not a ${algorithm} digest: it needs ${length} hex digits, got ${hex.length}`);
  return { algorithm, hex };
}

/** The artifact's digest for reports: sha256 when known, else the algorithm it was given by. */
export function formatArtifactDigest(artifact: Artifact): string {
  const alg = DIGEST_ALGORITHMS.find((a) => artifact.digests[a]);
  return alg ? `${alg}:${artifact.digests[alg]!.toString('hex')}` : '(no digest)';
}
