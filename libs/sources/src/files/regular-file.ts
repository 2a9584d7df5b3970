import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';

/**
 * Reading local files that someone else named (the CLI's inputs, the service's trusted root and
 * watchlist, policy files): the one implementation, so every caller gets the same protections.
 * Callers turn LocalFileError into their own error codes.
 */
export class LocalFileError extends Error {
  constructor(
    readonly reason: 'unreadable' | 'not-regular' | 'too-large' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'LocalFileError';
  }
}

/** No single read may take longer than this: a stalled network or FUSE mount must not hang us. */
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
    throw err instanceof LocalFileError ? err : unreadable(path, err);
  }
}

/**
 * Reads from an open file until its end, chunk by chunk, handing each chunk to `onChunk`. Every
 * read has a deadline, and more than `limit` bytes (a file that grows while it is read) is
 * `too-large`: neither a slow nor an endless file can hold the caller.
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
      throw err instanceof LocalFileError ? err : unreadable(path, err);
    }
    if (bytesRead === 0) return total;
    total += bytesRead;
    if (total > limits.limit) throw new LocalFileError('too-large', `${path} grew past the limit of ${limits.limit} bytes while it was read`);
    onChunk(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
  }
}

/**
 * Opens a regular file, refuses it when larger than `limit`, and hands it to `use`; the handle is
 * closed afterwards, without waiting when a read is stuck (it cannot close until the read returns).
 */
export async function withRegularFile<T>(path: string, limit: number, use: (handle: FileHandle, size: number) => Promise<T>): Promise<T> {
  const { handle, size } = await openRegularFile(path);
  let stalled = false;
  try {
    if (size > limit) throw new LocalFileError('too-large', `${path} is ${size} bytes; the limit is ${limit}`);
    return await use(handle, size);
  } catch (err) {
    stalled = err instanceof LocalFileError && err.reason === 'timeout';
    throw err;
  } finally {
    const closing = handle.close().catch(() => undefined);
    if (!stalled) await closing;
  }
}

/** Reads a whole regular file of at most `limit` bytes, each read within `deadlineMs`. */
export function readRegularFile(path: string, limit: number, deadlineMs?: number): Promise<Buffer> {
  return withRegularFile(path, limit, async (handle) => {
    const chunks: Buffer[] = [];
    await readBounded(handle, path, { limit, deadlineMs }, (c) => chunks.push(c));
    return Buffer.concat(chunks);
  });
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
  throw new LocalFileError('not-regular', `${path} is ${kind}, not a regular file: only regular files are read`);
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

function unreadable(path: string, err: unknown): LocalFileError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const text = code ? `${ERRNO_TEXT[code] ?? 'error'} (${code})` : 'read failed';
  return new LocalFileError('unreadable', `cannot read ${path}: ${text}`);
}

function withDeadline<T>(work: Promise<T>, ms: number, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LocalFileError('timeout', `reading ${path} took longer than ${ms / 1000} s: given up`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
