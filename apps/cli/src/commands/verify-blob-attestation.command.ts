import { parseBundle, verifyBlobAttestation } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import { KEEP_BYTES_UP_TO, digestAlgorithmsFor } from './artifact-input';
import type { CommandRun } from './command';
import { VERIFY_BLOB_ATTESTATION_FLAGS } from './flag-tables';
import { keyOrIdentity } from './identity-flags';
import { predicateTypeFlag } from './predicate-types';
import { parseFlags } from './parse-flags';
import { statementChecks } from './statement-checks';

/** A CUE policy is a few KiB; 1 MiB keeps a wrong file from being read whole. */
const MAX_POLICY_BYTES = 1024 * 1024;

/** `cosign verify-blob-attestation --bundle B --type T [--policy P.cue] FILE`. */
export const runVerifyBlobAttestation: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_BLOB_ATTESTATION_FLAGS);
  if (positionals.length !== 1) throw new UsageError('exactly one FILE is required');
  if (!values.bundle) throw new UsageError('--bundle is required (the attestation as a Sigstore bundle)');
  const predicateType = predicateTypeFlag(values.type);
  const { identity, publicKey } = await keyOrIdentity(values, context.warn);
  const policySource = values.policy ? (await readEvidenceFile(values.policy, MAX_POLICY_BYTES)).toString('utf8') : undefined;
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const bundle = parseBundle(await readEvidenceFile(values.bundle));
  const artifact = await hashArtifactFile(positionals[0], digestAlgorithmsFor(bundle), { keepBytesUpTo: KEEP_BYTES_UP_TO });
  const check = statementChecks({ predicateType, policySource });
  return verifyBlobAttestation(bundle, { trustRoot, artifact, identity, publicKey, predicateType }, async (statement) => (await check(statement)).details);
};
