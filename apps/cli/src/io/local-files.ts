import { createHash } from 'node:crypto';
import { LocalFileError, openRegularFile, readChunks, readRegularFile } from '@provwatch/sources';
import { type DigestAlgorithm, type HashedArtifact, VerificationError } from '@provwatch/verification';

/** Evidence documents (bundles, certificates, signatures, provenance) are small; artifacts are not. */
export const MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_ARTIFACT_FILE_BYTES = 8 * 1024 * 1024 * 1024;

/**
 * Reads a small evidence file whole. Only regular files are opened (a FIFO named as --bundle
 * blocked forever); size and time are bounded; each failure has a clear code.
 */
export async function readEvidenceFile(path: string, limit = MAX_EVIDENCE_FILE_BYTES): Promise<Buffer> {
  try {
    return await readRegularFile(path, limit);
  } catch (err) {
    throw asVerificationError(err, path);
  }
}

/**
 * Hashes a file once, streaming, with every algorithm asked for, and keeps the bytes only when
 * the file is small enough to be worth it (Ed25519 message signatures need them).
 */
export async function hashArtifactFile(
  path: string,
  algorithms: DigestAlgorithm[] = ['sha256'],
  options: { keepBytesUpTo?: number; limit?: number } = {},
): Promise<HashedArtifact & { size: number }> {
  const limit = options.limit ?? MAX_ARTIFACT_FILE_BYTES;
  let opened;
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    throw asVerificationError(err, path);
  }
  const { handle, size } = opened;
  try {
    if (size > limit) throw new VerificationError('input-too-large', `${path} is ${size} bytes; the limit is ${limit}`);
    const hashes = [...new Set<DigestAlgorithm>(['sha256', ...algorithms])].map((alg) => [alg, createHash(alg)] as const);
    const keep = size <= (options.keepBytesUpTo ?? 0);
    const chunks: Buffer[] = [];
    let seen = 0;
    for await (const chunk of readChunks(handle, path)) {
      seen += chunk.length;
      // The file may grow while we read it: the limit holds for what we actually read.
      if (seen > limit) throw new VerificationError('input-too-large', `${path} grew past the limit of ${limit} bytes while reading`);
      for (const [, hash] of hashes) hash.update(chunk);
      if (keep) chunks.push(chunk);
    }
    const digests = Object.fromEntries(hashes.map(([alg, hash]) => [alg, hash.digest()])) as HashedArtifact['digests'];
    return { digests, bytes: keep ? Buffer.concat(chunks) : undefined, size: seen };
  } catch (err) {
    throw asVerificationError(err, path);
  } finally {
    await handle.close();
  }
}

function asVerificationError(err: unknown, path: string): VerificationError {
  if (err instanceof VerificationError) return err;
  if (err instanceof LocalFileError) return new VerificationError(err.reason === 'too-large' ? 'input-too-large' : 'input-unreadable', err.message);
  return new VerificationError('input-unreadable', `cannot read ${path}: ${(err as Error).message}`);
}
