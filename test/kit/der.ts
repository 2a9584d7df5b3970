// Just enough DER to splice an extension into a TBSCertificate and to build
// the few primitive values Fulcio puts in its extensions. @peculiar/x509
// cannot do the SCT splice: the SCT signs the TBS that the final certificate
// will carry minus the SCT itself, so the TBS must be edited between two signatures.

export interface Tlv {
  tag: number;
  /** offset of the first content byte */
  start: number;
  /** offset after the last content byte */
  end: number;
  /** offset of the tag byte */
  offset: number;
}

export function readTlv(buf: Buffer, offset = 0): Tlv {
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not supported');
  let pos = offset + 1;
  let len = buf[pos++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++];
  }
  if (pos + len > buf.length) throw new Error('DER value runs past the buffer');
  return { tag, start: pos, end: pos + len, offset };
}

/** The direct children of a constructed value. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const t = readTlv(buf, pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function slice(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.offset, t.end);
}

export function encodeTlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) {
    header = Buffer.from([tag, len]);
  } else {
    const bytes: number[] = [];
    for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

export const sequence = (...items: Buffer[]): Buffer => encodeTlv(0x30, Buffer.concat(items));
export const octetString = (b: Buffer): Buffer => encodeTlv(0x04, b);
export const utf8String = (s: string): Buffer => encodeTlv(0x0c, Buffer.from(s, 'utf8'));
export const bitString = (b: Buffer): Buffer => encodeTlv(0x03, Buffer.concat([Buffer.from([0]), b]));

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let a = Math.floor(arc / 128); a > 0; a = Math.floor(a / 128)) chunk.unshift((a & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return encodeTlv(0x06, Buffer.from(bytes));
}

/** Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(id: string, value: Buffer, critical = false): Buffer {
  const parts = [oid(id)];
  if (critical) parts.push(Buffer.from([0x01, 0x01, 0xff]));
  parts.push(octetString(value));
  return sequence(...parts);
}

/** Splits a Certificate into its TBS, signature algorithm and signature value. */
export function splitCertificate(certDer: Buffer): { tbs: Buffer; sigAlg: Buffer } {
  const top = readTlv(certDer);
  const [tbs, sigAlg] = children(certDer, top);
  return { tbs: Buffer.from(slice(certDer, tbs)), sigAlg: Buffer.from(slice(certDer, sigAlg)) };
}

/** Returns the TBS with `extDer` appended to its extensions ([3] EXPLICIT SEQUENCE OF Extension). */
export function appendExtension(tbsDer: Buffer, extDer: Buffer): Buffer {
  const top = readTlv(tbsDer);
  const parts = children(tbsDer, top);
  const last = parts[parts.length - 1];
  if (last.tag !== 0xa3) throw new Error('TBS has no extensions block');
  const exts = readTlv(tbsDer, last.start);
  const newExts = encodeTlv(0xa3, encodeTlv(0x30, Buffer.concat([tbsDer.subarray(exts.start, exts.end), extDer])));
  return encodeTlv(0x30, Buffer.concat([...parts.slice(0, -1).map((p) => slice(tbsDer, p)), newExts]));
}

export function assembleCertificate(tbs: Buffer, sigAlg: Buffer, signature: Buffer): Buffer {
  return sequence(tbs, sigAlg, bitString(signature));
}
