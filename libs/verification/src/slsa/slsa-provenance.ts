import type { Statement } from '../intoto';
import { isRecord, own, ownPath, ownString } from '../intoto/json-fields';
import { type SignerEvidence, VerificationError } from '../verdict';
import {
  DEFAULT_TRUSTED_BUILDERS,
  DELEGATED_BUILDERS,
  DELEGATOR_WORKFLOWS,
  JRELEASER_REPOSITORY,
  type TrustedBuilder,
  type WorkflowId,
  builderIdMatches,
  parseWorkflowId,
  trustedBuilderNames,
} from './trusted-builders';
import { isJReleaserBuilderRef, isReleaseBuilderRef, isSemVerTag, versionedTagMatches } from './versioned-tag';
import { BUILD_TYPES, allowedBuildTypes } from './build-types';

export const SLSA_PROVENANCE_V02_TYPE = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1_TYPE = 'https://slsa.dev/provenance/v1';
export const GITHUB_ACTIONS_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';

/** What the user expects, with slsa-verifier's flags. At most one of tag, branch, versioned tag. */
export interface SlsaExpectations {
  /** `github.com/OWNER/REPO` (--source-uri); `https://` or `git+https://` in front and `.git` after are tolerated. */
  sourceUri: string;
  /** --source-tag: the build ran on `refs/tags/<tag>`. */
  sourceTag?: string;
  /** --source-branch: the build ran on `refs/heads/<branch>`. */
  sourceBranch?: string;
  /** --source-versioned-tag: a semver prefix such as `v1` or `v1.2` (see versionedTagMatches). */
  sourceVersionedTag?: string;
  /**
   * --builder-id: a workflow `https://github.com/O/R/.github/workflows/F.yml`, optionally `@refs/tags/vX.Y.Z`
   * or `@vX.Y.Z`. When given it is the one builder trusted (as in slsa-verifier, it replaces the
   * default list); it is how GitHub attestations (actions/attest-build-provenance) are verified.
   */
  builderId?: string;
  /** Builders trusted when no builderId is given; defaults to slsa-github-generator's (DEFAULT_TRUSTED_BUILDERS). */
  trustedBuilders?: readonly TrustedBuilder[];
}

/** Verified facts, for the verdict's evidence. */
export interface SlsaProvenanceFacts {
  predicateType: string;
  /** The builder that built: the signing workflow, or for a delegator the builder behind it. With its ref. */
  builderId: string;
  buildType: string;
  /** `https://github.com/OWNER/REPO` */
  sourceUri: string;
  /** `refs/tags/...` or `refs/heads/...`: the ref the build was triggered on. */
  sourceRef: string;
  /** The commit that was built. */
  sourceDigest: string;
}

/**
 * slsa-verifier's rules for provenance from slsa-github-generator (and GitHub's attestations),
 * applied to a statement whose signature the caller has verified and to the certificate that
 * signed it. The certificate says what GitHub's OIDC token said about the run; the provenance
 * says what the builder wrote. Both are checked against the expectations and against each other,
 * and every mismatch has its own code and says what was expected and what was found.
 */
export function verifySlsaProvenance(statement: Statement, signer: SignerEvidence, expectations: SlsaExpectations): SlsaProvenanceFacts {
  const expectedRepo = expectedRepository(expectations.sourceUri);
  const trusted = trustedBuilderNames(expectations.trustedBuilders ?? DEFAULT_TRUSTED_BUILDERS);
  if (statement.predicateType !== SLSA_PROVENANCE_V02_TYPE && statement.predicateType !== SLSA_PROVENANCE_V1_TYPE) {
    throw new VerificationError('predicate-type-mismatch', `predicate type is ${statement.predicateType}, expected ${SLSA_PROVENANCE_V02_TYPE} or ${SLSA_PROVENANCE_V1_TYPE}`);
  }

  // 1. Who signed: the certificate, before anything the signer wrote is read.
  const cert = readCertificate(signer);
  const delegated = DELEGATOR_WORKFLOWS.includes(cert.workflow.name) && trusted.has(cert.workflow.name);
  if (delegated) {
    // The delegator that signed is held to the same release-tag rule as a direct signer: a
    // delegator run from a branch or a prerelease tag is not the released delegator code.
    assertReleaseRef(cert.workflow, 'signed by');
  } else {
    assertTrustedBuilder(cert.workflow, expectations.builderId, trusted);
  }
  if (cert.repository !== expectedRepo) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran in ${cert.repository}, expected ${expectedRepo}`);
  }

  // 2. What the builder wrote, and whether that builder writes this shape.
  const prov = readProvenance(statement);
  const signingId = `${cert.workflow.name}@${cert.workflow.ref}`;
  let builder: WorkflowId;
  if (delegated) {
    // A delegator signs for the builder that called it; that builder is what must be trusted.
    const byob = parseWorkflowId(prov.builderId);
    if (!byob) throw new VerificationError('builder-untrusted', `the provenance names builder ${JSON.stringify(prov.builderId)}, which is not a GitHub workflow at a ref`);
    assertDelegatedBuilder(byob, expectations.builderId, signingId);
    builder = byob;
  } else {
    if (prov.builderId !== signingId) {
      throw new VerificationError('builder-untrusted', `the provenance names builder ${prov.builderId}, but it was signed by ${signingId}`);
    }
    builder = cert.workflow;
  }
  const allowed = allowedBuildTypes(cert.workflow.name, statement.predicateType);
  if (!allowed.includes(prov.buildType)) {
    throw new VerificationError(
      'provenance-invalid',
      `${cert.workflow.name} does not write buildType ${JSON.stringify(prov.buildType)} in ${statement.predicateType} provenance (expected ${allowed.join(' or ') || 'nothing: it writes the other provenance version'})`,
    );
  }

  // 3. Source repository, ref and commit: provenance against the expectation and the certificate.
  if (prov.trigger.repository !== expectedRepo) {
    throw new VerificationError('source-mismatch', `the provenance says the build was triggered in ${prov.trigger.repository}, expected ${expectedRepo}`);
  }
  if (prov.source.repository !== expectedRepo) {
    throw new VerificationError('source-mismatch', `the provenance says it built ${prov.source.repository}, expected ${expectedRepo}`);
  }
  if (prov.source.ref === undefined && prov.buildType !== BUILD_TYPES.byob) {
    // Only delegated builders may build a commit outside the triggering ref (slsa-verifier's BYOB exception).
    throw new VerificationError('provenance-invalid', `the provenance's source ${prov.source.uri} names no ref`);
  }
  if (prov.source.ref !== undefined && prov.source.uri !== prov.trigger.uri) {
    throw new VerificationError('provenance-invalid', `the provenance's source ${prov.source.uri} and trigger ${prov.trigger.uri} disagree`);
  }
  if (prov.environmentRef !== undefined && prov.environmentRef !== prov.trigger.ref) {
    throw new VerificationError('provenance-invalid', `the provenance's environment says ref ${prov.environmentRef}, its trigger ${prov.trigger.ref}`);
  }
  if (cert.ref !== prov.trigger.ref) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran on ${cert.ref}, the provenance says ${prov.trigger.ref}`);
  }
  if (prov.triggerDigest !== undefined && prov.triggerDigest !== cert.digest) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran on commit ${cert.digest}, the provenance says ${prov.triggerDigest}`);
  }
  if (prov.source.ref !== undefined && prov.sourceDigest !== cert.digest) {
    throw new VerificationError('source-mismatch', `the certificate says the build ran on commit ${cert.digest}, the provenance says it built ${prov.sourceDigest}`);
  }

  // 4. The ref the user asked for, on the ref that was built.
  checkExpectedRef(prov.source.ref, prov.sourceDigest, expectations, prov);

  return {
    predicateType: statement.predicateType,
    builderId: `${builder.name}@${builder.ref}`,
    buildType: prov.buildType,
    sourceUri: expectedRepo,
    sourceRef: prov.trigger.ref,
    sourceDigest: prov.sourceDigest,
  };
}

/**
 * A signing builder is trusted when the user named it (--builder-id, which then is the only one
 * trusted, slsa-verifier's MatchesLoose) or, without a name, when it is in the trusted list for
 * the artifact kind; either way only at a release tag vX.Y.Z.
 *
 * slsa-verifier's exception to the release-tag rule, `refs/heads/main` and prerelease tags for its
 * own end-to-end tests when SLSA_VERIFIER_TESTING is set, is not supported: this library reads no
 * environment, and production must never trust a branch.
 */
function assertTrustedBuilder(workflow: WorkflowId, expectedId: string | undefined, trusted: ReadonlySet<string>): void {
  const id = `${workflow.name}@${workflow.ref}`;
  // Threat: nodejs, maven, gradle and JReleaser only ever build behind a delegator; a certificate
  // naming one as its own signer is not the framework's output, whatever --builder-id says.
  if (DELEGATED_BUILDERS.includes(workflow.name) || workflow.name.startsWith(`${JRELEASER_REPOSITORY}/`)) {
    throw new VerificationError('builder-untrusted', `signed by ${id}, a builder that only builds through a delegator (BYOB) and never signs itself`);
  }
  if (expectedId !== undefined) {
    if (!builderIdMatches(expectedId, workflow)) throw new VerificationError('builder-untrusted', `signed by ${id}, expected builder ${expectedId}`);
  } else if (!trusted.has(workflow.name)) {
    throw new VerificationError('builder-untrusted', `signed by ${id}, which is not a trusted builder for this kind of artifact (trusted: ${[...trusted].map(shortName).join(', ')})`);
  }
  assertReleaseRef(workflow, 'signed by');
}

/**
 * The builder a delegator names (builder.id): without --builder-id one of slsa-github-generator's
 * BYOB builders, with it the one the user named (loose match); always at a release tag, except
 * JReleaser's `vX.Y.Z-java` tags (slsa-verifier's one exception, for that repository only).
 */
function assertDelegatedBuilder(workflow: WorkflowId, expectedId: string | undefined, delegator: string): void {
  const id = `${workflow.name}@${workflow.ref}`;
  const role = `delegated by ${delegator} to`;
  if (expectedId !== undefined) {
    if (!builderIdMatches(expectedId, workflow)) throw new VerificationError('builder-untrusted', `${role} ${id}, expected builder ${expectedId}`);
  } else if (!DELEGATED_BUILDERS.includes(workflow.name)) {
    throw new VerificationError('builder-untrusted', `${role} ${id}, which is not a trusted builder (trusted behind a delegator: ${DELEGATED_BUILDERS.map(shortName).join(', ')})`);
  }
  const jreleaser = workflow.name.startsWith(`${JRELEASER_REPOSITORY}/`);
  if (jreleaser && isJReleaserBuilderRef(workflow.ref)) return;
  assertReleaseRef(workflow, role);
}

function assertReleaseRef(workflow: WorkflowId, role: string): void {
  if (!isReleaseBuilderRef(workflow.ref)) {
    throw new VerificationError('builder-untrusted', `${role} ${workflow.name}@${workflow.ref}: a builder is trusted only at a release tag refs/tags/vX.Y.Z, not at ${workflow.ref}`);
  }
}

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function checkExpectedRef(ref: string | undefined, digest: string, expectations: SlsaExpectations, prov: ProvenanceFacts): void {
  const built = ref ?? `commit ${digest} outside any ref (a delegated builder may build one)`;
  const tag = ref?.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
  const branch = ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  if (expectations.sourceTag !== undefined && tag !== expectations.sourceTag) {
    throw new VerificationError('source-tag-mismatch', `expected tag ${expectations.sourceTag} (refs/tags/${expectations.sourceTag}), built from ${built}`);
  }
  if (expectations.sourceBranch !== undefined && branch !== expectations.sourceBranch) {
    // A tag push names the branch it was pushed from in the event payload's base_ref (slsa-verifier
    // accepts that for --source-branch, its test "valid main branch set"). That payload is in the
    // provenance the trusted builder wrote, so it is as trusted as the ref itself.
    const pushedFrom = tag !== undefined ? tagPushBranch(prov, ref!) : undefined;
    if (pushedFrom === undefined || pushedFrom.branch !== expectations.sourceBranch) {
      const why = pushedFrom === undefined ? '' : `, pushed from branch ${pushedFrom.branch}`;
      const reason = tag !== undefined && pushedFrom === undefined ? ' (the tag push event names no branch base_ref)' : '';
      throw new VerificationError('source-branch-mismatch', `expected branch ${expectations.sourceBranch} (refs/heads/${expectations.sourceBranch}), built from ${built}${why}${reason}`);
    }
  }
  const versioned = expectations.sourceVersionedTag;
  if (versioned !== undefined) {
    if (!isSemVerTag(versioned)) {
      throw new VerificationError('source-versioned-tag-mismatch', `expected versioned tag ${JSON.stringify(versioned)} is not a semantic version vMAJOR[.MINOR[.PATCH]]`);
    }
    if (tag === undefined || !versionedTagMatches(versioned, tag)) {
      throw new VerificationError(
        'source-versioned-tag-mismatch',
        `expected a tag of version ${versioned}, built from ${built}${tag !== undefined && !isSemVerTag(tag) ? ' (not a semantic version)' : ''}`,
      );
    }
  }
}

/**
 * The branch of a tag push, from the GitHub context the builder recorded: the ref type is `tag`,
 * the event is `push`, the context's own base_ref is empty (it is only set for pull requests), and
 * the event payload's `base_ref` is `refs/heads/<branch>`; a payload `ref`, when present, must be
 * the built tag. Anything else (absent, null, not a branch ref) names no branch.
 *
 * Stricter than slsa-verifier: a `release` event's `release.target_commitish` is not read (it is
 * what the release form said, possibly a commit, not where the tag was pushed from), and a
 * non-empty github_base_ref is refused instead of taken as the branch.
 */
function tagPushBranch(prov: ProvenanceFacts, tagRef: string): { branch: string } | undefined {
  const env = prov.environment;
  if (!isRecord(env)) return undefined;
  const key = (k: string) => (prov.upperEnv ? k.toUpperCase() : k);
  if (ownString(env, key('github_ref_type')) !== 'tag' || ownString(env, key('github_event_name')) !== 'push') return undefined;
  if (Object.hasOwn(env, key('github_base_ref')) && own(env, key('github_base_ref')) !== '') return undefined;
  const payload = own(env, key('github_event_payload'));
  if (!isRecord(payload)) return undefined;
  if (Object.hasOwn(payload, 'ref') && own(payload, 'ref') !== tagRef) return undefined;
  const baseRef = ownString(payload, 'base_ref');
  const m = baseRef === undefined ? null : /^refs\/heads\/([^\s]+)$/.exec(baseRef);
  return m ? { branch: m[1] } : undefined;
}

/** `github.com/OWNER/REPO` in the forms slsa-verifier's users write it, as `https://github.com/OWNER/REPO`. */
function expectedRepository(sourceUri: string): string {
  const m = /^(?:git\+)?(?:https:\/\/)?github\.com\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(sourceUri);
  if (!m) throw new VerificationError('source-mismatch', `expected source ${JSON.stringify(sourceUri)} is not github.com/OWNER/REPO`);
  return `https://github.com/${m[1]}`;
}

// ---------------------------------------------------------------------------------------------
// The certificate

interface CertificateFacts {
  workflow: WorkflowId;
  repository: string;
  ref: string;
  digest: string;
}

/**
 * Fulcio writes most GitHub claims twice: v1 extensions (raw strings, deprecated) and v2
 * (DER strings). slsa-verifier refuses a certificate where the two disagree; so do we.
 */
function readCertificate(signer: SignerEvidence): CertificateFacts {
  const ext = signer.extensions ?? {};
  const get = (key: string): string | undefined => (Object.hasOwn(ext, key) && ext[key] !== '' ? ext[key] : undefined);
  const issuer = signer.issuer ?? get('issuer');
  if (issuer !== GITHUB_ACTIONS_OIDC_ISSUER) {
    throw new VerificationError('issuer-mismatch', `the certificate was issued for ${JSON.stringify(issuer ?? null)}, expected GitHub Actions (${GITHUB_ACTIONS_OIDC_ISSUER})`);
  }
  // Fulcio writes workflow identities into the URI SAN; an e-mail SAN whose text is a workflow
  // URI is a person's (or a forged) identity dressed as a builder.
  if (signer.identityKind !== 'uri') {
    throw new VerificationError('builder-untrusted', `the certificate identity ${JSON.stringify(signer.identity ?? null)} is ${signer.identityKind === 'email' ? 'an e-mail SAN' : 'not from a URI SAN'}; a builder's workflow identity is only ever a URI SAN`);
  }
  const workflow = signer.identity ? parseWorkflowId(signer.identity) : undefined;
  if (!workflow) {
    throw new VerificationError('builder-untrusted', `the certificate identity ${JSON.stringify(signer.identity ?? null)} is not a GitHub workflow at a ref`);
  }
  const buildSigner = get('buildSignerURI');
  if (buildSigner !== undefined && buildSigner !== signer.identity) {
    throw new VerificationError('builder-untrusted', `the certificate's build signer ${buildSigner} is not its identity ${signer.identity}`);
  }

  const legacyRepo = get('githubWorkflowRepository');
  const repository = agree('source repository', get('sourceRepositoryURI'), legacyRepo === undefined ? undefined : `https://github.com/${legacyRepo}`);
  const ref = agree('source ref', get('sourceRepositoryRef'), get('githubWorkflowRef'));
  const digest = agree('source commit', get('sourceRepositoryDigest'), get('githubWorkflowSHA'));
  const missing = [repository === undefined && 'repository', ref === undefined && 'ref', digest === undefined && 'commit'].filter(Boolean);
  if (missing.length > 0) throw new VerificationError('source-mismatch', `the certificate names no source ${missing.join(', ')}`);
  return { workflow, repository: repository!, ref: ref!, digest: digest!.toLowerCase() };
}

function agree(what: string, current: string | undefined, legacy: string | undefined): string | undefined {
  if (current !== undefined && legacy !== undefined && current !== legacy) {
    throw new VerificationError('source-mismatch', `the certificate's ${what} says ${current} in one extension and ${legacy} in its legacy one`);
  }
  return current ?? legacy;
}

// ---------------------------------------------------------------------------------------------
// The provenance (attacker-controlled until the builder is known to be trusted: read defensively)

interface GitUri {
  /** As written: `git+https://github.com/OWNER/REPO@refs/...` */
  uri: string;
  /** `https://github.com/OWNER/REPO`, or whatever else the URI named before `@`. */
  repository: string;
  ref?: string;
}

interface ProvenanceFacts {
  builderId: string;
  buildType: string;
  /** What triggered the build: the repository and ref the workflow ran for. */
  trigger: GitUri & { ref: string };
  /** What was built (v0.2 materials[0], v1 resolvedDependencies[0]). */
  source: GitUri;
  sourceDigest: string;
  triggerDigest?: string;
  /** GITHUB_REF as the builder recorded its environment, when it did. */
  environmentRef?: string;
  /** The GitHub context the builder recorded (v0.2 invocation.environment, v1 internalParameters); keys in upper case when `upperEnv`. */
  environment?: unknown;
  upperEnv?: boolean;
}

function readProvenance(statement: Statement): ProvenanceFacts {
  const p = statement.predicate;
  if (!isRecord(p)) throw new VerificationError('provenance-invalid', 'the statement has no predicate object');
  return statement.predicateType === SLSA_PROVENANCE_V02_TYPE ? readV02(p) : readV1(p);
}

/** SLSA v0.2 as the generic, container and Go generators (and v0.2 delegators) write it. */
function readV02(p: Record<string, unknown>): ProvenanceFacts {
  const builderId = requireString(ownString(p, 'builder', 'id'), 'predicate.builder.id');
  const buildType = requireString(ownString(p, 'buildType'), 'predicate.buildType');
  const trigger = withRef(parseGitUri(ownPath(p, 'invocation', 'configSource', 'uri'), 'predicate.invocation.configSource.uri'), 'predicate.invocation.configSource.uri');
  const materials = own(p, 'materials');
  const material = Array.isArray(materials) ? materials[0] : undefined;
  const source = parseGitUri(own(material, 'uri'), 'predicate.materials[0].uri');
  const sourceDigest = requireCommit(ownPath(material, 'digest', 'sha1'), 'predicate.materials[0].digest.sha1');
  const triggerDigest = optionalCommit(ownPath(p, 'invocation', 'configSource', 'digest', 'sha1'), 'predicate.invocation.configSource.digest.sha1');
  const environment = ownPath(p, 'invocation', 'environment');
  // The generators write lowercase keys; delegators write the GITHUB_* names.
  const environmentRef = ownString(environment, 'github_ref') ?? ownString(environment, 'GITHUB_REF');
  return { builderId, buildType, trigger, source, sourceDigest, triggerDigest, environmentRef, environment, upperEnv: buildType === BUILD_TYPES.byob };
}

/**
 * SLSA v1 as slsa-github-generator's delegators and container-based builder write it (the trigger
 * in internalParameters.GITHUB_WORKFLOW_REF) and as GitHub's attestations write it
 * (actions/attest-build-provenance: the trigger in externalParameters.workflow).
 */
function readV1(p: Record<string, unknown>): ProvenanceFacts {
  const builderId = requireString(ownString(p, 'runDetails', 'builder', 'id'), 'predicate.runDetails.builder.id');
  const buildType = requireString(ownString(p, 'buildDefinition', 'buildType'), 'predicate.buildDefinition.buildType');
  const deps = ownPath(p, 'buildDefinition', 'resolvedDependencies');
  const dep = Array.isArray(deps) ? deps[0] : undefined;
  const source = parseGitUri(own(dep, 'uri'), 'predicate.buildDefinition.resolvedDependencies[0].uri');
  const sourceDigest = requireCommit(
    ownPath(dep, 'digest', 'gitCommit') ?? ownPath(dep, 'digest', 'sha1'),
    'predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit',
  );
  const internal = ownPath(p, 'buildDefinition', 'internalParameters');

  let trigger: GitUri & { ref: string };
  if (buildType === BUILD_TYPES.githubActionsWorkflow) {
    const where = 'predicate.buildDefinition.externalParameters.workflow';
    const repository = requireString(ownString(p, 'buildDefinition', 'externalParameters', 'workflow', 'repository'), `${where}.repository`);
    const ref = requireString(ownString(p, 'buildDefinition', 'externalParameters', 'workflow', 'ref'), `${where}.ref`);
    trigger = withRef(parseGitUri(`git+${repository}@${ref}`, where), where);
  } else {
    // `OWNER/REPO/.github/workflows/FILE.yml@REF`: the workflow that called the builder.
    const where = 'predicate.buildDefinition.internalParameters.GITHUB_WORKFLOW_REF';
    const workflowRef = requireString(ownString(internal, 'GITHUB_WORKFLOW_REF'), where);
    const m = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/[^@]+@(refs\/.+)$/.exec(workflowRef);
    if (!m) throw new VerificationError('provenance-invalid', `${where} ${JSON.stringify(workflowRef)} is not OWNER/REPO/PATH@REF`);
    trigger = withRef(parseGitUri(`git+https://github.com/${m[1]}@${m[2]}`, where), where);
  }
  const triggerDigest = optionalCommit(own(internal, 'GITHUB_SHA'), 'predicate.buildDefinition.internalParameters.GITHUB_SHA');
  return {
    builderId,
    buildType,
    trigger,
    source,
    sourceDigest,
    triggerDigest,
    environmentRef: ownString(internal, 'GITHUB_REF'),
    // GitHub's attestations record no event payload: no branch can be read for their tag builds.
    environment: buildType === BUILD_TYPES.githubActionsWorkflow ? undefined : internal,
    upperEnv: true,
  };
}

/** `git+https://github.com/OWNER/REPO@REF` (ref optional), split at the first `@` like slsa-verifier. */
function parseGitUri(value: unknown, where: string): GitUri {
  if (typeof value !== 'string' || !value.startsWith('git+https://')) {
    throw new VerificationError('provenance-invalid', `${where} ${JSON.stringify(value ?? null)} is not a git+https:// URI`);
  }
  const at = value.indexOf('@');
  const repository = (at < 0 ? value : value.slice(0, at)).slice('git+'.length);
  const ref = at < 0 ? undefined : value.slice(at + 1);
  if (ref !== undefined && !/^refs\/[^\s@]+$/.test(ref)) throw new VerificationError('provenance-invalid', `${where} ${JSON.stringify(value)} has no valid ref after @`);
  return { uri: value, repository, ref };
}

function withRef(uri: GitUri, where: string): GitUri & { ref: string } {
  if (uri.ref === undefined) throw new VerificationError('provenance-invalid', `${where} ${uri.uri} names no ref`);
  return uri as GitUri & { ref: string };
}

function requireString(value: string | undefined, where: string): string {
  if (value === undefined || value === '') throw new VerificationError('provenance-invalid', `${where} is missing`);
  return value;
}

function requireCommit(value: unknown, where: string): string {
  const commit = optionalCommit(value, where);
  if (commit === undefined) throw new VerificationError('provenance-invalid', `${where} is missing`);
  return commit;
}

function optionalCommit(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(value)) {
    throw new VerificationError('provenance-invalid', `${where} ${JSON.stringify(value)} is not a git commit`);
  }
  return value.toLowerCase();
}
