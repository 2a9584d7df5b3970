/**
 * Polls `probe` until it returns a value. On timeout the error names what was awaited and, when
 * `progress` is given, what had been seen by then, so a stuck end-to-end run says where it stuck.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, options: { timeoutMs?: number; intervalMs?: number; progress?: () => Promise<string> } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = options.progress ? await options.progress().catch((e: Error) => `(progress unavailable: ${e.message})`) : '';
      throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}${seen ? `; seen so far: ${seen}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
}
