import { createPublicKey } from 'node:crypto';
import { artifactFromDigest, parseDigestArgument, verifyBlobBundle, VerificationError, messageDigestAlgorithm, parseBundle } from '@provwatch/verification';
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
  summary: 'verify a Sigstore bundle over a file or a digest, sha256:/sha384:/sha512:<hex> (sigstore-conformance protocol)',
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

    // Threat: `sha256:<hex>` read as a path let a file planted under that name in the working
    // directory stand in for the digest the caller gave. A digest argument is always a digest.
    const target = positionals[0];
    const digest = parseDigestArgument(target);
    if (digest && 'reason' in digest) throw new UsageError(digest.reason);
    const identity = values.key ? undefined : identityPolicyFromFlags(values, context.warn);
    const publicKey = values.key ? readPublicKey(await readEvidenceFile(values.key)) : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const bundle = parseBundle(await readEvidenceFile(values.bundle));

    // A DSSE statement names its subjects' algorithms (npm provenance: sha512 only): hash the file
    // once with each; a message signature needs only its own.
    const algorithms = messageDigestAlgorithm(bundle) ? [messageDigestAlgorithm(bundle)!] : (['sha256', 'sha384', 'sha512'] as const);
    const artifact = digest ? artifactFromDigest(digest.algorithm, digest.hex) : await hashArtifactFile(target, [...algorithms], { keepBytesUpTo: KEEP_BYTES_UP_TO });
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
