import { DerError, type Tlv, childrenOf, oidValueBytes, readTlv } from './der';

/**
 * The fields of a bundle's leaf certificate that verification reads, taken from its DER in one
 * pass (strict DER throughout: der.ts). This replaces @sigstore/core's parse of the leaf, which
 * builds an object (and a Buffer view) for every element of the certificate and tries every
 * OCTET STRING as nested DER: a tenth of verifying a bundle went into it. Every value is the
 * certificate's own bytes, read the way @sigstore/core reads it (names as the content of their
 * SEQUENCE, the first extension of an OID wins, SAN text decoded as 'ascii'), so the two agree on
 * what a certificate says (test/formats/x509-fields.test.ts compares them on every real and kit
 * leaf). It accepts nothing @sigstore/core's parse refuses: every constructed element is walked
 * and must be strict DER; the layout must be a v3 certificate's. Threat: a certificate read one
 * way here and another way by the code that checked its signature (parser differentials).
 */
export interface CertificateFields {
  der: Buffer;
  /** The signed TBSCertificate, exactly as it appears in `der`. */
  tbs: Buffer;
  /** INTEGER content bytes. */
  serialNumber: Buffer;
  /** Content of the issuer Name's SEQUENCE (what @sigstore/core's `issuer` returns). */
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** extnValue contents (the OCTET STRING's content) by extension OID; the first of an OID wins. */
  extensions: ReadonlyMap<OidKey, Buffer>;
}

/** An OID as the latin1 string of its DER value bytes: exact, and cheap to look up. */
export type OidKey = string & { readonly __oid: unique symbol };

export function oidKey(dotted: string): OidKey {
  return oidValueBytes(dotted).toString('latin1') as OidKey;
}

const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const SEQUENCE = 0x30;
const VERSION = 0xa0; // [0] EXPLICIT Version
const ISSUER_UID = 0x81; // [1] IMPLICIT UniqueIdentifier
const SUBJECT_UID = 0x82; // [2] IMPLICIT UniqueIdentifier
const EXTENSIONS = 0xa3; // [3] EXPLICIT Extensions
/** As @sigstore/core: deeper nesting is refused (no certificate needs it; recursion is bounded). */
const MAX_DEPTH = 100;

/** Reads a DER certificate. Throws DerError (with what is wrong) for anything else. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const cert = readTlv(der, 0);
  if (cert.tag !== SEQUENCE || cert.end !== der.length) throw new DerError('not a single DER SEQUENCE');
  assertStrictDer(der, cert, 0);
  const top = childrenOf(der, cert);
  if (top.length !== 3 || top[0].tag !== SEQUENCE || top[1].tag !== SEQUENCE || top[2].tag !== BIT_STRING) {
    throw new DerError('not a certificate (TBSCertificate, algorithm, signature)');
  }
  const tbs = top[0];
  const parts = childrenOf(der, tbs);
  let i = 0;
  const next = (tag: number, what: string): Tlv => {
    const part = parts[i++];
    if (part?.tag !== tag) throw new DerError(`TBSCertificate field ${what} is missing or of the wrong type`);
    return part;
  };
  const version = next(VERSION, 'version');
  const versionNumber = single(der, version, INTEGER, 'version');
  if (versionNumber.end - versionNumber.contentStart !== 1 || der[versionNumber.contentStart] !== 2) throw new DerError('not an X.509 v3 certificate');
  const serial = next(INTEGER, 'serialNumber');
  next(SEQUENCE, 'signature');
  const issuer = next(SEQUENCE, 'issuer');
  const validity = next(SEQUENCE, 'validity');
  const subject = next(SEQUENCE, 'subject');
  next(SEQUENCE, 'subjectPublicKeyInfo');
  if (parts[i]?.tag === ISSUER_UID) i++;
  if (parts[i]?.tag === SUBJECT_UID) i++;
  const extensions = parts[i]?.tag === EXTENSIONS ? readExtensions(der, parts[i++]) : new Map<OidKey, Buffer>();
  if (i !== parts.length) throw new DerError('TBSCertificate has fields after its extensions');

  const times = childrenOf(der, validity);
  if (times.length !== 2) throw new DerError('validity is not two times');
  return {
    der,
    tbs: der.subarray(tbs.start, tbs.end),
    serialNumber: content(der, serial),
    issuer: content(der, issuer),
    subject: content(der, subject),
    notBefore: readTime(der, times[0]),
    notAfter: readTime(der, times[1]),
    extensions,
  };
}

/**
 * Every constructed element, at any depth, is made of strict DER elements that fill it exactly
 * (what @sigstore/core's recursive parse requires, with minimal lengths as der.ts reads them).
 */
function assertStrictDer(der: Buffer, tlv: Tlv, depth: number): void {
  if ((tlv.tag & 0xdf) === 0) throw new DerError('universal tag 0');
  if ((tlv.tag & 0x20) === 0) return;
  if (depth >= MAX_DEPTH) throw new DerError('nested too deeply');
  for (let at = tlv.contentStart; at < tlv.end; ) {
    const child = readTlv(der, at, tlv.end);
    assertStrictDer(der, child, depth + 1);
    at = child.end;
  }
}

function readExtensions(der: Buffer, wrapper: Tlv): Map<OidKey, Buffer> {
  const list = single(der, wrapper, SEQUENCE, 'extensions');
  const byOid = new Map<OidKey, Buffer>();
  for (const ext of childrenOf(der, list)) {
    if (ext.tag !== SEQUENCE) throw new DerError('an extension is not a SEQUENCE');
    const fields = childrenOf(der, ext);
    const critical = fields.length === 3 ? fields[1] : undefined;
    const value = fields[fields.length - 1];
    if (fields.length < 2 || fields.length > 3 || fields[0].tag !== OID || value.tag !== OCTET_STRING) throw new DerError('an extension is not (OID, critical, OCTET STRING)');
    if (critical && (critical.tag !== BOOLEAN || critical.end - critical.contentStart !== 1)) throw new DerError("an extension's critical flag is not a BOOLEAN");
    const oid = content(der, fields[0]);
    assertMinimalOid(oid);
    const key = oid.toString('latin1') as OidKey;
    if (!byOid.has(key)) byOid.set(key, content(der, value));
  }
  return byOid;
}

/**
 * Each arc in the fewest base-128 digits (X.690 8.19.2): two spellings of one OID would let an
 * extension be found under one and missed under the other.
 */
function assertMinimalOid(oid: Buffer): void {
  if (oid.length === 0 || oid[oid.length - 1] & 0x80) throw new DerError('malformed OID');
  for (let k = 0; k < oid.length; k++) {
    if (oid[k] === 0x80 && (k === 0 || (oid[k - 1] & 0x80) === 0)) throw new DerError('OID arc not minimally encoded');
  }
}

const UTC_TIME_FORMAT = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{3})?Z$/;
const GENERALIZED_TIME_FORMAT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{3})?Z$/;

/** UTCTime (two-digit year: 50-99 is 19xx) or GeneralizedTime, read as @sigstore/core reads them. */
function readTime(der: Buffer, tlv: Tlv): Date {
  const short = tlv.tag === UTC_TIME;
  if (!short && tlv.tag !== GENERALIZED_TIME) throw new DerError('a validity time is not a UTCTime or GeneralizedTime');
  const m = (short ? UTC_TIME_FORMAT : GENERALIZED_TIME_FORMAT).exec(content(der, tlv).toString('ascii'));
  if (!m) throw new DerError('invalid time');
  const year = short ? String(Number(m[1]) + (Number(m[1]) >= 50 ? 1900 : 2000)) : m[1];
  return new Date(`${year}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

function content(der: Buffer, tlv: Tlv): Buffer {
  return der.subarray(tlv.contentStart, tlv.end);
}

/** The one element inside `parent`, of type `tag`, filling it exactly. */
function single(der: Uint8Array, parent: Tlv, tag: number, what: string): Tlv {
  const child = readTlv(der, parent.contentStart, parent.end);
  if (child.tag !== tag || child.end !== parent.end) throw new DerError(`${what} is not a single element of the expected type`);
  return child;
}

/** The elements of an extension value that must be one SEQUENCE (SAN, AKI): its children. */
function sequenceIn(value: Buffer, what: string): Tlv[] {
  const seq = readTlv(value, 0);
  if (seq.tag !== SEQUENCE || seq.end !== value.length) throw new DerError(`the ${what} extension is not a single SEQUENCE`);
  return childrenOf(value, seq);
}

/** Context-specific tag number `n`, primitive or constructed (as @sigstore/core's isContextSpecific). */
function isContextSpecific(tag: number, n: number): boolean {
  return (tag & 0xc0) === 0x80 && (tag & 0x1f) === n;
}

const SUBJECT_ALT_NAME = oidKey('2.5.29.17');
const AUTHORITY_KEY_ID = oidKey('2.5.29.35');
const SCT_LIST = oidKey('1.3.6.1.4.1.11129.2.4.2');

/**
 * The first URI and the first rfc822Name of the SubjectAltName extension, as 'ascii' text (as
 * @sigstore/core decodes them); undefined without the extension. Throws DerError when it is not
 * a SEQUENCE of GeneralNames.
 */
export function subjectAltNames(fields: CertificateFields): { uri?: string; rfc822Name?: string } | undefined {
  const value = fields.extensions.get(SUBJECT_ALT_NAME);
  if (!value) return undefined;
  const names = sequenceIn(value, 'SubjectAltName');
  const find = (n: number) => {
    const name = names.find((gn) => isContextSpecific(gn.tag, n));
    return name && value.toString('ascii', name.contentStart, name.end);
  };
  return { uri: find(6), rfc822Name: find(1) };
}

/** The keyIdentifier of the AuthorityKeyIdentifier extension, if any. Throws DerError when malformed. */
export function authorityKeyIdentifier(fields: CertificateFields): Buffer | undefined {
  const value = fields.extensions.get(AUTHORITY_KEY_ID);
  if (!value) return undefined;
  const id = sequenceIn(value, 'AuthorityKeyIdentifier').find((el) => isContextSpecific(el.tag, 0));
  return id && value.subarray(id.contentStart, id.end);
}

/** One RFC 6962 SignedCertificateTimestamp (section 3.2), its fields as the bytes that were signed. */
export interface EmbeddedSct {
  version: number;
  logID: Buffer;
  /** 8 bytes, milliseconds since the epoch (uint64) */
  timestamp: Buffer;
  extensions: Buffer;
  hashAlgorithm: number;
  signatureAlgorithm: number;
  signature: Buffer;
}

/**
 * The SCTs of the embedded SignedCertificateTimestampList extension (RFC 6962 section 3.3), an
 * OCTET STRING holding the TLS-encoded list: [] without the extension. Throws when the list or an
 * SCT in it does not fill its length exactly.
 */
export function embeddedScts(fields: CertificateFields): EmbeddedSct[] {
  const value = fields.extensions.get(SCT_LIST);
  if (!value) return [];
  const inner = readTlv(value, 0);
  if (inner.tag !== OCTET_STRING || inner.end !== value.length) throw new DerError('the SCT extension is not a single OCTET STRING');
  const list = value.subarray(inner.contentStart, inner.end);
  const reader = new TlsReader(list);
  const end = reader.uint16() + 2;
  if (end !== list.length) throw new DerError('the SCT list length does not match its bytes');
  const scts: EmbeddedSct[] = [];
  while (reader.at < end) {
    const sct = new TlsReader(reader.block(reader.uint16()));
    scts.push({
      version: sct.uint8(),
      logID: sct.block(32),
      timestamp: sct.block(8),
      extensions: sct.block(sct.uint16()),
      hashAlgorithm: sct.uint8(),
      signatureAlgorithm: sct.uint8(),
      signature: sct.block(sct.uint16()),
    });
    if (!sct.done()) throw new DerError('an SCT does not fill its length');
  }
  return scts;
}

/** The SCT's time (its uint64 timestamp read as @sigstore/core reads it). */
export function sctTime(sct: EmbeddedSct): Date {
  return new Date(Number(sct.timestamp.readBigInt64BE()));
}

/** TLS hash algorithm numbers (RFC 5246 section 7.4.1.4.1), named as @sigstore/core names them. */
const SCT_HASHES = ['none', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

export function sctHashAlgorithm(sct: EmbeddedSct): string {
  return SCT_HASHES[sct.hashAlgorithm] ?? 'unknown';
}

/** The digitally-signed struct of an SCT over a precertificate entry (RFC 6962 section 3.2). */
export function sctSignedData(sct: EmbeddedSct, preCert: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + 1 + 8 + 2 + preCert.length + 2 + sct.extensions.length);
  let p = out.writeUInt8(sct.version, 0);
  p = out.writeUInt8(0, p); // signature_type = certificate_timestamp
  p += sct.timestamp.copy(out, p);
  p = out.writeUInt16BE(1, p); // entry_type = precert_entry
  p += preCert.copy(out, p);
  p = out.writeUInt16BE(sct.extensions.length, p);
  sct.extensions.copy(out, p);
  return out;
}

class TlsReader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  uint8(): number {
    return this.block(1)[0];
  }
  uint16(): number {
    return this.block(2).readUInt16BE(0);
  }
  block(length: number): Buffer {
    if (this.at + length > this.buf.length) throw new DerError('SCT data is truncated');
    const out = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
  done(): boolean {
    return this.at === this.buf.length;
  }
}
