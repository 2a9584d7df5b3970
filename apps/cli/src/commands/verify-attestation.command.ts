import { type StatementCheck, verifyImageAttestations } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { IDENTITY_FLAGS, identityPolicyFromFlags } from './identity-flags';
import { IMAGE_FLAGS, PREDICATE_TYPES, imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';
import { statementChecks } from './statement-checks';

const FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  ...IMAGE_FLAGS,
  type: { type: 'string' },
  policy: { type: 'string' },
  'attestations-repository': { type: 'string', multiple: true },
} as const;

/** `cosign verify-attestation IMAGE --type T [--policy P.cue]`. */
export const verifyAttestationCommand: Command = {
  name: 'verify-attestation',
  summary: 'verify cosign attestations of a container image, optionally against a CUE policy',
  usage:
    'provwatch verify-attestation IMAGE --type slsaprovenance|slsaprovenance1|cyclonedx|URI [--policy FILE.cue] (--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) [--attestations-repository REPO] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
  flags: FLAGS,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
    const image = imageArgument(positionals[0]);
    const attestationRepositories = repositories('attestations-repository', values['attestations-repository'], context.env);
    if (!values.type) throw new UsageError('--type is required');
    const predicateType = PREDICATE_TYPES[values.type] ?? (/^https?:\/\//.test(values.type) ? values.type : undefined);
    if (!predicateType) throw new UsageError(`unknown --type ${JSON.stringify(values.type)}: use ${Object.keys(PREDICATE_TYPES).join(', ')} or a predicate type URI`);
    const identity = identityPolicyFromFlags(values, context.warn);
    const policySource = values.policy ? (await readEvidenceFile(values.policy, 1024 * 1024)).toString('utf8') : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const collected = await imageEvidenceCollector(values).collect({
      image,
      attestationRepositories,
    });
    const check: StatementCheck = statementChecks({ predicateType, policySource });
    return verifyImageAttestations(collected.attestations, collected.digest, predicateType, { trustRoot, identity }, check);
  },
};
