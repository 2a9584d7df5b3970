import { type StatementCheck, verifyImageAttestations } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { CommandRun } from './command';
import { VERIFY_ATTESTATION_FLAGS } from './flag-tables';
import { keyOrIdentity } from './identity-flags';
import { imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { parseFlags } from './parse-flags';
import { predicateTypeFlag } from './predicate-types';
import { statementChecks } from './statement-checks';

/** `cosign verify-attestation IMAGE --type T [--policy P.cue]`. */
export const runVerifyAttestation: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_ATTESTATION_FLAGS);
  if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
  const image = imageArgument(positionals[0]);
  const attestationRepositories = repositories('attestations-repository', values['attestations-repository'], context.env);
  if (!values.type) throw new UsageError('--type is required');
  const predicateType = predicateTypeFlag(values.type);
  const { identity, publicKey } = await keyOrIdentity(values, context.warn);
  const policySource = values.policy ? (await readEvidenceFile(values.policy, 1024 * 1024)).toString('utf8') : undefined;
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const collected = await imageEvidenceCollector(values, context.env, context.warn).collect({
    image,
    attestationRepositories,
  });
  const check: StatementCheck = statementChecks({ predicateType, policySource });
  return verifyImageAttestations(collected.attestations, collected.digest, predicateType, { trustRoot, identity, publicKey }, check);
};
