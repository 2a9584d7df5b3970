import type { Statement } from '../intoto';
import { isRecord, ownPath, ownString } from '../intoto/json-fields';
import { type SignerEvidence, VerificationError } from '../verdict';
import { BUILD_TYPES } from './build-types';
import { GITHUB_ACTIONS_OIDC_ISSUER, SLSA_PROVENANCE_V1_TYPE, type SlsaProvenanceFacts } from './slsa-provenance';
import { builderIdMatches, parseWorkflowId } from './trusted-builders';
import { isSemVerTag, versionedTagMatches } from './versioned-tag';

/**
 * `gh attestation verify`'s policy for GitHub artifact attestations (actions/attest-build-provenance).
 * The signer is a GitHub Actions workflow, usually the repository's own; the certificate's
 * extensions say which repository and owner the run belonged to. One of `repo` or `owner` is required.
 */
export interface GitHubAttestationPolicy {
  /** --repo OWNER/REPO: the source repository (and, unless a signer is named, the signer's repository). */
  repo?: string;
  /** --owner OWNER: the source repository's owner. */
  owner?: string;
  /**
   * --signer-workflow `[HOST/]OWNER/REPO/.github/workflows/FILE.yml`, optionally `@REF` or `@vX.Y.Z`
   * (a `https://` prefix is accepted, so a slsa-verifier --builder-id works too).
   */
  signerWorkflow?: string;
  /** --cert-identity: the exact SAN. */
  certIdentity?: string;
  /** --deny-self-hosted-runners */
  denySelfHostedRunners?: boolean;
  /** slsa-verifier's ref flags, checked against the certificate's source ref. */
  sourceTag?: string;
  sourceBranch?: string;
  sourceVersionedTag?: string;
}

const OWNER = /^[A-Za-z0-9_.-]+$/;
const HOST = /^[a-zA-Z0-9-]+\.[a-zA-Z0-9-]+/;

/**
 * Verifies a GitHub artifact attestation whose signature the caller has verified, the way
 * `gh attestation verify` does (cli/cli pkg/cmd/attestation/verify): issuer GitHub Actions;
 * the SAN matched by --signer-workflow, --cert-identity, or by default as a workflow of --repo
 * (or of --owner); the certificate's source repository owner (and repository, with --repo) equal
 * to the ones asked for. The provenance's builder.id (GitHub's runner) says nothing about who signed
 * and is not used. Kept apart from the slsa-github-generator rules on purpose: here the trusted
 * party is whoever the policy names, there it is a fixed, released builder.
 *
 * Stricter than gh: the workflow identity must be a URI SAN; --signer-workflow must match the
 * workflow path exactly up to its `@` (gh uses it as an unanchored, unescaped regexp prefix, so
 * `release.yml` also matches `release.yml2` and `release-yml`); the issuer is compared exactly;
 * the predicate must be SLSA provenance v1 with GitHub's buildType; the provenance's workflow ref and
 * commit, when present, must be the certificate's.
 */
export function verifyGitHubAttestation(statement: Statement, signer: SignerEvidence, policy: GitHubAttestationPolicy): SlsaProvenanceFacts {
  const { owner, repo } = ownerAndRepo(policy);
  if (policy.signerWorkflow !== undefined && policy.certIdentity !== undefined) {
    throw new TypeError('--signer-workflow and --cert-identity are mutually exclusive');
  }
  if (statement.predicateType !== SLSA_PROVENANCE_V1_TYPE) {
    throw new VerificationError('predicate-type-mismatch', `predicate type is ${statement.predicateType}, expected ${SLSA_PROVENANCE_V1_TYPE} (a GitHub build provenance attestation)`);
  }
  const ext = signer.extensions ?? {};
  if (signer.issuer !== GITHUB_ACTIONS_OIDC_ISSUER) {
    throw new VerificationError('issuer-mismatch', `the certificate was issued for ${JSON.stringify(signer.issuer ?? null)}, expected GitHub Actions (${GITHUB_ACTIONS_OIDC_ISSUER})`);
  }
  if (signer.identityKind !== 'uri' || !signer.identity) {
    throw new VerificationError('identity-mismatch', `the certificate identity ${JSON.stringify(signer.identity ?? null)} is not a URI SAN; a workflow identity always is`);
  }
  const san = signer.identity;
  const workflow = parseWorkflowId(san);
  if (!workflow) throw new VerificationError('identity-mismatch', `the certificate identity ${san} is not a GitHub workflow at a ref`);

  // Who signed.
  if (policy.certIdentity !== undefined) {
    if (san !== policy.certIdentity) throw new VerificationError('identity-mismatch', `the certificate identity is ${san}, expected exactly ${policy.certIdentity}`);
  } else if (policy.signerWorkflow !== undefined) {
    const expected = signerWorkflowId(policy.signerWorkflow);
    if (!builderIdMatches(expected, workflow)) throw new VerificationError('builder-untrusted', `signed by ${san}, expected signer workflow ${expected}`);
  } else {
    const prefix = `https://github.com/${repo ?? owner}/`.toLowerCase();
    if (!san.toLowerCase().startsWith(prefix)) {
      throw new VerificationError('builder-untrusted', `signed by ${san}, which is not a workflow of ${repo ?? owner} (name a reusable workflow with --signer-workflow or --cert-identity)`);
    }
  }

  // Whose run it was: the certificate's own claims (GitHub compares case-insensitively, names are).
  const ownerUri = ext.sourceRepositoryOwnerURI;
  if (ownerUri === undefined || ownerUri.toLowerCase() !== `https://github.com/${owner}`.toLowerCase()) {
    throw new VerificationError('source-mismatch', `the certificate's source repository owner is ${JSON.stringify(ownerUri ?? null)}, expected https://github.com/${owner}`);
  }
  const repositoryUri = ext.sourceRepositoryURI;
  if (repo !== undefined && (repositoryUri === undefined || repositoryUri.toLowerCase() !== `https://github.com/${repo}`.toLowerCase())) {
    throw new VerificationError('source-mismatch', `the certificate's source repository is ${JSON.stringify(repositoryUri ?? null)}, expected https://github.com/${repo}`);
  }
  if (policy.denySelfHostedRunners && ext.runnerEnvironment !== 'github-hosted') {
    throw new VerificationError('builder-untrusted', `the attestation was made on a ${JSON.stringify(ext.runnerEnvironment ?? 'unknown')} runner, and self-hosted runners are denied`);
  }

  // What was built: the certificate's ref and commit, which the provenance must not contradict.
  const ref = agreeing('source ref', ext.sourceRepositoryRef, ext.githubWorkflowRef);
  const digest = agreeing('source commit', ext.sourceRepositoryDigest, ext.githubWorkflowSHA)?.toLowerCase();
  if (ref === undefined || digest === undefined || repositoryUri === undefined) {
    throw new VerificationError('source-mismatch', 'the certificate names no source repository, ref or commit');
  }
  const p = statement.predicate;
  if (!isRecord(p)) throw new VerificationError('provenance-invalid', 'the statement has no predicate object');
  const buildType = ownString(p, 'buildDefinition', 'buildType');
  if (buildType !== BUILD_TYPES.githubActionsWorkflow) {
    throw new VerificationError('provenance-invalid', `buildType ${JSON.stringify(buildType ?? null)} is not GitHub's ${BUILD_TYPES.githubActionsWorkflow}`);
  }
  const provRef = ownPath(p, 'buildDefinition', 'externalParameters', 'workflow', 'ref');
  if (provRef !== undefined && provRef !== ref) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran on ${ref}, the provenance says ${JSON.stringify(provRef)}`);
  }
  const provRepo = ownPath(p, 'buildDefinition', 'externalParameters', 'workflow', 'repository');
  if (provRepo !== undefined && provRepo !== repositoryUri) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran in ${repositoryUri}, the provenance says ${JSON.stringify(provRepo)}`);
  }
  const deps = ownPath(p, 'buildDefinition', 'resolvedDependencies');
  const commit = Array.isArray(deps) ? ownPath(deps[0], 'digest', 'gitCommit') : undefined;
  if (commit !== undefined && (typeof commit !== 'string' || commit.toLowerCase() !== digest)) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran on commit ${digest}, the provenance says ${JSON.stringify(commit)}`);
  }
  checkRef(ref, policy);
  return { predicateType: statement.predicateType, builderId: san, buildType, sourceUri: repositoryUri, sourceRef: ref, sourceDigest: digest };
}

function ownerAndRepo(policy: GitHubAttestationPolicy): { owner: string; repo?: string } {
  if (policy.repo !== undefined) {
    const parts = policy.repo.split('/');
    if (parts.length !== 2 || !OWNER.test(parts[0]) || !OWNER.test(parts[1])) throw new TypeError(`repository ${JSON.stringify(policy.repo)} is not OWNER/REPO`);
    if (policy.owner !== undefined && policy.owner.toLowerCase() !== parts[0].toLowerCase()) {
      throw new TypeError(`owner ${policy.owner} is not the owner of repository ${policy.repo}`);
    }
    return { owner: parts[0], repo: policy.repo };
  }
  if (policy.owner === undefined || !OWNER.test(policy.owner)) throw new TypeError('a GitHub attestation is verified for a repository (OWNER/REPO) or an owner');
  return { owner: policy.owner };
}

/** `[HOST/]OWNER/REPO/PATH[@REF]` or `https://...` as the `https://HOST/...` workflow name (github.com by default). */
function signerWorkflowId(value: string): string {
  const bare = value.startsWith('https://') ? value.slice('https://'.length) : value;
  return HOST.test(bare) ? `https://${bare}` : `https://github.com/${bare}`;
}

function agreeing(what: string, current: string | undefined, legacy: string | undefined): string | undefined {
  if (current !== undefined && legacy !== undefined && current !== legacy) {
    throw new VerificationError('source-mismatch', `the certificate's ${what} says ${current} in one extension and ${legacy} in its legacy one`);
  }
  return current ?? legacy;
}

function checkRef(ref: string, policy: GitHubAttestationPolicy): void {
  const tag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  if (policy.sourceTag !== undefined && tag !== policy.sourceTag) {
    throw new VerificationError('source-tag-mismatch', `expected tag ${policy.sourceTag} (refs/tags/${policy.sourceTag}), built from ${ref}`);
  }
  // GitHub's attestations carry no event payload: a tag build names no branch.
  if (policy.sourceBranch !== undefined && branch !== policy.sourceBranch) {
    throw new VerificationError('source-branch-mismatch', `expected branch ${policy.sourceBranch} (refs/heads/${policy.sourceBranch}), built from ${ref}`);
  }
  const versioned = policy.sourceVersionedTag;
  if (versioned !== undefined && (!isSemVerTag(versioned) || tag === undefined || !versionedTagMatches(versioned, tag))) {
    throw new VerificationError('source-versioned-tag-mismatch', `expected a tag of version ${versioned}, built from ${ref}`);
  }
}
