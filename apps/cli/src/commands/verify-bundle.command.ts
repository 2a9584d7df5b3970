import { createPublicKey } from 'node:crypto';
import { artifactFromSha256, parseSha256Digest, verifyBlobBundle, VerificationError, messageDigestAlgorithm, parseBundle } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { identityPolicyFromFlags } from './identity-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';

/** Ed25519 message signatures need the bytes; keep files up to this size in memory for them. */
const KEEP_BYTES_UP_TO = 256 * 1024 * 1024;

/** The sigstore-conformance client protocol: `verify-bundle --bundle B (identity | --key K) FILE_OR_DIGEST`. */
export const verifyBundleCommand: Command = {
  name: 'verify-bundle',
  summary: 'verify a Sigstore bundle over a file or a sha256 digest (sigstore-conformance protocol)',
  usage:
    'provwatch verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE] [--staging] [--json] FILE_OR_DIGEST',
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, {
      ...COMMON_FLAGS,
      bundle: { type: 'string' },
      key: { type: 'string' },
      staging: { type: 'boolean' },
      'certificate-identity': { type: 'string' },
      'certificate-identity-regexp': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
      'certificate-oidc-issuer-regexp': { type: 'string' },
    });
    if (!values.bundle) throw new UsageError('--bundle is required');
    if (positionals.length !== 1) throw new UsageError('exactly one FILE_OR_DIGEST is required');
    if (values.staging && !values['trusted-root']) throw new UsageError('--staging needs --trusted-root: the staging root is not fetched');
    const identityGiven = ['certificate-identity', 'certificate-identity-regexp'].some((f) => (values as Record<string, unknown>)[f] !== undefined);
    if (values.key && identityGiven) throw new UsageError('--key and --certificate-identity are mutually exclusive');

    const identity = values.key ? undefined : identityPolicyFromFlags(values, context.warn);
    const publicKey = values.key ? readPublicKey(await readEvidenceFile(values.key)) : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const bundle = parseBundle(await readEvidenceFile(values.bundle));

    // The protocol: `sha256:<hex>` that is not a file on disk is a digest, anything else a path.
    const target = positionals[0];
    const digest = parseSha256Digest(target);
    const artifact =
      digest && !(await isFile(target))
        ? artifactFromSha256(digest)
        : await hashArtifactFile(target, [messageDigestAlgorithm(bundle) ?? 'sha256'], { keepBytesUpTo: KEEP_BYTES_UP_TO });
    return verifyBlobBundle(bundle, { trustRoot, artifact, identity, publicKey });
  },
};

function readPublicKey(pem: Buffer) {
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new VerificationError('input-unreadable', `the public key is not a PEM public key: ${(err as Error).message}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((s) => s.isFile(), () => false);
}
