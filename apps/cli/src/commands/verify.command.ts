import { verifyImageSignatures } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { CommandRun } from './command';
import { VERIFY_FLAGS } from './flag-tables';
import { keyOrIdentity } from './identity-flags';
import { imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { parseFlags } from './parse-flags';

/** `cosign verify IMAGE`: keyless image signatures, tag scheme and bundle referrers. */
export const runVerify: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_FLAGS);
  if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
  const image = imageArgument(positionals[0]);
  const signatureRepositories = repositories('signatures-repository', values['signatures-repository'], context.env);
  const { identity, publicKey } = await keyOrIdentity(values, context.warn);
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const collected = await imageEvidenceCollector(values, context.env, context.warn).collect({
    image,
    signatureRepositories,
  });
  return verifyImageSignatures(collected.signatures, collected.digest, { trustRoot, identity, publicKey });
};
