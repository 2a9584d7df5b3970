import { createHash } from 'node:crypto';
import { LocalFileError, type ReadLimits, type ReadableFile, readBounded as readBoundedFile, readRegularFile, withRegularFile } from '@provwatch/sources';
import { type Artifact, type DigestAlgorithm, VerificationError } from '@provwatch/verification';

/** Evidence documents (bundles, certificates, signatures, provenance) are small; artifacts are not. */
export const MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_ARTIFACT_FILE_BYTES = 8 * 1024 * 1024 * 1024;

export type { ReadLimits, ReadableFile };

/**
 * The CLI's file inputs, read through libs/sources' regular-file reader (no FIFOs or devices, a
 * deadline on every read, limits on what is read), with its refusals as the CLI's reason codes:
 * `input-too-large` for size, `input-unreadable` for everything else.
 */
function asVerificationError(err: unknown): unknown {
  if (!(err instanceof LocalFileError)) return err;
  return new VerificationError(err.reason === 'too-large' ? 'input-too-large' : 'input-unreadable', err.message);
}

export async function readBounded(file: ReadableFile, path: string, limits: ReadLimits, onChunk: (chunk: Buffer) => void): Promise<number> {
  try {
    return await readBoundedFile(file, path, limits, onChunk);
  } catch (err) {
    throw asVerificationError(err);
  }
}

/** Reads a small evidence file whole, refusing non-regular, oversized or unreadable ones with a clear code. */
export async function readEvidenceFile(path: string, limit = MAX_EVIDENCE_FILE_BYTES, deadlineMs?: number): Promise<Buffer> {
  try {
    return await readRegularFile(path, limit, deadlineMs);
  } catch (err) {
    throw asVerificationError(err);
  }
}

export type HashedFile = Artifact & { digests: Artifact['digests'] & { sha256: Buffer }; size: number };

/**
 * Hashes a file once, streaming, with sha256 and every other algorithm asked for, and keeps the
 * bytes only when the file is small enough to be worth it (Ed25519 message signatures need them).
 */
export async function hashArtifactFile(
  path: string,
  algorithms: DigestAlgorithm[] = ['sha256'],
  options: { keepBytesUpTo?: number; limit?: number; deadlineMs?: number } = {},
): Promise<HashedFile> {
  const limit = options.limit ?? MAX_ARTIFACT_FILE_BYTES;
  try {
    return await withRegularFile(path, limit, async (handle, size) => {
      const hashes = [...new Set<DigestAlgorithm>(['sha256', ...algorithms])].map((alg) => [alg, createHash(alg)] as const);
      const keep = size <= (options.keepBytesUpTo ?? 0);
      const chunks: Buffer[] = [];
      const seen = await readBoundedFile(handle, path, { limit, deadlineMs: options.deadlineMs }, (chunk) => {
        for (const [, hash] of hashes) hash.update(chunk);
        if (keep) chunks.push(chunk);
      });
      const digests = Object.fromEntries(hashes.map(([alg, hash]) => [alg, hash.digest()])) as HashedFile['digests'];
      // Kept bytes are what was hashed, even if the file changed size since fstat.
      return { digests, bytes: keep && seen <= (options.keepBytesUpTo ?? 0) ? Buffer.concat(chunks) : undefined, size: seen };
    });
  } catch (err) {
    throw asVerificationError(err);
  }
}
