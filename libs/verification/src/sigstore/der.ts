/**
 * Just enough DER to slice a certificate into its signed parts without re-encoding it. Reading the
 * original bytes (instead of parsing to objects and encoding back, as @sigstore/core does) is both
 * faster and exact: a signature is checked over the bytes that were signed, never over a
 * reconstruction of them.
 */

/** One tag-length-value element: `start` of the tag, `contentStart` after the length, `end` after the value. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export class DerError extends Error {}

/**
 * Reads the element at `at`, which must end by `limit`. Strict DER only: single-byte tags,
 * definite minimal lengths. Certificates are DER (RFC 5280 section 4.1); anything looser is not
 * what a CA signed.
 */
export function readTlv(buf: Uint8Array, at: number, limit: number = buf.length): Tlv {
  if (at + 2 > limit) throw new DerError('truncated element');
  const tag = buf[at];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tag');
  let length = buf[at + 1];
  let p = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0) throw new DerError('indefinite length');
    if (octets > 4) throw new DerError('length too large');
    if (p + octets > limit) throw new DerError('truncated length');
    if (buf[p] === 0) throw new DerError('non-minimal length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buf[p++];
    if (length < 0x80) throw new DerError('non-minimal length');
  }
  if (p + length > limit) throw new DerError('truncated value');
  return { tag, start: at, contentStart: p, end: p + length };
}

/** The elements directly inside a constructed element; they must fill it exactly. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const child = readTlv(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Tag and minimal DER length for a value of `length` bytes. */
export function tlvHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Buffer.from([tag, 0x80 | octets.length, ...octets]);
}

const SEQUENCE = 0x30;
const EXTENSIONS = 0xa3; // [3] EXPLICIT Extensions in TBSCertificate
const OID = 0x06;

/** The signed TBSCertificate bytes of a DER certificate, exactly as they appear in it. */
export function tbsCertificateBytes(certificate: Buffer): Buffer {
  const outer = readTlv(certificate, 0);
  if (outer.tag !== SEQUENCE || outer.end !== certificate.length) throw new DerError('not a single DER SEQUENCE');
  const parts = childrenOf(certificate, outer);
  if (parts.length !== 3 || parts[0].tag !== SEQUENCE) throw new DerError('not a certificate (TBSCertificate, algorithm, signature)');
  return certificate.subarray(parts[0].start, parts[0].end);
}

/**
 * The TBSCertificate with the extension `oidDer` (the OID's DER value bytes) removed, lengths
 * re-encoded: the "precertificate" TBS that an RFC 6962 SCT signs (section 3.2). Undefined when
 * the certificate does not carry the extension. Two copies of one extension are refused
 * (RFC 5280 section 4.2: a certificate MUST NOT include more than one instance).
 */
export function tbsWithoutExtension(tbs: Buffer, oidDer: Buffer): Buffer | undefined {
  const outer = readTlv(tbs, 0);
  if (outer.tag !== SEQUENCE || outer.end !== tbs.length) throw new DerError('TBSCertificate is not a single SEQUENCE');
  const wrapper = childrenOf(tbs, outer).find((c) => c.tag === EXTENSIONS);
  if (!wrapper) return undefined;
  const list = readTlv(tbs, wrapper.contentStart, wrapper.end);
  if (list.tag !== SEQUENCE || list.end !== wrapper.end) throw new DerError('extensions are not a single SEQUENCE');
  const matches = childrenOf(tbs, list).filter((ext) => {
    if (ext.tag !== SEQUENCE) throw new DerError('an extension is not a SEQUENCE');
    const id = readTlv(tbs, ext.contentStart, ext.end);
    return id.tag === OID && id.end - id.contentStart === oidDer.length && tbs.subarray(id.contentStart, id.end).equals(oidDer);
  });
  if (matches.length === 0) return undefined;
  if (matches.length > 1) throw new DerError('an extension appears more than once');
  const drop = matches[0];
  const listContent = Buffer.concat([tbs.subarray(list.contentStart, drop.start), tbs.subarray(drop.end, list.end)]);
  const newList = Buffer.concat([tlvHeader(SEQUENCE, listContent.length), listContent]);
  const newWrapper = Buffer.concat([tlvHeader(EXTENSIONS, newList.length), newList]);
  const content = Buffer.concat([tbs.subarray(outer.contentStart, wrapper.start), newWrapper, tbs.subarray(wrapper.end, outer.end)]);
  return Buffer.concat([tlvHeader(SEQUENCE, content.length), content]);
}

/** DER value bytes of a dotted OID (X.690 section 8.19). */
export function oidValueBytes(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new DerError(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (arc: bigint) => {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(arcs[0] * 40n + arcs[1]);
  arcs.slice(2).forEach(push);
  return Buffer.from(out);
}
