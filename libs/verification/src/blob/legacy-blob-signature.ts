import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { VerificationError } from '../verdict';
import { type RekorLogEntry, tlogEntryFromRekor } from '../rekor';

/**
 * cosign sign-blob's detached outputs: `.sig` is base64 of the DER signature; `.pem` is base64
 * of the PEM text (older cosign) or the PEM itself. Both are accepted.
 */
export function decodeCosignCertificate(content: Buffer | string): Buffer {
  const text = content.toString().trim();
  const pem = text.startsWith('-----BEGIN') ? text : Buffer.from(text, 'base64').toString('utf8').trim();
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new VerificationError('certificate-invalid', 'certificate file is neither PEM nor base64-encoded PEM');
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}

export function decodeCosignSignature(content: Buffer | string): Buffer {
  const text = content.toString().trim();
  // Padded standard base64, as cosign writes and reads it: a length that is not a multiple of 4
  // is a truncated file, which a lenient decoder would silently turn into a shorter signature.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new VerificationError('signature-encoding-invalid', 'signature file is not padded base64 (truncated or not base64)');
  }
  const sig = Buffer.from(text, 'base64');
  if (sig.length === 0) throw new VerificationError('signature-encoding-invalid', 'signature file is empty');
  return sig;
}

/**
 * Re-expresses a legacy cosign blob signature plus its Rekor entry as a v0.1 bundle, so the one
 * bundle verifier checks chain, SET, entry body and signature the same way for both generations.
 */
export function bundleFromLegacyBlobSignature(input: {
  certificateDer: Buffer;
  signature: Buffer;
  artifactSha256: Buffer;
  rekorEntry: RekorLogEntry;
}): Record<string, unknown> {
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: input.certificateDer.toString('base64') }] },
      tlogEntries: [tlogEntryFromRekor(input.rekorEntry)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: input.artifactSha256.toString('base64') },
      signature: input.signature.toString('base64'),
    },
  };
}
