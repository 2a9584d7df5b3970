import { basename } from 'node:path';
import { legacyProvenanceOfflineVerdict, parseProvenanceDocument, verifyArtifactProvenance } from '@provwatch/verification';
import { RekorClient } from '@provwatch/sources';
import { UsageError } from '../cli.error';
import { hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { COMMON_FLAGS, parseFlags } from './parse-flags';
import { GITHUB_ATTESTATION_FLAGS, SLSA_FLAGS, githubAttestationPolicyFromFlags, slsaExpectationsFromFlags } from './slsa-flags';

const FLAGS = {
  ...COMMON_FLAGS,
  'provenance-path': { type: 'string' },
  ...SLSA_FLAGS,
  ...GITHUB_ATTESTATION_FLAGS,
  'rekor-url': { type: 'string' },
} as const;

/** `slsa-verifier verify-artifact`, same flags. */
export const verifyArtifactCommand: Command = {
  name: 'verify-artifact',
  summary: 'verify SLSA provenance of release artifacts (slsa-verifier flags)',
  usage:
    'provwatch verify-artifact ARTIFACT... --provenance-path FILE --source-uri github.com/OWNER/REPO [--source-tag TAG | --source-branch BRANCH | --source-versioned-tag TAG] [--builder-id ID] [--repo OWNER/REPO | --owner OWNER] [--signer-workflow [HOST/]OWNER/REPO/PATH | --cert-identity SAN] [--deny-self-hosted-runners] [--trusted-root FILE] [--rekor-url URL] [--json]',
  flags: FLAGS,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length === 0) throw new UsageError('at least one ARTIFACT is required');
    if (!values['provenance-path']) throw new UsageError('--provenance-path is required');
    // gh's flags select `gh attestation verify`'s rules (GitHub artifact attestations);
    // otherwise slsa-verifier's (slsa-github-generator provenance).
    const attestation = githubAttestationPolicyFromFlags(values);
    const expectations = attestation
      ? { sourceUri: values['source-uri'] ?? `github.com/${attestation.repo ?? `${attestation.owner}/-`}` }
      : slsaExpectationsFromFlags(values);

    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    const document = parseProvenanceDocument(await readEvidenceFile(values['provenance-path']));
    const artifacts = [];
    for (const path of positionals) {
      const hashed = await hashArtifactFile(path);
      artifacts.push({ name: basename(path), sha256: hashed.digests.sha256 });
    }
    // Generator <= v2.0.0 envelopes carry no log entry: check them offline, then search the log.
    const offline = legacyProvenanceOfflineVerdict({ trustRoot, document, artifacts, expectations });
    if (offline) return offline;
    const tlogSearch =
      document.kind === 'legacy-envelopes'
        ? await new RekorClient({ baseUrl: values['rekor-url'] ?? context.env.REKOR_URL }).findByArtifactDigest(artifacts[0].sha256.toString('hex'))
        : undefined;
    return verifyArtifactProvenance({
      trustRoot,
      document,
      artifacts,
      tlogSearch,
      expectations,
      attestation,
    });
  },
};
