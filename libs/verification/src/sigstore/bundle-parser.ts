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
  const problems = bundleShapeProblems(json as Record<string, unknown>, mediaType);
  if (problems.length > 0) throw new VerificationError('bundle-invalid', `bundle is malformed: ${problems.join('; ')}`);
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
 * The JSON shape every field sigstore-js reads, checked before it is handed over: its decoder
 * fills missing fields with defaults and its verifier then dereferences them, so a bundle with a
 * missing checkpoint (CPython 3.12.5's) surfaced as "Cannot read properties of undefined". Every
 * bad field is listed by its path, like @sigstore/bundle's own validation does for the rest.
 */
export function bundleShapeProblems(json: Record<string, unknown>, mediaType: string): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, field: string, what: string) => (ok ? true : (problems.push(`${field} ${what}`), false));
  const str = (v: unknown, field: string) => need(typeof v === 'string' && v.length > 0, field, 'is missing or not a string');
  const int = (v: unknown, field: string) =>
    need((typeof v === 'string' && /^\d{1,19}$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0), field, 'is missing or not a non-negative integer');
  const obj = (v: unknown, field: string): v is Record<string, any> => need(isRecord(v), field, 'is missing or not an object');
  const arr = (v: unknown, field: string): v is unknown[] => need(Array.isArray(v), field, 'is missing or not a list');
  const checkpointRequired = mediaType !== BUNDLE_V01_MEDIA_TYPE;

  const vm = json.verificationMaterial;
  if (obj(vm, 'verificationMaterial')) {
    const kinds = ['x509CertificateChain', 'certificate', 'publicKey'].filter((k) => vm[k] !== undefined);
    if (kinds.length !== 1) problems.push(`verificationMaterial has ${kinds.length} of x509CertificateChain/certificate/publicKey; exactly one is required`);
    if (vm.x509CertificateChain !== undefined && obj(vm.x509CertificateChain, 'verificationMaterial.x509CertificateChain')) {
      const certs = vm.x509CertificateChain.certificates;
      if (arr(certs, 'verificationMaterial.x509CertificateChain.certificates')) {
        need(certs.length > 0, 'verificationMaterial.x509CertificateChain.certificates', 'is empty');
        certs.forEach((c, i) => obj(c, `verificationMaterial.x509CertificateChain.certificates[${i}]`) && str(c.rawBytes, `verificationMaterial.x509CertificateChain.certificates[${i}].rawBytes`));
      }
    }
    if (vm.certificate !== undefined && obj(vm.certificate, 'verificationMaterial.certificate')) str(vm.certificate.rawBytes, 'verificationMaterial.certificate.rawBytes');
    if (vm.publicKey !== undefined && obj(vm.publicKey, 'verificationMaterial.publicKey')) need(typeof vm.publicKey.hint === 'string' || vm.publicKey.hint === undefined, 'verificationMaterial.publicKey.hint', 'is not a string');
    const entries = vm.tlogEntries ?? [];
    if (arr(entries, 'verificationMaterial.tlogEntries')) {
      entries.forEach((e, i) => {
        const at = `verificationMaterial.tlogEntries[${i}]`;
        if (!obj(e, at)) return;
        int(e.logIndex, `${at}.logIndex`);
        if (obj(e.logId, `${at}.logId`)) str(e.logId.keyId, `${at}.logId.keyId`);
        if (obj(e.kindVersion, `${at}.kindVersion`)) {
          str(e.kindVersion.kind, `${at}.kindVersion.kind`);
          str(e.kindVersion.version, `${at}.kindVersion.version`);
        }
        if (e.integratedTime !== undefined) int(e.integratedTime, `${at}.integratedTime`);
        str(e.canonicalizedBody, `${at}.canonicalizedBody`);
        if (e.inclusionPromise !== undefined && obj(e.inclusionPromise, `${at}.inclusionPromise`)) str(e.inclusionPromise.signedEntryTimestamp, `${at}.inclusionPromise.signedEntryTimestamp`);
        const proof = e.inclusionProof;
        if (proof === undefined) return;
        if (!obj(proof, `${at}.inclusionProof`)) return;
        int(proof.logIndex, `${at}.inclusionProof.logIndex`);
        int(proof.treeSize, `${at}.inclusionProof.treeSize`);
        str(proof.rootHash, `${at}.inclusionProof.rootHash`);
        if (arr(proof.hashes ?? [], `${at}.inclusionProof.hashes`)) {
          ((proof.hashes ?? []) as unknown[]).forEach((h, j) => need(typeof h === 'string', `${at}.inclusionProof.hashes[${j}]`, 'is not a string'));
        }
        if (proof.checkpoint !== undefined || checkpointRequired) {
          if (obj(proof.checkpoint, `${at}.inclusionProof.checkpoint`)) str(proof.checkpoint.envelope, `${at}.inclusionProof.checkpoint.envelope`);
        }
      });
    }
    const tsv = vm.timestampVerificationData;
    if (tsv !== undefined && obj(tsv, 'verificationMaterial.timestampVerificationData')) {
      const list = tsv.rfc3161Timestamps ?? [];
      if (arr(list, 'verificationMaterial.timestampVerificationData.rfc3161Timestamps')) {
        list.forEach((t, i) => {
          const at = `verificationMaterial.timestampVerificationData.rfc3161Timestamps[${i}]`;
          if (obj(t, at)) str(t.signedTimestamp, `${at}.signedTimestamp`);
        });
      }
    }
  }
  const contents = ['messageSignature', 'dsseEnvelope'].filter((k) => json[k] !== undefined);
  if (contents.length !== 1) problems.push(`the bundle has ${contents.length} of messageSignature/dsseEnvelope; exactly one is required`);
  const ms = json.messageSignature;
  if (ms !== undefined && obj(ms, 'messageSignature')) {
    str(ms.signature, 'messageSignature.signature');
    if (ms.messageDigest !== undefined && obj(ms.messageDigest, 'messageSignature.messageDigest')) {
      need(typeof ms.messageDigest.digest === 'string', 'messageSignature.messageDigest.digest', 'is not a string');
      need(ms.messageDigest.algorithm === undefined || typeof ms.messageDigest.algorithm === 'string', 'messageSignature.messageDigest.algorithm', 'is not a string');
    }
  }
  const env = json.dsseEnvelope;
  if (env !== undefined && obj(env, 'dsseEnvelope')) {
    need(typeof env.payload === 'string', 'dsseEnvelope.payload', 'is missing or not a string');
    str(env.payloadType, 'dsseEnvelope.payloadType');
    if (arr(env.signatures, 'dsseEnvelope.signatures')) {
      need(env.signatures.length > 0, 'dsseEnvelope.signatures', 'is empty');
      env.signatures.forEach((sig, i) => {
        if (!obj(sig, `dsseEnvelope.signatures[${i}]`)) return;
        str(sig.sig, `dsseEnvelope.signatures[${i}].sig`);
        need(sig.keyid === undefined || typeof sig.keyid === 'string', `dsseEnvelope.signatures[${i}].keyid`, 'is not a string');
      });
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

const BASE64_BODY = /^[A-Za-z0-9+/]*(={0,2})$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const PAD = 0x3d; // '='
/** Above this the fast path's two copies (bytes, re-encoding) cost more memory than the regexp saves time. */
const CANONICAL_CHECK_MAX = 4 * 1024 * 1024;

/**
 * Standard base64 in groups of four with an optional final group of two or three characters
 * (padded to four, or not), or base64url. Checked as one character class plus the length rule
 * instead of a regexp over groups, which backtracked through every group of a large DSSE payload.
 * First, without any regexp: a value that is exactly the standard encoding of what it decodes to
 * (with its padding or without) passes every one of those rules; only other values (base64url,
 * non-zero unused bits, junk) go through the rules themselves.
 */
export function isBase64(value: string): boolean {
  if (value.length <= CANONICAL_CHECK_MAX && isCanonicalStandardBase64(value)) return true;
  const standard = BASE64_BODY.exec(value);
  if (standard) {
    const padding = standard[1].length;
    const rest = (value.length - padding) % 4;
    if (padding === 0 ? rest !== 1 : rest === 4 - padding) return true;
  }
  return BASE64URL.test(value);
}

/** Is `value` the standard base64 encoding (padded, or with the padding left off) of its own bytes? */
function isCanonicalStandardBase64(value: string): boolean {
  const canonical = Buffer.from(value, 'base64').toString('base64');
  if (canonical === value) return true;
  let end = canonical.length;
  while (end > 0 && canonical.charCodeAt(end - 1) === PAD) end--;
  return end === value.length && end < canonical.length && canonical.startsWith(value);
}
