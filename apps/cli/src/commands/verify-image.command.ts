import { verifyImageProvenance } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { CommandRun } from './command';
import { VERIFY_IMAGE_FLAGS } from './flag-tables';
import { imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { parseFlags } from './parse-flags';
import { slsaExpectationsFromFlags } from './slsa-flags';
import { statementChecks } from './statement-checks';

/** `slsa-verifier verify-image IMAGE@DIGEST`, same flags, plus cosign-style repositories. */
export const runVerifyImage: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_IMAGE_FLAGS);
  if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
  const image = imageArgument(positionals[0]);
  const attestationRepositories = repositories('provenance-repository', values['provenance-repository'], context.env);
  const expectations = slsaExpectationsFromFlags(values);
  const policySource = values.policy ? (await readEvidenceFile(values.policy, 1024 * 1024)).toString('utf8') : undefined;
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const collected = await imageEvidenceCollector(values, context.env, context.warn).collect({
    image,
    attestationRepositories,
  });
  return verifyImageProvenance(collected.attestations, collected.digest, {
    trustRoot,
    expectations,
    extraCheck: async (statement) => {
      // Runs once the statement's signature, signer and SLSA rules verified: what is printed is proven.
      const extra = policySource === undefined ? undefined : await statementChecks({ predicateType: '', policySource })(statement);
      if (values['print-provenance']) context.print?.(JSON.stringify(statement));
      return extra;
    },
  });
};
