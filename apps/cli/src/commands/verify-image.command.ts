import { verifyImageProvenance } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { IMAGE_FLAGS, imageArgument, imageEvidenceCollector, repositories } from './image-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';
import { SLSA_FLAGS, slsaExpectationsFromFlags } from './slsa-flags';
import { statementChecks } from './statement-checks';

const FLAGS = {
  ...COMMON_FLAGS,
  ...IMAGE_FLAGS,
  ...SLSA_FLAGS,
  'provenance-repository': { type: 'string', multiple: true },
  policy: { type: 'string' },
} as const;

/** `slsa-verifier verify-image IMAGE@DIGEST`, same flags, plus cosign-style repositories. */
export const verifyImageCommand: Command = {
  name: 'verify-image',
  summary: 'verify SLSA provenance of a container image (slsa-verifier flags)',
  usage:
    'provwatch verify-image IMAGE@DIGEST|IMAGE:TAG --source-uri github.com/OWNER/REPO [--source-tag TAG | --source-branch BRANCH | --source-versioned-tag TAG] [--builder-id ID] [--provenance-repository REPO] [--policy FILE.cue] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
  flags: FLAGS,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
    const image = imageArgument(positionals[0]);
    const attestationRepositories = repositories('provenance-repository', values['provenance-repository'], context.env);
    const expectations = slsaExpectationsFromFlags(values);
    const policySource = values.policy ? (await readEvidenceFile(values.policy, 1024 * 1024)).toString('utf8') : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const collected = await imageEvidenceCollector(values).collect({
      image,
      attestationRepositories,
    });
    return verifyImageProvenance(collected.attestations, collected.digest, {
      trustRoot,
      expectations,
      extraCheck: policySource === undefined ? undefined : statementChecks({ predicateType: '', policySource }),
    });
  },
};
