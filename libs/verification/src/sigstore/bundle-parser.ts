import { parseSignedJson } from '../json/signed-json';
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  ValidationError,
  assertBundle,
  bundleFromJSON,
} from '@sigstore/bundle';
import { VerificationError } from '../verdict';

/** Bundles carry a DSSE payload; SBOM attestations make them large, but not this large. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

const KNOWN_MEDIA_TYPES = new Set([BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE]);

/**
 * Parses and structurally validates a Sigstore bundle (v0.1 to v0.3). The document is
 * attacker-controlled: every failure becomes a stable `bundle-*` code, never an exception
 * from deep inside a decoder.
 */
export function parseBundle(input: Uint8Array | string | object): Bundle {
  let json: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    if (input.length > MAX_BUNDLE_BYTES) {
      throw new VerificationError('input-too-large', `bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
    }
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    const parsed = parseSignedJson(text);
    if ('reason' in parsed) throw new VerificationError('bundle-invalid', `the bundle cannot be read: ${parsed.reason}`);
    json = parsed.value;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new VerificationError('bundle-invalid', 'bundle is not a JSON object');
  }
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !KNOWN_MEDIA_TYPES.has(mediaType)) {
    throw new VerificationError('bundle-unsupported-version', `unsupported bundle media type ${JSON.stringify(mediaType)}`);
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json) as Bundle;
    assertBundle(bundle);
  } catch (err) {
    const fields = err instanceof ValidationError && err.fields?.length ? ` (${err.fields.join(', ')})` : '';
    throw new VerificationError('bundle-invalid', `bundle is malformed: ${(err as Error).message}${fields}`, { cause: err });
  }
  assertCanonicalBase64(json);
  return bundle;
}

/**
 * Protobuf's JSON decoder skips characters that are not base64, so a corrupted signature
 * could decode to different bytes than it shows. Reject any byte field that is not clean base64.
 */
function assertCanonicalBase64(json: any): void {
  const fields: Array<[string, unknown]> = [
    ['messageSignature.signature', json.messageSignature?.signature],
    ['messageSignature.messageDigest.digest', json.messageSignature?.messageDigest?.digest],
    ['dsseEnvelope.payload', json.dsseEnvelope?.payload],
    ...((Array.isArray(json.dsseEnvelope?.signatures) ? json.dsseEnvelope.signatures : []) as any[]).map(
      (s, i): [string, unknown] => [`dsseEnvelope.signatures[${i}].sig`, s?.sig],
    ),
  ];
  const bad = fields.filter(([, value]) => value !== undefined && (typeof value !== 'string' || !isBase64(value))).map(([name]) => name);
  if (bad.length > 0) throw new VerificationError('signature-encoding-invalid', `bundle fields are not valid base64: ${bad.join(', ')}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function isBase64(value: string): boolean {
  return BASE64.test(value) || BASE64URL.test(value);
}
