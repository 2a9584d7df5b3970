import { SigstoreTrustRoot, VerificationError } from '@provwatch/verification';
import { loadTrustRootDocument } from '@provwatch/sources';
import { readEvidenceFile } from './local-files';

/** A trusted_root.json is a few KiB; 1 MiB is generous and keeps a wrong file from being read whole. */
const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

/** Loads --trusted-root FILE, or the public-good root through TUF with the embedded seed offline. */
export async function loadTrustRoot(file: string | undefined, warn: (message: string) => void): Promise<SigstoreTrustRoot> {
  if (file !== undefined) {
    // Read here, through the same regular-file, size and deadline checks as every other input.
    let json: Buffer;
    try {
      json = await readEvidenceFile(file, MAX_TRUSTED_ROOT_BYTES);
    } catch (err) {
      throw new VerificationError('trust-root-invalid', `cannot load the trusted root: ${(err as Error).message}`);
    }
    try {
      return SigstoreTrustRoot.fromJSON(json);
    } catch (err) {
      if (err instanceof VerificationError) throw err;
      throw new VerificationError('trust-root-invalid', `cannot load the trusted root ${file}: ${(err as Error).message}`);
    }
  }
  let document;
  try {
    document = await loadTrustRootDocument({ tufMirrorUrl: process.env.PROVWATCH_TUF_MIRROR_URL });
  } catch (err) {
    throw new VerificationError('trust-root-unavailable', `cannot load the trusted root: ${(err as Error).message}`);
  }
  if (document.warning) warn(document.warning);
  return SigstoreTrustRoot.fromJSON(document.json);
}
