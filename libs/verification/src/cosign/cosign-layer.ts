import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { createHash } from 'node:crypto';
import { decodeCosignCertificate } from '../blob/legacy-blob-signature';
import { tlogEntryFromRekor } from '../rekor';
import { VerificationError } from '../verdict';

/** Layer annotations cosign writes on `.sig` and `.att` manifests (tag scheme). */
export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  predicateType: 'predicateType',
} as const;

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_LAYER_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** A layer of a cosign signature or attestation manifest, with its blob already digest-checked. */
export interface CosignLayer {
  mediaType: string;
  digest: string;
  annotations: Record<string, string>;
  blob: Buffer;
}

interface CosignBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

/**
 * Re-expresses a cosign tag-scheme layer as a v0.1 Sigstore bundle: the certificate annotation
 * is the leaf (the chain annotation is not trusted: intermediates come from the trust root), the
 * `dev.sigstore.cosign/bundle` annotation is the Rekor entry with its SET, and the content is a
 * message signature over the simple-signing payload (`.sig`) or the DSSE envelope itself (`.att`).
 * `keyed`: the layer is checked against a public key instead, so the bundle carries a key hint.
 */
export function bundleFromCosignLayer(layer: CosignLayer, options: { keyed?: boolean } = {}): Record<string, unknown> {
  const certificatePem = layer.annotations[COSIGN_ANNOTATIONS.certificate];
  if (!certificatePem && !options.keyed) {
    throw new VerificationError('certificate-invalid', 'the cosign layer has no certificate annotation (key-based signatures need --key)');
  }
  const rawBundle = layer.annotations[COSIGN_ANNOTATIONS.bundle];
  if (!rawBundle) throw new VerificationError('tlog-entry-missing', 'the cosign layer carries no transparency log bundle annotation');
  let annotation: CosignBundleAnnotation;
  try {
    annotation = JSON.parse(rawBundle);
  } catch {
    throw new VerificationError('tlog-entry-invalid', 'the dev.sigstore.cosign/bundle annotation is not JSON');
  }
  if (typeof annotation?.SignedEntryTimestamp !== 'string' || typeof annotation.Payload !== 'object' || annotation.Payload === null) {
    throw new VerificationError('tlog-entry-invalid', 'the dev.sigstore.cosign/bundle annotation lacks SignedEntryTimestamp or Payload');
  }
  const tlogEntry = tlogEntryFromRekor({
    body: annotation.Payload.body,
    integratedTime: annotation.Payload.integratedTime,
    logIndex: annotation.Payload.logIndex,
    logID: annotation.Payload.logID,
    verification: { signedEntryTimestamp: annotation.SignedEntryTimestamp },
  });
  // Verified with a key (cosign verify --key): the key given decides, and a certificate the layer
  // may also carry is not consulted (threat: a layer's own certificate vouching for itself).
  const verificationMaterial = {
    ...(options.keyed ? { publicKey: { hint: '' } } : { x509CertificateChain: { certificates: [{ rawBytes: decodeCosignCertificate(certificatePem!).toString('base64') }] } }),
    tlogEntries: [tlogEntry],
    timestampVerificationData: { rfc3161Timestamps: [] },
  };

  if (layer.mediaType === DSSE_LAYER_MEDIA_TYPE) {
    return { mediaType: BUNDLE_V01_MEDIA_TYPE, verificationMaterial, dsseEnvelope: parseEnvelope(layer.blob) };
  }
  const signature = layer.annotations[COSIGN_ANNOTATIONS.signature];
  if (!signature) throw new VerificationError('signature-encoding-invalid', 'the cosign layer has no signature annotation');
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial,
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(layer.blob).digest('base64') },
      signature,
    },
  };
}

function parseEnvelope(blob: Buffer): Record<string, unknown> {
  let envelope: { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  try {
    envelope = JSON.parse(blob.toString('utf8'));
  } catch {
    throw new VerificationError('envelope-invalid', 'the attestation layer is not a JSON DSSE envelope');
  }
  const signatures = envelope?.signatures;
  if (typeof envelope?.payloadType !== 'string' || typeof envelope.payload !== 'string' || !Array.isArray(signatures) || signatures.length !== 1) {
    throw new VerificationError('envelope-invalid', 'the attestation layer is not a DSSE envelope with exactly one signature');
  }
  const [sig] = signatures as Array<{ sig?: unknown; keyid?: unknown }>;
  if (typeof sig?.sig !== 'string') throw new VerificationError('envelope-invalid', 'the DSSE signature is not a string');
  return { payloadType: envelope.payloadType, payload: envelope.payload, signatures: [{ sig: sig.sig, keyid: typeof sig.keyid === 'string' ? sig.keyid : '' }] };
}
