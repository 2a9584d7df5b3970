import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the priority of the calling thread only (Linux: setpriority on a thread id applies to
 * that thread), for background threads whose work must not take a core from the serving thread
 * on a small machine. A no-op where there is no /proc/thread-self (not Linux), on the main thread
 * (that would lower the whole process's first thread), or where it is not permitted.
 */
export function lowerThisThreadsPriority(nice: number): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0 && threadId !== process.pid) setPriority(threadId, nice);
  } catch {
    // Not Linux, or not permitted: the thread runs at the process's priority.
  }
}
