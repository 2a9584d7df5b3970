import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The shared real-world vectors (read-only, never edited). CI checks out the repository with
 * shared/ beside it; PROVWATCH_VECTORS_DIR overrides for other layouts.
 */
export const VECTORS_DIR = resolveVectorsDir();

function resolveVectorsDir(): string {
  const candidates = [process.env.PROVWATCH_VECTORS_DIR, resolve(__dirname, '../../../shared/vectors'), resolve(__dirname, '../../../../shared/vectors')];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'README.md'))) return dir;
  throw new Error(`shared/vectors not found (looked in ${candidates.filter(Boolean).join(', ')}); set PROVWATCH_VECTORS_DIR`);
}

export function vector(...parts: string[]): string {
  return join(VECTORS_DIR, ...parts);
}

export const PUBLIC_GOOD_TRUSTED_ROOT = vector('sigstore-public-good-trusted_root.json');
