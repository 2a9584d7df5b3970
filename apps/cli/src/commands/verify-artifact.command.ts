import { basename } from 'node:path';
import { type GitHubAttestationPolicy, type Verdict, legacyProvenanceOfflineVerdict, missingVerdict, parseProvenanceDocument, verifyArtifactProvenance } from '@provwatch/verification';
import { GitHubClient, RekorClient } from '@provwatch/sources';
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
  // gh's flags select `gh attestation verify`'s rules (GitHub artifact attestations);
  // otherwise slsa-verifier's (slsa-github-generator provenance).
  const attestation = githubAttestationPolicyFromFlags(values);
  if (!values['provenance-path'] && !attestation?.repo) {
    throw new UsageError('--provenance-path is required (or --repo OWNER/REPO, to fetch GitHub attestations as gh attestation verify does)');
  }
  const expectations = attestation
    ? { sourceUri: values['source-uri'] ?? `github.com/${attestation.repo ?? `${attestation.owner}/-`}` }
    : slsaExpectationsFromFlags(values);

  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const provenanceFile = values['provenance-path'] ? await readEvidenceFile(values['provenance-path']) : undefined;
  const artifacts = [];
  for (const path of positionals) {
    const hashed = await hashArtifactFile(path);
    artifacts.push({ name: basename(path), sha256: hashed.digests.sha256 });
  }
  const print = values['print-provenance'] ? (statement: unknown) => context.print?.(JSON.stringify(statement)) : undefined;
  if (!provenanceFile) return verifyFetchedAttestations({ trustRoot, artifacts, expectations, attestation: attestation!, env: context.env, print });
  const document = parseProvenanceDocument(provenanceFile);
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
    onVerifiedStatement: print,
  });
};

/**
 * `gh attestation verify ARTIFACT --repo OWNER/REPO`: the attestations GitHub stores for each
 * artifact's digest (GITHUB_API_URL, GITHUB_TOKEN; the token goes to the API host only, never to
 * the blob storage a bundle_url points at). Each artifact needs one attestation that verifies
 * completely; what GitHub lists adds no trust, every bundle is verified like a local one.
 */
async function verifyFetchedAttestations(input: {
  trustRoot: Awaited<ReturnType<typeof loadTrustRoot>>;
  artifacts: Array<{ name: string; sha256: Buffer }>;
  expectations: { sourceUri: string };
  attestation: GitHubAttestationPolicy;
  env: NodeJS.ProcessEnv;
  print?: (statement: unknown) => void;
}): Promise<Verdict> {
  const [owner, repo] = input.attestation.repo!.split('/');
  const github = new GitHubClient({
    baseUrl: input.env.GITHUB_API_URL || undefined,
    token: input.env.GITHUB_TOKEN || input.env.GH_TOKEN || undefined,
    insecureHosts: (input.env.PROVWATCH_INSECURE_REGISTRIES ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    userAgent: 'provwatch-cli',
  });
  let verdict: Verdict | undefined;
  for (const artifact of input.artifacts) {
    const bundles = await github.getAttestations(owner, repo, artifact.sha256.toString('hex'));
    if (bundles.length === 0) return missingVerdict(`no attestation for ${artifact.name} (sha256:${artifact.sha256.toString('hex')}) in ${owner}/${repo}`);
    let first: Verdict | undefined;
    let passed: Verdict | undefined;
    for (const bundle of bundles) {
      const statements: unknown[] = [];
      const candidate = verifyArtifactProvenance({
        trustRoot: input.trustRoot,
        document: { kind: 'bundle', bundle },
        artifacts: [artifact],
        expectations: input.expectations,
        attestation: input.attestation,
        onVerifiedStatement: (statement) => statements.push(statement),
      });
      if (candidate.status === 'pass') {
        passed = candidate;
        for (const statement of statements) input.print?.(statement);
        break;
      }
      // Attestations by others for the same digest are normal; the first failure is the reason.
      first ??= candidate;
    }
    if (!passed) return first!;
    verdict = verdict ? { ...passed, message: `${verdict.message}; ${passed.message}` } : passed;
  }
  return verdict!;
}
