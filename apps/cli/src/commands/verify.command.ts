import { verifyImageSignatures } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { IDENTITY_FLAGS, identityPolicyFromFlags } from './identity-flags';
import { IMAGE_FLAGS, imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';

const FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  ...IMAGE_FLAGS,
  'signatures-repository': { type: 'string', multiple: true },
} as const;

/** `cosign verify IMAGE`: keyless image signatures, tag scheme and bundle referrers. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify cosign signatures of a container image (cosign verify flags)',
  usage:
    'provwatch verify IMAGE (--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) [--signatures-repository REPO] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
  flags: FLAGS,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
    const image = imageArgument(positionals[0]);
    const signatureRepositories = repositories('signatures-repository', values['signatures-repository'], context.env);
    const identity = identityPolicyFromFlags(values, context.warn);
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const collected = await imageEvidenceCollector(values).collect({
      image,
      signatureRepositories,
    });
    return verifyImageSignatures(collected.signatures, collected.digest, { trustRoot, identity });
  },
};
