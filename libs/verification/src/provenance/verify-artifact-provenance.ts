import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { decodeCosignCertificate } from '../blob/legacy-blob-signature';
import { type Statement, assertSubjectDigest, parseStatement } from '../intoto';
import { type RekorLogEntry, type TlogSearchResult, searchCutOff, tlogEntryFromRekor } from '../rekor';
import { type IdentityPolicy, type SigstoreTrustRoot, type VerifiedBundle, exactly, formatSha256, verifyBundle } from '../sigstore';
import {
  ARTIFACT_TRUSTED_BUILDERS,
  BUILD_TYPES,
  type GitHubAttestationPolicy,
  type SlsaExpectations,
  type SlsaProvenanceFacts,
  verifyGitHubAttestation,
  verifySlsaProvenance,
} from '../slsa';
import { type Evidence, type Verdict, VerificationError, passVerdict, verdictFromError } from '../verdict';
import type { LegacyDsseEnvelope, ProvenanceDocument } from './provenance-document';
import { assertLegacyEnvelopeOffline } from './legacy-offline';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * Provenance is signed by the builder's reusable workflow. This only admits slsa-github-generator
 * workflows as signers; which workflow, and that it is a release tag and not a branch, is decided
 * afterwards by the SLSA rules (builder-untrusted), once the subjects have been matched, so a
 * provenance of another artifact is reported as such.
 */
export const SLSA_GITHUB_GENERATOR_SIGNER: IdentityPolicy = {
  issuer: exactly(GITHUB_ACTIONS_ISSUER),
  subject: {
    regexp: /^https:\/\/github\.com\/slsa-framework\/slsa-github-generator\/\.github\/workflows\/[A-Za-z0-9_.-]+\.ya?ml@refs\/(tags|heads)\/[A-Za-z0-9_.\/-]+$/,
  },
};

/**
 * Any GitHub Actions workflow: the pre-filter when the user names the signer (--builder-id, or a
 * GitHub attestation policy). Who exactly may sign is decided by the rules after it.
 */
export const GITHUB_WORKFLOW_SIGNER: IdentityPolicy = {
  issuer: exactly(GITHUB_ACTIONS_ISSUER),
  subject: { regexp: /^https:\/\/github\.com\/[^@\s]+@refs\/[^\s]+$/ },
};

export interface ArtifactProvenanceInput {
  trustRoot: SigstoreTrustRoot;
  document: ProvenanceDocument;
  /** Every artifact must be a subject of the provenance. */
  artifacts: Array<{ name: string; sha256: Buffer }>;
  expectations: SlsaExpectations;
  /** Log entries found online for a legacy envelope (searched by the caller by artifact digest). */
  tlogSearch?: TlogSearchResult;
  signer?: IdentityPolicy;
  /**
   * Verify as `gh attestation verify` does (GitHub artifact attestations) instead of by the
   * slsa-github-generator rules. Without it, a GitHub attestation is still verified this way when
   * the user named its signer with --builder-id (repository from --source-uri).
   */
  attestation?: GitHubAttestationPolicy;
  /** Told the statement once everything about it verified (slsa-verifier's --print-provenance). */
  onVerifiedStatement?: (statement: Statement) => void;
}

/** `slsa-verifier verify-artifact`: signature chain, builder, source and subjects, one verdict. */
export function verifyArtifactProvenance(input: ArtifactProvenanceInput): Verdict {
  const evidence: Evidence = {
    artifactDigests: Object.fromEntries(input.artifacts.map((a) => [a.name, formatSha256(a.sha256)])),
  };
  try {
    if (input.artifacts.length === 0) throw new VerificationError('input-unreadable', 'no artifact to verify');
    const verified = verifyProvenanceSignature(input);
    const dsse = verified.dsse;
    if (!dsse) throw new VerificationError('provenance-invalid', 'the provenance bundle signs a message, not an in-toto statement');
    const statement = parseStatement(dsse.payload, dsse.payloadType);
    for (const artifact of input.artifacts) assertSubjectDigest(statement, { sha256: artifact.sha256.toString('hex') }, artifact.name);
    const slsa = checkProvenanceRules(statement, verified.signer, input);
    input.onVerifiedStatement?.(statement);
    return passVerdict(`verified SLSA provenance: ${input.artifacts.map((a) => a.name).join(', ')} built by ${slsa.builderId} from ${slsa.sourceUri}${slsa.sourceRef ? `@${slsa.sourceRef}` : ''}`, {
      ...evidence,
      signer: verified.signer,
      tlog: verified.tlog,
      ...(verified.warnings.length ? { warnings: verified.warnings } : {}),
      timestamps: verified.timestamps,
      predicateType: statement.predicateType,
      subjects: statement.subject.map((s) => ({ name: s.name, digest: { ...s.digest } })),
      builderId: slsa.builderId,
      sourceUri: slsa.sourceUri,
      sourceRef: slsa.sourceRef,
      sourceDigest: slsa.sourceDigest,
      buildType: slsa.buildType,
    });
  } catch (err) {
    return verdictFromError(err, evidence);
  }
}

function checkProvenanceRules(statement: Parameters<typeof verifySlsaProvenance>[0], signer: Parameters<typeof verifySlsaProvenance>[1], input: ArtifactProvenanceInput): SlsaProvenanceFacts {
  if (input.attestation) return verifyGitHubAttestation(statement, signer, input.attestation);
  const e = input.expectations;
  if (e.builderId !== undefined && buildTypeOf(statement) === BUILD_TYPES.githubActionsWorkflow) {
    // GitHub's attestations name the runner as builder.id, not the workflow that signed: the
    // user's --builder-id is that signing workflow, and --source-uri the repository (gh's --repo).
    const repo = /^(?:https:\/\/)?github\.com\/([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(e.sourceUri)?.[1];
    if (!repo) throw new VerificationError('source-mismatch', `expected source ${JSON.stringify(e.sourceUri)} is not github.com/OWNER/REPO`);
    return verifyGitHubAttestation(statement, signer, {
      repo,
      signerWorkflow: e.builderId,
      sourceTag: e.sourceTag,
      sourceBranch: e.sourceBranch,
      sourceVersionedTag: e.sourceVersionedTag,
    });
  }
  // Release artifacts come from the artifact builders, not the container generator (slsa-verifier's split).
  return verifySlsaProvenance(statement, signer, { trustedBuilders: ARTIFACT_TRUSTED_BUILDERS, ...e });
}

function buildTypeOf(statement: { predicate: unknown }): unknown {
  const p = statement.predicate as { buildDefinition?: { buildType?: unknown } } | null;
  return p && typeof p === 'object' && Object.hasOwn(p, 'buildDefinition') && p.buildDefinition && Object.hasOwn(p.buildDefinition, 'buildType') ? p.buildDefinition.buildType : undefined;
}

function verifyProvenanceSignature(input: ArtifactProvenanceInput): VerifiedBundle {
  const named = input.attestation !== undefined || input.expectations.builderId !== undefined;
  const identity = input.signer ?? (named ? GITHUB_WORKFLOW_SIGNER : SLSA_GITHUB_GENERATOR_SIGNER);
  if (input.document.kind === 'bundle') return verifyBundle(input.document.bundle, { trustRoot: input.trustRoot, identity });

  // Legacy envelopes carry no log entry: what needs no log is checked first (a broken envelope
  // is its own fault, not "no entry"), then each entry found online against each envelope.
  assertSomeEnvelopeOffline(input);
  const entries = input.tlogSearch?.entries ?? [];
  if (entries.length === 0) {
    throw new VerificationError('tlog-entry-missing', 'the provenance has no transparency log entry and none was found for the artifact');
  }
  let firstError: unknown;
  for (const envelope of input.document.envelopes) {
    for (const entry of entries) {
      try {
        return verifyBundle(bundleFromLegacyEnvelope(envelope, entry), { trustRoot: input.trustRoot, identity });
      } catch (err) {
        firstError ??= err;
      }
    }
  }
  throw input.tlogSearch?.truncated ? searchCutOff(entries.length) : firstError;
}

function assertSomeEnvelopeOffline(input: Pick<ArtifactProvenanceInput, 'document' | 'trustRoot' | 'signer'>): void {
  if (input.document.kind !== 'legacy-envelopes') return;
  let firstError: unknown;
  for (const envelope of input.document.envelopes) {
    try {
      return assertLegacyEnvelopeOffline(envelope, input.trustRoot, input.signer ?? SLSA_GITHUB_GENERATOR_SIGNER);
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError ?? new VerificationError('envelope-invalid', 'the provenance holds no envelope');
}

/**
 * For callers that search Rekor for legacy envelopes: the failing verdict when the envelopes are
 * already wrong offline (then do not ask the log), undefined when the search is worth making.
 */
export function legacyProvenanceOfflineVerdict(input: Omit<ArtifactProvenanceInput, 'tlogSearch'>): Verdict | undefined {
  if (input.document.kind !== 'legacy-envelopes') return undefined;
  try {
    assertSomeEnvelopeOffline(input);
    return undefined;
  } catch (err) {
    return verdictFromError(err, { artifactDigests: Object.fromEntries(input.artifacts.map((a) => [a.name, formatSha256(a.sha256)])) });
  }
}

/** A bare envelope plus its Rekor entry, re-expressed as a v0.1 bundle for the one verifier. */
export function bundleFromLegacyEnvelope(envelope: LegacyDsseEnvelope, entry: RekorLogEntry): Record<string, unknown> {
  if (envelope.signatures.length !== 1) throw new VerificationError('envelope-invalid', `expected one envelope signature, found ${envelope.signatures.length}`);
  const signature = envelope.signatures[0];
  if (!signature.cert) throw new VerificationError('certificate-invalid', 'the envelope signature carries no certificate');
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: decodeCosignCertificate(signature.cert).toString('base64') }] },
      tlogEntries: [tlogEntryFromRekor(entry)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: [{ sig: signature.sig, keyid: signature.keyid ?? '' }],
    },
  };
}
