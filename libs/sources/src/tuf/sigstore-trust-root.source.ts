import { readRegularFile } from '../files/regular-file';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Sigstore public-good TUF repository, as @sigstore/tuf knows it. */
export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const MAX_TRUSTED_ROOT_FILE_BYTES = 1024 * 1024;

export type TrustRootOrigin = 'file' | 'tuf' | 'embedded-seed';

export interface TrustRootDocument {
  /** The trusted_root.json bytes, not yet validated (libs/verification does that). */
  json: Buffer;
  origin: TrustRootOrigin;
  /** Set when the document is not fresh from TUF: say so to the operator. */
  warning?: string;
}

export interface TrustRootSourceOptions {
  /** A trusted_root.json on disk (--trusted-root / PROVWATCH_TRUSTED_ROOT): used as is, no TUF. */
  trustedRootFile?: string;
  tufMirrorUrl?: string;
  tufCachePath?: string;
  timeoutMs?: number;
}

/**
 * Loads the trust root: a file when one is named, else TUF, else the copy embedded in
 * @sigstore/tuf's seeds (signed TUF metadata shipped with the package). The fallback keeps an
 * offline machine working, with a warning: that copy ages with the package version.
 */
export async function loadTrustRootDocument(options: TrustRootSourceOptions = {}): Promise<TrustRootDocument> {
  if (options.trustedRootFile) {
    const file = options.trustedRootFile;
    // A FIFO or device named as the trusted root must not hang the caller (readRegularFile).
    return { json: await readRegularFile(file, MAX_TRUSTED_ROOT_FILE_BYTES), origin: 'file' };
  }
  const mirrorURL = options.tufMirrorUrl ?? PUBLIC_GOOD_TUF_MIRROR;
  try {
    const { initTUF } = await import('@sigstore/tuf');
    const tuf = await initTUF({
      mirrorURL,
      cachePath: options.tufCachePath ?? join(homedir(), '.cache', 'provwatch', 'tuf'),
      retry: false,
      timeout: options.timeoutMs ?? 5000,
    });
    const content = await tuf.getTarget('trusted_root.json');
    return { json: Buffer.from(content), origin: 'tuf' };
  } catch (err) {
    const seed = embeddedSeedTrustedRoot(mirrorURL);
    if (!seed) throw err;
    return {
      json: seed,
      origin: 'embedded-seed',
      warning: `TUF update from ${mirrorURL} failed (${(err as Error).message}); using the trusted root embedded in @sigstore/tuf`,
    };
  }
}

function embeddedSeedTrustedRoot(mirrorURL: string): Buffer | undefined {
  // seeds.json maps a mirror URL to its root.json and base64-encoded targets.
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> }>;
  const encoded = seeds[mirrorURL]?.targets?.['trusted_root.json'];
  return encoded ? Buffer.from(encoded, 'base64') : undefined;
}
