import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The real-world vectors in test/vectors (read-only, never edited; SOURCES.md names where each
 * came from). PROVWATCH_VECTORS_DIR points the tests at another copy.
 */
export const VECTORS_DIR = resolveVectorsDir();

function resolveVectorsDir(): string {
  // Compiled tests run from dist/test/support; the sources sit at test/support.
  const candidates = [process.env.PROVWATCH_VECTORS_DIR, resolve(__dirname, '../../../test/vectors'), resolve(__dirname, '../vectors')];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'SOURCES.md'))) return dir;
  throw new Error(`test vectors not found (looked in ${candidates.filter(Boolean).join(', ')}); set PROVWATCH_VECTORS_DIR`);
}

export function vector(...parts: string[]): string {
  return join(VECTORS_DIR, ...parts);
}

export const PUBLIC_GOOD_TRUSTED_ROOT = vector('sigstore-public-good-trusted_root.json');
