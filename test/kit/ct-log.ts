import { createHash, sign } from 'node:crypto';

import { octetString } from './der';
import { KitKey } from './transparency-log';

// A CT log that only issues SCTs (RFC 6962 section 3.2) for precertificates.
// Fulcio embeds one in every leaf; sigstore clients require it (ctlogThreshold).

export class CtLog {
  constructor(
    readonly key: KitKey,
    readonly baseUrl = 'https://ctfe.kit.test/test',
  ) {}

  /**
   * The TLS-encoded SignedCertificateTimestamp over a precert entry:
   * the issuer key hash plus the TBS without the SCT extension.
   */
  signPrecert(issuerSpki: Buffer, precertTbs: Buffer, timestampMs: number): Buffer {
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(timestampMs));
    const tbsLen = Buffer.alloc(3);
    tbsLen.writeUIntBE(precertTbs.length, 0, 3);
    const signed = Buffer.concat([
      Buffer.from([0x00, 0x00]), // v1, certificate_timestamp
      timestamp,
      Buffer.from([0x00, 0x01]), // precert_entry
      createHash('sha256').update(issuerSpki).digest(),
      tbsLen,
      precertTbs,
      Buffer.from([0x00, 0x00]), // no extensions
    ]);
    const sig = sign('sha256', signed, this.key.privateKey);
    const sigLen = Buffer.alloc(2);
    sigLen.writeUInt16BE(sig.length);
    return Buffer.concat([
      Buffer.from([0x00]),
      this.key.keyId,
      timestamp,
      Buffer.from([0x00, 0x00]),
      Buffer.from([0x04, 0x03]), // sha256, ecdsa
      sigLen,
      sig,
    ]);
  }
}

/** SignedCertificateTimestampList as the X.509 extension value wants it: an OCTET STRING around a TLS list. */
export function sctListValue(scts: Buffer[]): Buffer {
  const items = scts.map((s) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(s.length);
    return Buffer.concat([len, s]);
  });
  const body = Buffer.concat(items);
  const total = Buffer.alloc(2);
  total.writeUInt16BE(body.length);
  const list = Buffer.concat([total, body]);
  // extnValue already is an OCTET STRING; RFC 6962 wraps the list in one more.
  return octetString(list);
}
