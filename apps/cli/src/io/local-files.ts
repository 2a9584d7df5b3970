import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { type Artifact, type DigestAlgorithm, VerificationError } from '@provwatch/verification';

/** Evidence documents (bundles, certificates, signatures, provenance) are small; artifacts are not. */
export const MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_ARTIFACT_FILE_BYTES = 8 * 1024 * 1024 * 1024;
/** No single read may take longer than this: a stalled network or FUSE mount must not hang the CLI. */
export const READ_DEADLINE_MS = 30_000;
const CHUNK_BYTES = 1024 * 1024;

export interface ReadLimits {
  /** Most bytes the file may have, checked before reading and again for what is actually read. */
  limit: number;
  /** Deadline of each read call. */
  deadlineMs?: number;
}

/** What reading needs from an open file; FileHandle has it, tests give stalling or growing fakes. */
export interface ReadableFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Opens `path` for reading only if it is a regular file. Threat: a FIFO (or a symlink to one)
 * blocks `open()` until a writer comes, forever; a device such as /dev/zero never ends. The path
 * is stat'ed first so devices are not even opened when it is plain what they are, then opened
 * with O_NONBLOCK (a FIFO opens at once instead of waiting) and O_NOCTTY, and the handle itself
 * is fstat'ed: the path may have been swapped between the two, the handle cannot be.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  refuseNonRegular(path, await stat(path).catch((err: unknown) => { throw unreadable(path, err); }));
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const info = await handle.stat();
    refuseNonRegular(path, info);
    return { handle, size: info.size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof VerificationError ? err : unreadable(path, err);
  }
}

/**
 * Reads from an open file until its end, chunk by chunk, handing each chunk to `onChunk`. Every
 * read has a deadline, and more than `limit` bytes (a file that grows while it is read) is
 * input-too-large: neither a slow nor an endless file can hold the CLI.
 */
export async function readBounded(file: ReadableFile, path: string, limits: ReadLimits, onChunk: (chunk: Buffer) => void): Promise<number> {
  const deadlineMs = limits.deadlineMs ?? READ_DEADLINE_MS;
  let total = 0;
  for (;;) {
    // One byte beyond the limit is enough to know the file is too large.
    const want = Math.min(CHUNK_BYTES, limits.limit + 1 - total);
    const buffer = Buffer.allocUnsafe(want);
    let bytesRead: number;
    try {
      ({ bytesRead } = await withDeadline(file.read(buffer, 0, want, total), deadlineMs, path));
    } catch (err) {
      throw err instanceof VerificationError ? err : unreadable(path, err);
    }
    if (bytesRead === 0) return total;
    total += bytesRead;
    if (total > limits.limit) throw new VerificationError('input-too-large', `${path} grew past the limit of ${limits.limit} bytes while it was read`);
    onChunk(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
  }
}

/** Reads a small evidence file whole, refusing non-regular, oversized or unreadable ones with a clear code. */
export async function readEvidenceFile(path: string, limit = MAX_EVIDENCE_FILE_BYTES, deadlineMs?: number): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path);
  let stalled = false;
  try {
    if (size > limit) throw new VerificationError('input-too-large', `${path} is ${size} bytes; the limit is ${limit}`);
    const chunks: Buffer[] = [];
    await readBounded(handle, path, { limit, deadlineMs }, (c) => chunks.push(c));
    return Buffer.concat(chunks);
  } catch (err) {
    stalled = isStalled(err);
    throw err;
  } finally {
    await closeHandle(handle, stalled);
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
  const { handle, size } = await openRegularFile(path);
  let stalled = false;
  try {
    if (size > limit) throw new VerificationError('input-too-large', `${path} is ${size} bytes; the limit is ${limit}`);
    const hashes = [...new Set<DigestAlgorithm>(['sha256', ...algorithms])].map((alg) => [alg, createHash(alg)] as const);
    const keep = size <= (options.keepBytesUpTo ?? 0);
    const chunks: Buffer[] = [];
    const seen = await readBounded(handle, path, { limit, deadlineMs: options.deadlineMs }, (chunk) => {
      for (const [, hash] of hashes) hash.update(chunk);
      if (keep) chunks.push(chunk);
    });
    const digests = Object.fromEntries(hashes.map(([alg, hash]) => [alg, hash.digest()])) as HashedFile['digests'];
    // Kept bytes are what was hashed, even if the file changed size since fstat.
    return { digests, bytes: keep && seen <= (options.keepBytesUpTo ?? 0) ? Buffer.concat(chunks) : undefined, size: seen };
  } catch (err) {
    stalled = isStalled(err);
    throw err;
  } finally {
    await closeHandle(handle, stalled);
  }
}

function refuseNonRegular(path: string, info: Stats): void {
  if (info.isFile()) return;
  const kind = info.isFIFO()
    ? 'a FIFO (named pipe)'
    : info.isCharacterDevice()
      ? 'a character device'
      : info.isBlockDevice()
        ? 'a block device'
        : info.isDirectory()
          ? 'a directory'
          : info.isSocket()
            ? 'a socket'
            : 'not a regular file';
  throw new VerificationError('input-unreadable', `${path} is ${kind}, not a regular file: only regular files are read`);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

function unreadable(path: string, err: unknown): VerificationError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const text = code ? `${ERRNO_TEXT[code] ?? 'error'} (${code})` : 'read failed';
  return new VerificationError('input-unreadable', `cannot read ${path}: ${text}`);
}

class ReadStalledError extends VerificationError {}

function isStalled(err: unknown): boolean {
  return err instanceof ReadStalledError;
}

function withDeadline<T>(work: Promise<T>, ms: number, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadStalledError('input-unreadable', `reading ${path} took longer than ${ms / 1000} s: given up`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A handle whose read is stuck cannot be closed until the read returns: do not wait for it. */
async function closeHandle(handle: FileHandle, stalled: boolean): Promise<void> {
  const closing = handle.close().catch(() => undefined);
  if (!stalled) await closing;
}
