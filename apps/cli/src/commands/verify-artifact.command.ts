import { basename } from 'node:path';
import { legacyProvenanceOfflineVerdict, parseProvenanceDocument, verifyArtifactProvenance } from '@provwatch/verification';
import { RekorClient } from '@provwatch/sources';
import { UsageError } from '../cli.error';
import { hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { CommandRun } from './command';
import { VERIFY_ARTIFACT_FLAGS } from './flag-tables';
import { parseFlags } from './parse-flags';
import { githubAttestationPolicyFromFlags, slsaExpectationsFromFlags } from './slsa-flags';

/** `slsa-verifier verify-artifact`, same flags. */
export const runVerifyArtifact: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_ARTIFACT_FLAGS);
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
    onVerifiedStatement: values['print-provenance'] ? (statement) => context.print?.(JSON.stringify(statement)) : undefined,
  });
};
