import { verifyImageProvenance } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { IMAGE_FLAGS, imageEvidenceCollector, repositories } from './image-flags';
import { COMMON_FLAGS, atMostOne, parseFlags } from './parse-flags';
import { statementChecks } from './statement-checks';

/** `slsa-verifier verify-image IMAGE@DIGEST`, same flags, plus cosign-style repositories. */
export const verifyImageCommand: Command = {
  name: 'verify-image',
  summary: 'verify SLSA provenance of a container image (slsa-verifier flags)',
  usage:
    'provwatch verify-image IMAGE@DIGEST|IMAGE:TAG --source-uri github.com/OWNER/REPO [--source-tag TAG | --source-branch BRANCH | --source-versioned-tag TAG] [--builder-id ID] [--provenance-repository REPO] [--policy FILE.cue] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, {
      ...COMMON_FLAGS,
      ...IMAGE_FLAGS,
      'source-uri': { type: 'string' },
      'source-tag': { type: 'string' },
      'source-branch': { type: 'string' },
      'source-versioned-tag': { type: 'string' },
      'builder-id': { type: 'string' },
      'provenance-repository': { type: 'string', multiple: true },
      policy: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('exactly one IMAGE is required');
    if (!values['source-uri']) throw new UsageError('--source-uri is required');
    if (!/^github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(values['source-uri'])) {
      throw new UsageError(`--source-uri must look like github.com/OWNER/REPO, got ${JSON.stringify(values['source-uri'])}`);
    }
    atMostOne(values, ['source-tag', 'source-branch', 'source-versioned-tag']);
    const policySource = values.policy ? (await readEvidenceFile(values.policy, 1024 * 1024)).toString('utf8') : undefined;
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const collected = await imageEvidenceCollector(values).collect({
      image: positionals[0],
      attestationRepositories: repositories(values['provenance-repository'], context.env.COSIGN_REPOSITORY),
    });
    return verifyImageProvenance(collected.attestations, collected.digest, {
      trustRoot,
      expectations: {
        sourceUri: values['source-uri'],
        sourceTag: values['source-tag'],
        sourceBranch: values['source-branch'],
        sourceVersionedTag: values['source-versioned-tag'],
        builderId: values['builder-id'],
      },
      extraCheck: policySource === undefined ? undefined : statementChecks({ predicateType: '', policySource }),
    });
  },
};
