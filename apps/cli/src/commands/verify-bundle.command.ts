import { createPublicKey } from 'node:crypto';
import { verifyBlobBundle, VerificationError, parseBundle } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import { artifactFor, parseArtifactArgument } from './artifact-input';
import type { Command } from './command';
import { IDENTITY_FLAGS, identityPolicyFromFlags } from './identity-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';

const FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  bundle: { type: 'string' },
  key: { type: 'string' },
  staging: { type: 'boolean' },
} as const;

/** The sigstore-conformance client protocol: `verify-bundle --bundle B (identity | --key K) FILE_OR_DIGEST`. */
export const verifyBundleCommand: Command = {
  name: 'verify-bundle',
  summary: 'verify a Sigstore bundle over a file or a sha256/sha384/sha512 digest (sigstore-conformance protocol)',
  usage:
    'provwatch verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE] [--staging] [--json] FILE|./FILE|sha256:HEX|sha384:HEX|sha512:HEX',
  flags: FLAGS,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (!values.bundle) throw new UsageError('--bundle is required');
    if (positionals.length !== 1) throw new UsageError('exactly one FILE_OR_DIGEST is required');
    if (values.staging && !values['trusted-root']) throw new UsageError('--staging needs --trusted-root: the staging root is not fetched');
    const identityGiven = ['certificate-identity', 'certificate-identity-regexp'].some((f) => (values as Record<string, unknown>)[f] !== undefined);
    if (values.key && identityGiven) throw new UsageError('--key and --certificate-identity are mutually exclusive');
    const target = parseArtifactArgument(positionals[0]);

    const identity = values.key ? undefined : identityPolicyFromFlags(values, context.warn);
    const publicKey = values.key ? readPublicKey(await readEvidenceFile(values.key)) : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const bundle = parseBundle(await readEvidenceFile(values.bundle));
    const artifact = await artifactFor(target, bundle);
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
