import type { ReasonCode } from './reason-code';
import { EvidenceMissingError, VerificationError } from './verification.error';

/**
 * `not-applicable`: evidence the target never declared and the project never published. It is
 * stored and shown, never paged on, and neither a pass nor a failure of the release.
 */
export type CheckStatus = 'pass' | 'fail' | 'missing' | 'error' | 'not-applicable';

/** Who signed, as the certificate (or key) says; every field is verified before it lands here. */
export interface SignerEvidence {
  /** Subject alternative name of the leaf certificate (URI or e-mail), absent for a bare public key. */
  identity?: string;
  /**
   * Which SAN the identity is: Fulcio writes workload (workflow) identities as a URI SAN and
   * people as an e-mail SAN. A workflow URI written into an e-mail SAN is not a workflow identity.
   */
  identityKind?: 'uri' | 'email';
  /** OIDC issuer from the Fulcio issuer extension (v2 preferred, v1 fallback). */
  issuer?: string;
  /** Fulcio certificate extensions by name (githubWorkflowRef, sourceRepositoryDigest, buildSignerURI, ...). */
  extensions?: Record<string, string>;
  /** Key hint when a managed key was used instead of a certificate. */
  keyHint?: string;
  certificateSerial?: string;
  certificateNotBefore?: string;
  certificateNotAfter?: string;
}

export interface TlogEvidence {
  logIndex: string;
  logId: string;
  integratedTime?: string;
  kind: string;
  version: string;
}

export interface SubjectEvidence {
  name: string;
  digest: Record<string, string>;
}

export interface Evidence {
  signer?: SignerEvidence;
  tlog?: TlogEvidence[];
  /** RFC 3161 timestamps that were verified (signing times, ISO 8601). */
  timestamps?: string[];
  predicateType?: string;
  subjects?: SubjectEvidence[];
  /** Digests of the artifacts that were checked, `sha256:<hex>`, keyed by artifact name. */
  artifactDigests?: Record<string, string>;
  builderId?: string;
  sourceUri?: string;
  sourceRef?: string;
  sourceDigest?: string;
  buildType?: string;
  /**
   * Oddities that were accepted but deserve a look, each `name: explanation` (e.g.
   * `chainIncludesTrustRoot: ...`). Present only on verdicts that passed despite them.
   */
  warnings?: string[];
  /** Free-form structured detail of the check (policy output, SBOM summary, checksum entries). */
  details?: Record<string, unknown>;
}

export interface Verdict {
  status: CheckStatus;
  code: ReasonCode;
  message: string;
  evidence: Evidence;
}

export function passVerdict(message: string, evidence: Evidence): Verdict {
  return { status: 'pass', code: 'verified', message, evidence };
}

export function missingVerdict(message: string, evidence: Evidence = {}): Verdict {
  return { status: 'missing', code: 'evidence-missing', message, evidence };
}

export function notApplicableVerdict(code: 'evidence-not-promised' | 'check-off', message: string, evidence: Evidence = {}): Verdict {
  return { status: 'not-applicable', code, message, evidence };
}

/**
 * Turns anything thrown during verification into a verdict. Unknown exceptions become
 * `error/internal-error`, never `pass` and never `fail`: a crash says nothing about the evidence.
 */
export function verdictFromError(err: unknown, evidence: Evidence = {}): Verdict {
  if (err instanceof EvidenceMissingError) return missingVerdict(err.message, evidence);
  if (err instanceof VerificationError) {
    return { status: err.isUndecided ? 'error' : 'fail', code: err.code, message: err.message, evidence };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 'error', code: 'internal-error', message: `unexpected error: ${message}`, evidence };
}
