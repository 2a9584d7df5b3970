import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { type SignedEntity, toSignedEntity } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { type SignerEvidence, type TlogEvidence, VerificationError } from '../verdict';
import type { Artifact, DigestAlgorithm } from './artifact';
import { parseBundle } from './bundle-parser';
import { signerEvidenceFromCertificate } from './fulcio-certificate';
import { type IdentityPolicy, assertIdentity } from './identity-policy';
import { DigestMessageSignatureContent } from './message-signature-content';
import { fromSigstoreError } from './sigstore-error.mapping';
import { isIntotoV001, verifyIntotoV001Entry } from '../tlog';
import type { SigstoreTrustRoot, VerifierThresholds } from './trust-root';

export interface BundleVerificationOptions {
  trustRoot: SigstoreTrustRoot;
  /** Who must have signed (keyless). Required unless `publicKey` is given. */
  identity?: IdentityPolicy;
  /** A managed key (cosign --key): the bundle must be signed by exactly this key. */
  publicKey?: KeyObject;
  /** Required for message signatures; for DSSE the caller matches it against the statement. */
  artifact?: Artifact;
  thresholds?: Partial<VerifierThresholds>;
  /**
   * The exact envelope bytes that were logged (a cosign `.att` layer blob). Needed only for Rekor
   * `intoto/0.0.1` entries, whose body commits to a hash of those bytes.
   */
  loggedEnvelope?: Buffer;
}

export interface VerifiedBundle {
  bundle: Bundle;
  signer: SignerEvidence;
  tlog: TlogEvidence[];
  /** Verified signing times (tlog integrated times and RFC 3161 timestamps), ISO 8601. */
  timestamps: string[];
  /** The DSSE payload, present when the bundle signs an envelope; only trust it after this returns. */
  dsse?: { payloadType: string; payload: Buffer };
}

const DIGEST_ALGORITHMS: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/** Digest algorithm a message-signature bundle signs with, so callers hash the artifact once with it. */
export function messageDigestAlgorithm(bundle: Bundle): DigestAlgorithm | undefined {
  if (bundle.content.$case !== 'messageSignature') return undefined;
  const alg = bundle.content.messageSignature.messageDigest?.algorithm ?? HashAlgorithm.SHA2_256;
  return DIGEST_ALGORITHMS[alg];
}

/**
 * Verifies a Sigstore bundle offline: certificate chain to the trust root with SCTs, the
 * transparency log entry (inclusion proof or promise, checkpoint, body matches the content),
 * timestamps inside the certificate's validity, the signature, and finally the signer's
 * identity. Throws VerificationError; returns only when every step passed.
 */
export function verifyBundle(input: Bundle | Uint8Array | string | object, options: BundleVerificationOptions): VerifiedBundle {
  const bundle = isParsedBundle(input) ? input : parseBundle(input);
  const material = bundle.verificationMaterial.content;
  if (options.publicKey) {
    if (material.$case !== 'publicKey') {
      throw new VerificationError('public-key-mismatch', 'a public key was given but the bundle is signed with a certificate');
    }
  } else {
    if (!options.identity) throw new VerificationError('identity-mismatch', 'no signer identity policy was given');
    if (material.$case === 'publicKey') {
      throw new VerificationError('public-key-mismatch', 'the bundle is signed with a managed key, but no key was given to verify it');
    }
  }

  assertNoRootInChain(bundle);
  let entity = signedEntity(bundle, options.artifact);
  const thresholds: VerifierThresholds = {
    tlogThreshold: 1,
    ctlogThreshold: material.$case === 'publicKey' ? 0 : 1,
    timestampThreshold: 1,
    ...options.thresholds,
  };
  // Say what is missing before sigstore-js reports it as a lack of timestamps.
  if (entity.tlogEntries.length < thresholds.tlogThreshold) {
    throw new VerificationError('tlog-entry-missing', `the bundle has ${entity.tlogEntries.length} transparency log entries; ${thresholds.tlogThreshold} required`);
  }
  const legacyEntries = entity.tlogEntries.filter(isIntotoV001);
  if (legacyEntries.length > 0) {
    // sigstore-js cannot check this kind: verify it here, then let it check the rest.
    if (bundle.content.$case !== 'dsseEnvelope' || entity.key.$case !== 'certificate' || !options.loggedEnvelope) {
      throw new VerificationError('tlog-entry-invalid', 'an intoto/0.0.1 log entry can only be checked against the logged envelope bytes');
    }
    for (const entry of legacyEntries) {
      verifyIntotoV001Entry(entry, options.trustRoot.trustMaterial, {
        envelopeBytes: options.loggedEnvelope,
        payload: Buffer.from(bundle.content.dsseEnvelope.payload),
        certificate: entity.key.certificate,
      });
    }
    entity = { ...entity, tlogEntries: entity.tlogEntries.filter((e) => !isIntotoV001(e)) };
    thresholds.tlogThreshold = Math.max(0, thresholds.tlogThreshold - legacyEntries.length);
  }
  const verifier = options.publicKey
    ? options.trustRoot.keyVerifier(options.publicKey, thresholds)
    : options.trustRoot.verifier(thresholds);
  try {
    verifier.verify(entity);
  } catch (err) {
    throw fromSigstoreError(err);
  }

  const signer: SignerEvidence =
    entity.key.$case === 'certificate' ? signerEvidenceFromCertificate(entity.key.certificate) : { keyHint: entity.key.hint };
  if (options.identity && !options.publicKey) assertIdentity(signer, options.identity);

  return {
    bundle,
    signer,
    tlog: bundle.verificationMaterial.tlogEntries.map(tlogEvidence),
    timestamps: entity.timestamps.map((ts) =>
      ts.$case === 'transparency-log'
        ? new Date(Number(ts.tlogEntry.integratedTime) * 1000).toISOString()
        : ts.timestamp.signingTime.toISOString(),
    ),
    dsse:
      bundle.content.$case === 'dsseEnvelope'
        ? { payloadType: bundle.content.dsseEnvelope.payloadType, payload: Buffer.from(bundle.content.dsseEnvelope.payload) }
        : undefined,
  };
}

function signedEntity(bundle: Bundle, artifact: Artifact | undefined): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (err) {
    throw fromSigstoreError(err);
  }
  if (bundle.content.$case !== 'messageSignature') return entity;

  if (!artifact) throw new VerificationError('input-unreadable', 'a message signature can only be verified against the artifact');
  const algorithm = messageDigestAlgorithm(bundle);
  if (!algorithm) throw new VerificationError('bundle-unsupported-version', 'unsupported message digest algorithm');
  const actual = artifact.digests[algorithm];
  if (!actual) throw new VerificationError('input-unreadable', `the artifact's ${algorithm} digest was not computed`);
  // The bundle's messageDigest is only a hint; if present it must agree with the artifact.
  const hint = bundle.content.messageSignature.messageDigest?.digest;
  if (hint && hint.length > 0 && !Buffer.from(hint).equals(actual)) {
    throw new VerificationError(
      'subject-digest-mismatch',
      `artifact ${algorithm} digest ${actual.toString('hex')} does not match the bundle's message digest ${Buffer.from(hint).toString('hex')}`,
    );
  }
  const signature = Buffer.from(bundle.content.messageSignature.signature);
  return { ...entity, signature: new DigestMessageSignatureContent(signature, artifact, algorithm) };
}

/**
 * Roots come from the trust root only. A self-signed certificate inside the bundle's chain is
 * either useless or an attempt to make the bundle carry its own anchor: reject it outright.
 */
function assertNoRootInChain(bundle: Bundle): void {
  const material = bundle.verificationMaterial.content;
  if (material.$case !== 'x509CertificateChain') return;
  material.x509CertificateChain.certificates.forEach((raw, i) => {
    let cert: X509Certificate;
    try {
      cert = X509Certificate.parse(Buffer.from(raw.rawBytes));
    } catch (err) {
      throw new VerificationError('certificate-invalid', `certificate ${i} in the bundle's chain cannot be parsed: ${(err as Error).message}`);
    }
    if (cert.subject.equals(cert.issuer) && safeSelfVerify(cert)) {
      throw new VerificationError('certificate-chain-invalid', `certificate ${i} in the bundle's chain is a self-signed root; roots come only from the trust root`);
    }
  });
}

function safeSelfVerify(cert: X509Certificate): boolean {
  try {
    return cert.verify();
  } catch {
    return false;
  }
}

function tlogEvidence(entry: TransparencyLogEntry): TlogEvidence {
  const integrated = Number(entry.integratedTime);
  return {
    logIndex: String(entry.logIndex),
    logId: Buffer.from(entry.logId.keyId).toString('hex'),
    integratedTime: integrated > 0 ? new Date(integrated * 1000).toISOString() : undefined,
    kind: entry.kindVersion.kind,
    version: entry.kindVersion.version,
  };
}

function isParsedBundle(input: unknown): input is Bundle {
  // Parsed bundles carry a tagged `content`; the JSON form has messageSignature/dsseEnvelope keys.
  const content = (input as { content?: { $case?: unknown } } | null)?.content;
  return typeof content === 'object' && content !== null && typeof content.$case === 'string';
}

/** The leaf certificate of a bundle, for callers that show it before verification completes. */
export function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') return X509Certificate.parse(Buffer.from(material.certificate.rawBytes));
  if (material.$case === 'x509CertificateChain') return X509Certificate.parse(Buffer.from(material.x509CertificateChain.certificates[0].rawBytes));
  return undefined;
}
