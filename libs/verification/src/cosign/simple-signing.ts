import { VerificationError } from '../verdict';

/** The payload cosign signs for an image (Red Hat "simple signing" format, cosign flavour). */
export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional?: Record<string, unknown> | null;
}

const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Parses a verified simple-signing payload and checks it names exactly this image digest. */
export function assertSimpleSigningNamesDigest(payload: Buffer, imageDigest: string): SimpleSigningPayload {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new VerificationError('input-too-large', 'simple signing payload is too large');
  let doc: SimpleSigningPayload;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new VerificationError('statement-invalid', 'the signed payload is not JSON');
  }
  const digest = doc?.critical?.image?.['docker-manifest-digest'];
  if (doc?.critical?.type !== 'cosign container image signature' || typeof digest !== 'string') {
    throw new VerificationError('statement-invalid', 'the signed payload is not a cosign container image signature');
  }
  if (digest !== imageDigest) {
    throw new VerificationError('subject-digest-mismatch', `the signature names ${digest}, not the image ${imageDigest}`);
  }
  return doc;
}
