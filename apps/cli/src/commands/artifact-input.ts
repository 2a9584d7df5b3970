import {
  type Artifact,
  type ArtifactDigest,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  DigestSyntaxError,
  artifactFromDigest,
  messageDigestAlgorithm,
  parseArtifactDigest,
  type parseBundle,
} from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { hashArtifactFile } from '../io/local-files';

type Bundle = ReturnType<typeof parseBundle>;

/** Ed25519 message signatures need the bytes; keep files up to this size in memory for them. */
export const KEEP_BYTES_UP_TO = 256 * 1024 * 1024;

/**
 * The algorithms to hash an artifact file with for this bundle: a message signature's own
 * digest algorithm; for a DSSE envelope all of sha256, sha384 and sha512 in one pass, because
 * its subjects decide which they name (npm provenance subjects carry sha512 only).
 */
export function digestAlgorithmsFor(bundle: Bundle): DigestAlgorithm[] {
  if (bundle.content.$case === 'dsseEnvelope') return [...DIGEST_ALGORITHMS];
  return [messageDigestAlgorithm(bundle) ?? 'sha256'];
}

export type ArtifactArgument = { digest: ArtifactDigest } | { path: string };

/**
 * The sigstore-conformance protocol's FILE_OR_DIGEST, classified before anything is read. An
 * argument written as a digest is a digest, never a file: `sha256:<64 hex>` was read from a file
 * of that name in the working directory when one existed (threat: a planted file is verified
 * instead of the digest the caller meant). A file with such a name is given as `./sha256:...`.
 * A malformed digest (wrong length, not hex, `SHA256:`, `sha256:` alone) is a usage error.
 */
export function parseArtifactArgument(argument: string): ArtifactArgument {
  try {
    const digest = parseArtifactDigest(argument);
    return digest ? { digest } : { path: argument };
  } catch (err) {
    if (err instanceof DigestSyntaxError) throw new UsageError(`${err.message} (a file of that name is given as ./${argument})`);
    throw err;
  }
}

/** The artifact itself: the digest as given, or the file hashed with what the bundle needs. */
export async function artifactFor(argument: ArtifactArgument, bundle: Bundle): Promise<Artifact> {
  if ('digest' in argument) return artifactFromDigest(argument.digest.algorithm, argument.digest.hex);
  return hashArtifactFile(argument.path, digestAlgorithmsFor(bundle), { keepBytesUpTo: KEEP_BYTES_UP_TO });
}
