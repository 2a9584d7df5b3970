import type { Statement } from '../intoto';
import { type SignerEvidence, VerificationError } from '../verdict';
import { type BuilderIdentity, defaultTrustedBuilderPaths, isTrustedBuilder, parseBuilderId } from './trusted-builders';
import { versionedTagMatches } from './versioned-tag';

export const SLSA_PROVENANCE_V02_TYPE = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1_TYPE = 'https://slsa.dev/provenance/v1';

/** What the user expects, with slsa-verifier's flags. */
export interface SlsaExpectations {
  /** `github.com/OWNER/REPO` (--source-uri). */
  sourceUri: string;
  sourceTag?: string;
  sourceBranch?: string;
  sourceVersionedTag?: string;
  /** --builder-id: a workflow path, or path@ref for an exact version. */
  builderId?: string;
  /** Workflow paths (without ref) accepted as builders; defaults to slsa-github-generator's. */
  trustedBuilders?: string[];
}

export interface SlsaProvenanceFacts {
  predicateType: string;
  builderId: string;
  buildType?: string;
  /** `https://github.com/OWNER/REPO` */
  sourceUri: string;
  /** `refs/tags/...` or `refs/heads/...` */
  sourceRef: string;
  /** Commit the build ran on. */
  sourceDigest?: string;
}

/**
 * The SLSA rules of slsa-verifier for slsa-github-generator provenance. Every fact is read twice,
 * from the Fulcio certificate (what GitHub's OIDC token said about the run) and from the signed
 * provenance (what the builder wrote), and both must agree with each other and with what the
 * user expects. Mismatches have their own codes and say what was expected and what was found.
 */
export function verifySlsaProvenance(statement: Statement, signer: SignerEvidence, expectations: SlsaExpectations): SlsaProvenanceFacts {
  const provenance = readProvenance(statement);
  const certificate = readCertificate(signer);

  // Builder: the signing workflow is a trusted generator at a release tag, and it is the builder
  // the provenance names.
  const trusted = expectations.trustedBuilders ?? defaultTrustedBuilderPaths();
  if (!isTrustedBuilder(certificate.builder, trusted)) {
    throw new VerificationError('builder-untrusted', `the provenance was signed by ${certificate.builder.path}@${certificate.builder.ref}, which is not a trusted builder at a release tag`);
  }
  const certBuilderId = `${certificate.builder.path}@${certificate.builder.ref}`;
  if (provenance.builderId !== certBuilderId) {
    throw new VerificationError('builder-untrusted', `the provenance names builder ${provenance.builderId}, but it was signed by ${certBuilderId}`);
  }
  if (expectations.builderId !== undefined) {
    const wanted = expectations.builderId;
    const ok = wanted.includes('@') ? wanted === certBuilderId : wanted === certificate.builder.path;
    if (!ok) throw new VerificationError('builder-untrusted', `builder ${certBuilderId} is not the expected ${wanted}`);
  }

  // Source repository.
  const expectedRepo = expectedRepositoryUrl(expectations.sourceUri);
  if (certificate.repository !== expectedRepo) {
    throw new VerificationError('source-mismatch', `built from ${certificate.repository ?? '(unknown)'} according to the certificate, expected ${expectedRepo}`);
  }
  if (provenance.repository !== expectedRepo) {
    throw new VerificationError('source-mismatch', `the provenance names source ${provenance.repository}, expected ${expectedRepo}`);
  }

  // Ref and commit: the certificate and the provenance must tell the same story.
  if (certificate.ref !== undefined && certificate.ref !== provenance.ref) {
    throw new VerificationError('source-mismatch', `the certificate says ref ${certificate.ref}, the provenance ${provenance.ref}`);
  }
  if (certificate.digest !== undefined && provenance.digest !== undefined && certificate.digest !== provenance.digest) {
    throw new VerificationError('source-mismatch', `the certificate says commit ${certificate.digest}, the provenance ${provenance.digest}`);
  }
  checkRef(provenance.ref, expectations);

  return {
    predicateType: statement.predicateType,
    builderId: provenance.builderId,
    buildType: provenance.buildType,
    sourceUri: provenance.repository,
    sourceRef: provenance.ref,
    sourceDigest: provenance.digest ?? certificate.digest,
  };
}

function checkRef(ref: string, expectations: SlsaExpectations): void {
  const tag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  if (expectations.sourceTag !== undefined && tag !== expectations.sourceTag) {
    throw new VerificationError('source-tag-mismatch', `built from ${ref}, expected tag ${expectations.sourceTag}`);
  }
  if (expectations.sourceBranch !== undefined && branch !== expectations.sourceBranch) {
    throw new VerificationError('source-branch-mismatch', `built from ${ref}, expected branch ${expectations.sourceBranch}`);
  }
  if (expectations.sourceVersionedTag !== undefined && (tag === undefined || !versionedTagMatches(expectations.sourceVersionedTag, tag))) {
    throw new VerificationError('source-versioned-tag-mismatch', `built from ${ref}, expected a tag of version ${expectations.sourceVersionedTag}`);
  }
}

function expectedRepositoryUrl(sourceUri: string): string {
  const m = /^(?:https:\/\/)?(github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(sourceUri);
  if (!m) throw new VerificationError('source-mismatch', `source URI ${JSON.stringify(sourceUri)} is not github.com/OWNER/REPO`);
  return `https://${m[1]}`;
}

interface ProvenanceFields {
  builderId: string;
  buildType?: string;
  repository: string;
  ref: string;
  digest?: string;
}

/** `git+https://github.com/OWNER/REPO@refs/...` as slsa-github-generator writes source URIs. */
function splitGitUri(uri: unknown, where: string): { repository: string; ref: string } {
  const m = typeof uri === 'string' ? /^git\+(https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?@(refs\/(?:tags|heads)\/.+)$/.exec(uri) : null;
  if (!m) throw new VerificationError('provenance-invalid', `${where} ${JSON.stringify(uri)} is not git+https://github.com/OWNER/REPO@refs/...`);
  return { repository: m[1], ref: m[2] };
}

function readProvenance(statement: Statement): ProvenanceFields {
  const p = statement.predicate as any;
  if (typeof p !== 'object' || p === null) throw new VerificationError('provenance-invalid', 'the provenance has no predicate');
  if (statement.predicateType === SLSA_PROVENANCE_V02_TYPE) {
    if (typeof p.builder?.id !== 'string') throw new VerificationError('provenance-invalid', 'predicate.builder.id is missing');
    const source = splitGitUri(p.invocation?.configSource?.uri, 'predicate.invocation.configSource.uri');
    const digest = p.invocation?.configSource?.digest?.sha1;
    // materials[0] is the source too; if present it must not tell another story.
    const material = Array.isArray(p.materials) ? p.materials[0] : undefined;
    if (material?.uri !== undefined) {
      const m = splitGitUri(material.uri, 'predicate.materials[0].uri');
      if (m.repository !== source.repository || m.ref !== source.ref || (material.digest?.sha1 !== undefined && material.digest.sha1 !== digest)) {
        throw new VerificationError('provenance-invalid', 'predicate.materials[0] disagrees with invocation.configSource');
      }
    }
    return { builderId: p.builder.id, buildType: p.buildType, ...source, digest: typeof digest === 'string' ? digest : undefined };
  }
  if (statement.predicateType === SLSA_PROVENANCE_V1_TYPE) {
    const builderId = p.runDetails?.builder?.id;
    if (typeof builderId !== 'string') throw new VerificationError('provenance-invalid', 'predicate.runDetails.builder.id is missing');
    const workflow = p.buildDefinition?.externalParameters?.workflow;
    const dep = Array.isArray(p.buildDefinition?.resolvedDependencies) ? p.buildDefinition.resolvedDependencies[0] : undefined;
    let repository: string | undefined;
    let ref: string | undefined;
    if (typeof workflow?.repository === 'string' && typeof workflow?.ref === 'string') {
      repository = workflow.repository.replace(/\.git$/, '');
      ref = workflow.ref;
    } else if (dep?.uri !== undefined) {
      ({ repository, ref } = splitGitUri(dep.uri, 'predicate.buildDefinition.resolvedDependencies[0].uri'));
    }
    if (repository === undefined || ref === undefined) throw new VerificationError('provenance-invalid', 'the v1 provenance names no source repository and ref');
    const digest = dep?.digest?.gitCommit ?? dep?.digest?.sha1;
    return { builderId, buildType: p.buildDefinition?.buildType, repository, ref, digest: typeof digest === 'string' ? digest : undefined };
  }
  throw new VerificationError('predicate-type-mismatch', `predicate type ${statement.predicateType} is not SLSA provenance v0.2 or v1`);
}

interface CertificateFacts {
  builder: BuilderIdentity;
  repository?: string;
  ref?: string;
  digest?: string;
}

function readCertificate(signer: SignerEvidence): CertificateFacts {
  const builder = signer.identity ? parseBuilderId(signer.identity) : undefined;
  if (!builder) throw new VerificationError('builder-untrusted', `the signer ${JSON.stringify(signer.identity ?? null)} is not a GitHub Actions workflow`);
  const ext = signer.extensions ?? {};
  const repository = ext.sourceRepositoryURI ?? (ext.githubWorkflowRepository ? `https://github.com/${ext.githubWorkflowRepository}` : undefined);
  return {
    builder,
    repository,
    ref: ext.sourceRepositoryRef ?? ext.githubWorkflowRef,
    digest: ext.sourceRepositoryDigest ?? ext.githubWorkflowSHA,
  };
}
