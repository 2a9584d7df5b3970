import type { KeyObject } from 'node:crypto';
import { type Statement, findSubjectByDigest, parseStatement } from '../intoto';
import { type IdentityPolicy, type SigstoreTrustRoot, type VerifiedBundle, artifactFromBytes, verifyBundle } from '../sigstore';
import { EvidenceMissingError, VerificationError } from '../verdict';
import { type CosignLayer, SIMPLE_SIGNING_MEDIA_TYPE, bundleFromCosignLayer } from './cosign-layer';
import { assertSimpleSigningNamesDigest } from './simple-signing';

/** The predicate type cosign's --new-bundle-format signatures use for image signatures. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** One piece of signed evidence found for an image: a tag-scheme layer or a bundle referrer. */
export type ImageEvidence =
  | { format: 'cosign-layer'; layer: CosignLayer; location: string }
  | { format: 'sigstore-bundle'; bundle: Buffer; location: string };

export interface ImageVerificationOptions {
  trustRoot: SigstoreTrustRoot;
  /** Who must have signed (keyless). Required unless `publicKey` is given. */
  identity?: IdentityPolicy;
  /** cosign verify --key: the key that must have signed, instead of a keyless identity. */
  publicKey?: KeyObject;
}

export interface VerifiedImageEvidence {
  verified: VerifiedBundle;
  location: string;
  format: ImageEvidence['format'];
  /** For attestations and new-format signatures: the verified statement. */
  statement?: Statement;
}

/**
 * `cosign verify`: an image signature that verifies completely (chain, log, signature,
 * identity) and whose signed payload names this image digest. Old format: simple signing in a
 * `.sig` layer; new format: a bundle whose DSSE statement has the image as subject.
 */
export function verifyImageSignature(evidence: ImageEvidence, imageDigest: string, options: ImageVerificationOptions): VerifiedImageEvidence {
  if (evidence.format === 'cosign-layer') {
    if (evidence.layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      throw new VerificationError('statement-invalid', `signature layer has media type ${evidence.layer.mediaType}, not simple signing`);
    }
    const verified = verifyBundle(bundleFromCosignLayer(evidence.layer, { keyed: options.publicKey !== undefined }), {
      ...options,
      artifact: artifactFromBytes(evidence.layer.blob),
    });
    assertSimpleSigningNamesDigest(evidence.layer.blob, imageDigest);
    return { verified, location: evidence.location, format: evidence.format };
  }
  return verifyImageAttestation(evidence, imageDigest, COSIGN_SIGN_PREDICATE_TYPE, options);
}

/**
 * `cosign verify-attestation --type T`: a DSSE attestation that verifies completely, whose
 * statement has the predicate type asked for and names this image digest as a subject.
 */
export function verifyImageAttestation(
  evidence: ImageEvidence,
  imageDigest: string,
  predicateType: string,
  options: ImageVerificationOptions,
): VerifiedImageEvidence {
  const bundle = evidence.format === 'cosign-layer' ? bundleFromCosignLayer(evidence.layer, { keyed: options.publicKey !== undefined }) : evidence.bundle;
  const loggedEnvelope = evidence.format === 'cosign-layer' ? evidence.layer.blob : undefined;
  const verified = verifyBundle(bundle, { ...options, loggedEnvelope });
  if (!verified.dsse) throw new VerificationError('envelope-invalid', 'the attestation is not a DSSE envelope');
  const statement = parseStatement(verified.dsse.payload, verified.dsse.payloadType);
  if (statement.predicateType !== predicateType) {
    throw new VerificationError('predicate-type-mismatch', `statement predicate type is ${statement.predicateType}, expected ${predicateType}`);
  }
  const hex = imageDigest.replace(/^sha256:/, '');
  if (!findSubjectByDigest(statement, { sha256: hex })) {
    throw new VerificationError('subject-digest-mismatch', `no subject of the attestation is the image ${imageDigest}`);
  }
  return { verified, location: evidence.location, format: evidence.format, statement };
}

/**
 * Tries each candidate and returns every one that verifies; if none does, throws the most
 * telling failure. Signatures by other signers next to ours are normal and not an error.
 */
export function allVerified<T>(candidates: ImageEvidence[], verify: (e: ImageEvidence) => T, what: string): T[] {
  if (candidates.length === 0) throw new EvidenceMissingError(`no ${what} found for the image`);
  const passed: T[] = [];
  const failures: VerificationError[] = [];
  for (const candidate of candidates) {
    try {
      passed.push(verify(candidate));
    } catch (err) {
      failures.push(err instanceof VerificationError ? err : new VerificationError('bundle-invalid', String((err as Error)?.message ?? err)));
    }
  }
  if (passed.length > 0) return passed;
  // Signed statements of other types only (a provenance where an SBOM was asked for): the
  // evidence asked for does not exist, which is `missing`, not a failure of what does.
  if (failures.every((f) => f.code === 'predicate-type-mismatch')) throw new EvidenceMissingError(`no ${what} found for the image`);
  // An identity mismatch is less telling than a broken signature: report cryptographic failures first.
  const rank = (e: VerificationError) => (e.code === 'identity-mismatch' || e.code === 'issuer-mismatch' || e.code === 'predicate-type-mismatch' ? 1 : 0);
  failures.sort((a, b) => rank(a) - rank(b));
  throw failures[0];
}

/**
 * The predicate type a piece of evidence claims, read without verifying it. Used only to pick
 * which candidates to verify for a check (an SBOM check need not verify provenance signed by a
 * builder): whatever is picked is then verified in full, its signed predicate type included.
 */
export function claimedPredicateType(evidence: ImageEvidence): string | undefined {
  try {
    let envelope: { payload?: string } | undefined;
    if (evidence.format === 'cosign-layer') {
      if (evidence.layer.annotations.predicateType) return evidence.layer.annotations.predicateType;
      envelope = JSON.parse(evidence.layer.blob.toString('utf8'));
    } else {
      envelope = JSON.parse(evidence.bundle.toString('utf8'))?.dsseEnvelope;
    }
    const type = envelope?.payload ? JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))?.predicateType : undefined;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
