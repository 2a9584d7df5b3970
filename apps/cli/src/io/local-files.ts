import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { type Artifact, type DigestAlgorithm, VerificationError } from '@provwatch/verification';

/** Evidence documents (bundles, certificates, signatures, provenance) are small; artifacts are not. */
export const MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_ARTIFACT_FILE_BYTES = 8 * 1024 * 1024 * 1024;

/** Reads a small evidence file whole, refusing oversized or unreadable ones with a clear code. */
export async function readEvidenceFile(path: string, limit = MAX_EVIDENCE_FILE_BYTES): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new VerificationError('input-unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VerificationError('input-unreadable', `${path} is not a regular file`);
    if (info.size > limit) throw new VerificationError('input-too-large', `${path} is ${info.size} bytes; the limit is ${limit}`);
    return await handle.readFile();
  } finally {
    await handle.close();
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
): Promise<Artifact & { size: number }> {
  const limit = options.limit ?? MAX_ARTIFACT_FILE_BYTES;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new VerificationError('input-unreadable', `${path} is not a regular file`);
    size = info.size;
  } catch (err) {
    if (err instanceof VerificationError) throw err;
    throw new VerificationError('input-unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > limit) throw new VerificationError('input-too-large', `${path} is ${size} bytes; the limit is ${limit}`);
  const hashes = [...new Set<DigestAlgorithm>(['sha256', ...algorithms])].map((alg) => [alg, createHash(alg)] as const);
  const keep = size <= (options.keepBytesUpTo ?? 0);
  const chunks: Buffer[] = [];
  let seen = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      const buf = chunk as Buffer;
      seen += buf.length;
      // The file may grow while we read it: the limit holds for what we actually read.
      if (seen > limit) throw new VerificationError('input-too-large', `${path} grew past the limit of ${limit} bytes while reading`);
      for (const [, hash] of hashes) hash.update(buf);
      if (keep) chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof VerificationError) throw err;
    throw new VerificationError('input-unreadable', `cannot read ${path}: ${(err as Error).message}`);
  }
  const digests = Object.fromEntries(hashes.map(([alg, hash]) => [alg, hash.digest()])) as Artifact['digests'];
  return { digests, bytes: keep ? Buffer.concat(chunks) : undefined, size: seen };
}
