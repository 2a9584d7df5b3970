import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** Why a local file cannot be read as evidence; callers turn it into their own error codes. */
export class LocalFileError extends Error {
  constructor(
    readonly reason: 'unreadable' | 'not-regular' | 'too-large' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** A generous bound on reading one local file: a regular file on a sane disk takes far less. */
export const DEFAULT_FILE_READ_TIMEOUT_MS = 5 * 60 * 1000;

/**
 * Opens a file for reading only if it is a regular file, without a window between the check and
 * the open. Threat: a FIFO (or a device such as /dev/zero) named as --bundle or --trusted-root
 * blocked `open` forever, or fed an endless stream. O_NONBLOCK makes opening a FIFO return at
 * once; fstat on the handle then sees what was really opened, symlinks followed.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new LocalFileError('unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LocalFileError('not-regular', `${path} is not a regular file`);
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a whole regular file of at most `limit` bytes within `timeoutMs`. */
export async function readRegularFile(path: string, limit: number, timeoutMs = DEFAULT_FILE_READ_TIMEOUT_MS): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path);
  try {
    if (size > limit) throw new LocalFileError('too-large', `${path} is ${size} bytes; the limit is ${limit}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of readChunks(handle, path, timeoutMs)) {
      total += chunk.length;
      // The file may grow while it is read: the limit holds for what is actually read.
      if (total > limit) throw new LocalFileError('too-large', `${path} grew past the limit of ${limit} bytes while reading`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/** The file's bytes in chunks, with one deadline for the whole read. */
export async function* readChunks(handle: FileHandle, path: string, timeoutMs = DEFAULT_FILE_READ_TIMEOUT_MS, chunkBytes = 1024 * 1024): AsyncGenerator<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (Date.now() > deadline) throw new LocalFileError('timeout', `reading ${path} took longer than ${timeoutMs} ms`);
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, chunkBytes, null));
    } catch (err) {
      throw new LocalFileError('unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}
