import type { Prng } from './prng';

/**
 * Structured mutations of a JSON document, field by field. Each mutation says whether it changes
 * something security-relevant (`reject`: it must never verify), nothing at all (`accept`), or
 * only an unauthenticated hint (`any`: it may verify or not). The rule is decided from the
 * field path and the operation, never from what provwatch answers.
 */
export type Expectation = 'reject' | 'accept' | 'any';

export interface JsonMutation {
  /** `<path>/<op>`, stable across runs for a given seed document */
  name: string;
  expect: Expectation;
  apply(doc: unknown): unknown;
}

type Path = Array<string | number>;

const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;
const INTEGER = /^-?[0-9]+$/;

/**
 * Fields a bundle carries that nothing authenticates and that do not decide the verdict:
 * - mediaType: a label of the JSON shape; the content is checked whatever it says.
 * - dsseEnvelope.signatures[].keyid: a hint, not covered by the DSSE PAE signature.
 * - messageSignature.messageDigest (deleted): a hint; the artifact is hashed by the verifier.
 * - tlogEntries[].logIndex / integratedTime when the entry has no inclusionPromise (Rekor v2):
 *   only the inclusion proof is authenticated, the top-level copies are not used for trust.
 * - timestampVerificationData deleted, or inclusionPromise deleted when an inclusion proof
 *   remains: removing evidence from a genuine bundle cannot forge one.
 * - unknown extra fields: ignored by the protobuf JSON form.
 */
function irrelevant(path: Path, op: string, doc: unknown): boolean {
  const p = path.join('.');
  if (op === 'add-unknown-field') return true;
  if (p === 'mediaType') return true;
  // With --key the key is the caller's; the bundle's key hint (and the rest of that object) is not used.
  if (p.startsWith('verificationMaterial.publicKey')) return true;
  // Deleting the algorithm leaves HASH_ALGORITHM_UNSPECIFIED, which means SHA2_256: the same.
  if (p === 'messageSignature.messageDigest.algorithm' && op === 'delete') return true;
  // Timestamps removed or made unreadable (protobuf's JSON form drops a wrong type): evidence
  // removed, nothing forged; the verifier then needs another time source.
  if (/^verificationMaterial\.timestampVerificationData(\.rfc3161Timestamps(\.\d+)?)?$/.test(p) && (op === 'delete' || op.startsWith('wrong-type') || op === 'empty-array')) return true;
  // inclusionProof.rootHash and treeSize are copies of what the signed checkpoint says; sigstore-js
  // computes the root with the checkpoint's size and compares it with the checkpoint's hash
  // (@sigstore/verify tlog/merkle.js), so these two fields are not trusted for anything.
  if (/^verificationMaterial\.tlogEntries\.\d+\.inclusionProof\.(rootHash|treeSize)$/.test(p)) return true;
  if (/^dsseEnvelope\.signatures\.\d+\.keyid$/.test(p)) return true;
  if (p === 'messageSignature.messageDigest' && op === 'delete') return true;
  if (p === 'verificationMaterial.timestampVerificationData' && op === 'delete') return true;
  if (p === 'verificationMaterial.timestampVerificationData.rfc3161Timestamps' && op === 'empty-array') return true;
  const tlog = /^verificationMaterial\.tlogEntries\.(\d+)\.(logIndex|integratedTime|inclusionPromise)$/.exec(p);
  if (tlog) {
    const entry = (doc as any)?.verificationMaterial?.tlogEntries?.[Number(tlog[1])];
    if (tlog[2] === 'inclusionPromise') return op === 'delete' && entry?.inclusionProof !== undefined;
    return entry?.inclusionPromise === undefined;
  }
  return false;
}

function getAt(doc: unknown, path: Path): unknown {
  return path.reduce<any>((v, k) => (v == null ? undefined : v[k]), doc);
}

function setAt(doc: unknown, path: Path, value: unknown, remove = false): unknown {
  const copy = structuredClone(doc) as any;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  if (remove) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

function flipBit(b64: string, prng: Prng): string | undefined {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) return undefined;
  const i = prng.int(bytes.length);
  bytes[i] ^= 1 << prng.int(8);
  return bytes.toString('base64');
}

/** Every field path of the document (leaves, arrays and objects), depth-first. */
function paths(doc: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(doc)) {
    out.push(prefix);
    doc.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  } else if (doc !== null && typeof doc === 'object') {
    out.push(prefix);
    for (const [k, v] of Object.entries(doc)) out.push(...paths(v, [...prefix, k]));
  } else out.push(prefix);
  return out;
}

/** One round of mutations of every field; `round` > 0 draws other bit positions and values. */
export function fieldMutations(doc: unknown, prng: Prng, round: number): JsonMutation[] {
  const out: JsonMutation[] = [];
  const add = (path: Path, op: string, apply: (d: unknown) => unknown, forced?: Expectation) => {
    const expect: Expectation = forced ?? (irrelevant(path, op, doc) ? 'any' : 'reject');
    out.push({ name: `${path.join('.') || '$'}/${op}${round > 0 ? `#${round}` : ''}`, expect, apply });
  };
  for (const path of paths(doc)) {
    const value = getAt(doc, path);
    if (path.length === 0) {
      add(path, 'add-unknown-field', (d) => ({ ...(d as object), zzUnknown: { x: 1 } }));
      continue;
    }
    if (round === 0) add(path, 'delete', (d) => setAt(d, path, undefined, true));
    if (Array.isArray(value)) {
      if (round === 0) {
        add(path, 'empty-array', (d) => setAt(d, path, []));
        if (value.length > 0) add(path, 'duplicate-first', (d) => setAt(d, path, [value[0], ...value]), arrayDuplicateExpectation(path));
        add(path, 'wrong-type-object', (d) => setAt(d, path, {}));
      }
    } else if (value !== null && typeof value === 'object') {
      if (round === 0) {
        add(path, 'add-unknown-field', (d) => setAt(d, path, { ...value, zzUnknown: 'x' }));
        add(path, 'wrong-type-string', (d) => setAt(d, path, 'x'));
        add(path, 'wrong-type-array', (d) => setAt(d, path, [value]));
      }
    } else if (typeof value === 'string') {
      if (BASE64.test(value) && Buffer.from(value, 'base64').length > 0) {
        const flipped = flipBit(value, prng);
        if (flipped !== undefined && flipped !== value) add(path, 'flip-bit', (d) => setAt(d, path, flipped));
        if (round === 0) {
          add(path, 'truncate', (d) => setAt(d, path, Buffer.from(value, 'base64').subarray(0, Math.floor(Buffer.from(value, 'base64').length / 2)).toString('base64')));
          add(path, 'not-base64', (d) => setAt(d, path, '!!not base64!!'));
        }
      } else if (INTEGER.test(value)) {
        const n = BigInt(value);
        const deltas = round === 0 ? [1n, -1n] : [BigInt(prng.int(1000) + 2)];
        for (const delta of deltas) add(path, `add${delta}`, (d) => setAt(d, path, String(n + delta)));
        if (round === 0) {
          add(path, 'zero', (d) => setAt(d, path, '0'), n === 0n ? 'any' : undefined);
          add(path, 'negative', (d) => setAt(d, path, '-1'));
          add(path, 'huge', (d) => setAt(d, path, '99999999999999999999999999'));
          add(path, 'as-number', (d) => setAt(d, path, Number(value)), 'any');
        }
      } else if (value.length > 0) {
        const i = prng.int(value.length);
        const changed = value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ 0x20 || 0x41) + value.slice(i + 1);
        if (changed !== value) add(path, 'change-char', (d) => setAt(d, path, changed));
        if (round === 0) add(path, 'empty', (d) => setAt(d, path, ''));
      }
      if (round === 0) add(path, 'wrong-type-number', (d) => setAt(d, path, 7));
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      if (round === 0) add(path, 'wrong-type-string', (d) => setAt(d, path, 'x'));
    }
  }
  return out;
}

/**
 * A duplicated array element: a second tlog entry or timestamp that is a copy of a genuine one
 * adds no forged claim (any); a second copy of a signature or certificate neither (any).
 */
function arrayDuplicateExpectation(_path: Path): Expectation {
  return 'any';
}
