import { SigstoreTrustRoot, VerificationError } from '@provwatch/verification';
import { loadTrustRootDocument } from '@provwatch/sources';

/** Loads --trusted-root FILE, or the public-good root through TUF with the embedded seed offline. */
export async function loadTrustRoot(file: string | undefined, warn: (message: string) => void): Promise<SigstoreTrustRoot> {
  let document;
  try {
    document = await loadTrustRootDocument({ trustedRootFile: file, tufMirrorUrl: process.env.PROVWATCH_TUF_MIRROR_URL });
  } catch (err) {
    const code = file ? 'trust-root-invalid' : 'trust-root-unavailable';
    throw new VerificationError(code, `cannot load the trusted root${file ? ` ${file}` : ''}: ${(err as Error).message}`);
  }
  if (document.warning) warn(document.warning);
  return SigstoreTrustRoot.fromJSON(document.json);
}
