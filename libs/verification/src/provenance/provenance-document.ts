import { parseSignedJson } from '../json/signed-json';
import { VerificationError } from '../verdict';

/** A bare DSSE envelope as slsa-github-generator <= v2.0.0 wrote it: the certificate inline, no log entry. */
export interface LegacyDsseEnvelope {
  payloadType: string;
  payload: string; // base64
  signatures: Array<{ keyid?: string; sig: string; cert?: string }>;
}

export type ProvenanceDocument = { kind: 'bundle'; bundle: object } | { kind: 'legacy-envelopes'; envelopes: LegacyDsseEnvelope[] };

const MAX_LEGACY_ENVELOPES = 64;

/**
 * Tells the two generations of `*.intoto.jsonl` apart. From generator v2.1.0 the file is one
 * Sigstore bundle (a JSON document, despite the name); before, it is JSON lines of bare DSSE
 * envelopes whose log entry must be found online.
 */
export function parseProvenanceDocument(bytes: Buffer): ProvenanceDocument {
  const text = bytes.toString('utf8').trim();
  if (text.length === 0) throw new VerificationError('provenance-invalid', 'the provenance file is empty');
  const whole = parseSignedJson(text);
  if ('value' in whole) {
    const doc = whole.value as Record<string, unknown> | null;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      if (typeof doc.mediaType === 'string') return { kind: 'bundle', bundle: doc };
      if (typeof doc.payloadType === 'string') return { kind: 'legacy-envelopes', envelopes: [asEnvelope(doc, 1)] };
    }
  } else if (/appears twice/.test(whole.reason)) {
    throw new VerificationError('provenance-invalid', `the provenance file cannot be read: ${whole.reason}`);
  }
  // Not a single JSON document: JSON lines below.
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length > MAX_LEGACY_ENVELOPES) throw new VerificationError('input-too-large', `more than ${MAX_LEGACY_ENVELOPES} envelopes in the provenance file`);
  const envelopes = lines.map((line, i) => {
    const parsed = parseSignedJson(line);
    if ('reason' in parsed) throw new VerificationError('provenance-invalid', `line ${i + 1} of the provenance file cannot be read: ${parsed.reason}`);
    return asEnvelope(parsed.value, i + 1);
  });
  return { kind: 'legacy-envelopes', envelopes };
}

function asEnvelope(doc: unknown, line: number): LegacyDsseEnvelope {
  const d = doc as Partial<LegacyDsseEnvelope> | null;
  const ok =
    d !== null &&
    typeof d === 'object' &&
    typeof d.payloadType === 'string' &&
    typeof d.payload === 'string' &&
    Array.isArray(d.signatures) &&
    d.signatures.length > 0 &&
    d.signatures.every((s) => s && typeof s.sig === 'string');
  if (!ok) throw new VerificationError('envelope-invalid', `line ${line} of the provenance file is neither a Sigstore bundle nor a DSSE envelope`);
  return d as LegacyDsseEnvelope;
}
