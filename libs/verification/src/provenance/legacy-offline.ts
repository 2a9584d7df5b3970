import { X509Certificate, crypto as sigstoreCrypto } from '@sigstore/core';
import { decodeCosignCertificate } from '../blob/legacy-blob-signature';
import { type Artifact, type IdentityPolicy, type SigstoreTrustRoot, assertIdentity, signerEvidenceFromCertificate } from '../sigstore';
import { DigestMessageSignatureContent } from '../sigstore/message-signature-content';
import { type CertificateFields, readCertificateFields } from '../sigstore/x509-fields';
import { VerificationError } from '../verdict';
import type { LegacyDsseEnvelope } from './provenance-document';

/**
 * Legacy evidence (slsa-github-generator <= v2.0.0 bare envelopes, cosign .pem/.sig) carries no
 * log entry, so Rekor must be searched. Everything that needs no log is checked first: a missing
 * or garbage certificate, a foreign CA, a broken signature or the wrong signer is then reported
 * as what it is (a `fail`), instead of as `tlog-unavailable` when the log happens to be down.
 * The full verification (chain at the logged time, SCT, log entry) still follows with the entry.
 */
export function assertLegacyCertificateOffline(certificate: Buffer | string | undefined, trustRoot: SigstoreTrustRoot, identity: IdentityPolicy): X509Certificate {
  if (certificate === undefined || certificate.length === 0) throw new VerificationError('certificate-invalid', 'the signature carries no certificate');
  const der = decodeCosignCertificate(certificate);
  let leaf: X509Certificate;
  let fields: CertificateFields;
  try {
    leaf = X509Certificate.parse(Buffer.from(der));
    fields = readCertificateFields(Buffer.from(der));
  } catch {
    throw new VerificationError('certificate-invalid', 'the certificate is not a DER X.509 certificate');
  }
  // Issued by the first certificate of one of the trust root's Fulcio chains (its issuing CA).
  const issued = trustRoot.trustMaterial.certificateAuthorities.some((ca) => {
    const issuer = ca.certChain[0];
    return issuer !== undefined && leaf.issuer.equals(issuer.subject) && safe(() => leaf.verify(issuer));
  });
  if (!issued) throw new VerificationError('certificate-chain-invalid', "the certificate was not issued by the trust root's certificate authorities");
  assertIdentity(signerEvidenceFromCertificate(fields), identity);
  return leaf;
}

/** A bare DSSE envelope: certificate as above, then the signature over PAE(payloadType, payload). */
export function assertLegacyEnvelopeOffline(envelope: LegacyDsseEnvelope, trustRoot: SigstoreTrustRoot, identity: IdentityPolicy): void {
  if (envelope.signatures.length !== 1) throw new VerificationError('envelope-invalid', `expected one envelope signature, found ${envelope.signatures.length}`);
  const signature = envelope.signatures[0];
  const leaf = assertLegacyCertificateOffline(signature.cert, trustRoot, identity);
  const payload = Buffer.from(envelope.payload, 'base64');
  const type = Buffer.from(envelope.payloadType, 'utf8');
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
  const key = sigstoreCrypto.createPublicKey(leaf.publicKey);
  if (!safe(() => sigstoreCrypto.verify(pae, key, Buffer.from(signature.sig, 'base64')))) {
    throw new VerificationError('signature-invalid', 'the envelope signature does not verify over the payload with the certificate key');
  }
}

/** cosign `.pem` + `.sig` over the artifact: certificate as above, then the signature over its digest. */
export function assertLegacyBlobOffline(
  input: { certificateDer: Buffer; signature: Buffer },
  options: { trustRoot: SigstoreTrustRoot; artifact: Artifact; identity?: IdentityPolicy },
): void {
  if (!options.identity) throw new VerificationError('identity-mismatch', 'no signer identity policy was given');
  const pem = `-----BEGIN CERTIFICATE-----\n${input.certificateDer.toString('base64')}\n-----END CERTIFICATE-----\n`;
  const leaf = assertLegacyCertificateOffline(pem, options.trustRoot, options.identity);
  const content = new DigestMessageSignatureContent(input.signature, options.artifact, 'sha256');
  const key = sigstoreCrypto.createPublicKey(leaf.publicKey);
  if (!safe(() => content.verifySignature(key))) {
    throw new VerificationError('signature-invalid', "the signature does not verify over the artifact's sha256 digest with the certificate key");
  }
}

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
