import { createHash } from 'node:crypto';

import { Json, canonicalize } from './canonical-json';

// Rekor v1 entry bodies, canonicalized the way Rekor stores them. Each kind
// embeds the signer's certificate as base64 of its PEM text, not of its DER.

export type TlogKind = 'hashedrekord/0.0.1' | 'dsse/0.0.1' | 'intoto/0.0.2' | 'intoto/0.0.1';

export interface EntryBody {
  kind: string;
  apiVersion: string;
  body: Buffer;
}

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');

function finish(kind: string, apiVersion: string, spec: Json): EntryBody {
  return { kind, apiVersion, body: Buffer.from(canonicalize({ apiVersion, kind, spec })) };
}

/** Message signature over a sha256 digest (cosign sign-blob, sigstore bundles with messageSignature). */
export function hashedRekordBody(digest: Buffer, signature: Buffer, certPem: string): EntryBody {
  return finish('hashedrekord', '0.0.1', {
    data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
    signature: { content: b64(signature), publicKey: { content: b64(certPem) } },
  });
}

export interface DsseParts {
  /** the envelope as it was uploaded; Rekor hashes these exact bytes */
  envelopeBytes: Buffer;
  payload: Buffer;
  /** raw signature bytes (DER) */
  signature: Buffer;
  certPem: string;
}

/** dsse/0.0.1 (cosign attest since 2.x, generator v1.10+). */
export function dsseBody(p: DsseParts): EntryBody {
  return finish('dsse', '0.0.1', {
    envelopeHash: { algorithm: 'sha256', value: sha256Hex(p.envelopeBytes) },
    payloadHash: { algorithm: 'sha256', value: sha256Hex(p.payload) },
    signatures: [{ signature: b64(p.signature), verifier: b64(p.certPem) }],
  });
}

/**
 * intoto/0.0.2: the envelope minus its payload. The signature is base64 of the
 * envelope's own base64 `sig` string, i.e. encoded twice.
 */
export function intotoV2Body(p: DsseParts, payloadType: string): EntryBody {
  return finish('intoto', '0.0.2', {
    content: {
      envelope: {
        payloadType,
        signatures: [{ publicKey: b64(p.certPem), sig: b64(b64(p.signature)) }],
      },
      hash: { algorithm: 'sha256', value: sha256Hex(p.envelopeBytes) },
      payloadHash: { algorithm: 'sha256', value: sha256Hex(p.payload) },
    },
  });
}

/**
 * intoto/0.0.1 (generator v1.4-v1.9 image attestations): only hashes, no
 * signature, so the entry binds the envelope through content.hash alone.
 */
export function intotoV1Body(p: DsseParts): EntryBody {
  return finish('intoto', '0.0.1', {
    content: {
      hash: { algorithm: 'sha256', value: sha256Hex(p.envelopeBytes) },
      payloadHash: { algorithm: 'sha256', value: sha256Hex(p.payload) },
    },
    publicKey: b64(p.certPem),
  });
}
