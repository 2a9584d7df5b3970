import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { X509Certificate as CoreCertificate, X509SCTExtension } from '@sigstore/core';
import { signerEvidenceFromCertificate } from '@provwatch/verification';
import { DerError } from '../../libs/verification/src/sigstore/der';
import { type CertificateFields, authorityKeyIdentifier, embeddedScts, readCertificateFields, sctHashAlgorithm, sctTime, subjectAltNames } from '../../libs/verification/src/sigstore/x509-fields';
import { assembleCertificate, children, encodeTlv, extension, readTlv, slice, splitCertificate } from '../kit/der';
import { type SignOptions, SigningKit } from '../kit/signing-kit';
import { assertVerificationError } from '../support/verification-assert';
import { VECTORS_DIR } from '../support/vectors';

/**
 * x509-fields.ts reads the bundle's leaf in place of @sigstore/core's parse. It must say what
 * @sigstore/core says about every certificate both read (a certificate read two ways is a parser
 * differential), and refuse what @sigstore/core refuses.
 */

/** Every leaf certificate in the real vectors (bundles of every version, conformance cases). */
function realLeaves(): Array<{ name: string; der: Buffer }> {
  const out: Array<{ name: string; der: Buffer }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(json|jsonl|sigstore)$/.test(name)) {
        let doc: any;
        try {
          doc = JSON.parse(readFileSync(path, 'utf8'));
        } catch {
          continue;
        }
        const vm = doc?.verificationMaterial;
        const raw = vm?.certificate?.rawBytes ?? vm?.x509CertificateChain?.certificates?.[0]?.rawBytes;
        if (typeof raw === 'string') out.push({ name: path.slice(VECTORS_DIR.length + 1), der: Buffer.from(raw, 'base64') });
      }
    }
  };
  walk(VECTORS_DIR);
  return out;
}

function coreParse(der: Buffer): CoreCertificate {
  return CoreCertificate.parse(Buffer.from(der));
}

function assertSameAsCore(name: string, der: Buffer): void {
  const core = coreParse(der);
  const ours = readCertificateFields(der);
  assert.ok(ours.tbs.equals(core.tbsCertificate.toDER()), `${name}: TBS`);
  assert.ok(ours.serialNumber.equals(core.serialNumber), `${name}: serial`);
  assert.ok(ours.issuer.equals(core.issuer), `${name}: issuer`);
  assert.ok(ours.subject.equals(core.subject), `${name}: subject`);
  assert.equal(ours.notBefore.getTime(), core.notBefore.getTime(), `${name}: notBefore`);
  assert.equal(ours.notAfter.getTime(), core.notAfter.getTime(), `${name}: notAfter`);
  // every extension, first of an OID wins, value = the extnValue OCTET STRING's content
  const coreExtensions = new Map<string, Buffer>();
  for (const ext of core.extensions) {
    const key = ext.subs[0].value.toString('latin1');
    if (!coreExtensions.has(key)) coreExtensions.set(key, ext.subs[ext.subs.length - 1].value);
  }
  assert.deepEqual([...ours.extensions.keys()], [...coreExtensions.keys()], `${name}: extension OIDs`);
  for (const [key, value] of coreExtensions) assert.ok(ours.extensions.get(key as never)!.equals(value), `${name}: extension value`);
  const san = subjectAltNames(ours);
  assert.equal(san?.uri, core.extSubjectAltName?.uri, `${name}: SAN URI`);
  assert.equal(san?.rfc822Name, core.extSubjectAltName?.rfc822Name, `${name}: SAN e-mail`);
  const aki = authorityKeyIdentifier(ours);
  assert.equal(aki?.toString('hex'), core.extAuthorityKeyID?.keyIdentifier?.toString('hex'), `${name}: AKI`);
  const coreScts = core.extSCT?.signedCertificateTimestamps ?? [];
  const scts = embeddedScts(ours);
  assert.equal(scts.length, coreScts.length, `${name}: SCT count`);
  scts.forEach((sct, i) => {
    const c = coreScts[i];
    assert.deepEqual(
      [sct.version, sct.logID.toString('hex'), sct.timestamp.toString('hex'), sct.extensions.toString('hex'), sctHashAlgorithm(sct), sct.signature.toString('hex'), sctTime(sct).getTime()],
      [c.version, c.logID.toString('hex'), c.timestamp.toString('hex'), c.extensions.toString('hex'), c.algorithm, c.signature.toString('hex'), c.datetime.getTime()],
      `${name}: SCT ${i}`,
    );
  });
}

/** The certificate with TBS element `index` replaced (or removed, with no replacement); signature left as it was. */
function withTbsPart(der: Buffer, index: number, replacement?: Buffer): Buffer {
  const { tbs, sigAlg } = splitCertificate(der);
  const parts = children(tbs, readTlv(tbs)).map((p) => slice(tbs, p));
  parts.splice(index, 1, ...(replacement ? [replacement] : []));
  return assembleCertificate(encodeTlv(0x30, Buffer.concat(parts)), sigAlg, Buffer.alloc(64, 1));
}

/** The certificate with `ext` (an Extension's DER) appended to its extensions. */
function withExtension(der: Buffer, ext: Buffer): Buffer {
  const { tbs } = splitCertificate(der);
  const parts = children(tbs, readTlv(tbs));
  const exts = readTlv(tbs, parts[parts.length - 1].start);
  const list = Buffer.concat([tbs.subarray(exts.start, exts.end), ext]);
  return withTbsPart(der, parts.length - 1, encodeTlv(0xa3, encodeTlv(0x30, list)));
}

function throwsDer(fn: () => unknown, what: string): void {
  assert.throws(fn, DerError, what);
}

describe('x509-fields.ts: the leaf read once, as @sigstore/core reads it', () => {
  let kit: SigningKit;
  before(async () => {
    kit = await SigningKit.create();
  });

  test('every real leaf in the vectors: same TBS, names, validity, extensions, SAN, AKI and SCTs', () => {
    const leaves = realLeaves();
    assert.ok(leaves.length >= 20, `only ${leaves.length} real leaves found`);
    for (const { name, der } of leaves) assertSameAsCore(name, der);
  });

  test('kit leaves of every shape the kit issues (e-mail SAN, forged and missing Fulcio extensions, no SCT, old validity)', async () => {
    const shapes: SignOptions[] = [
      {},
      { email: 'dev@example.com' },
      { sct: false },
      { issuer: 'https://accounts.google.com' },
      { extensionBytes: { '8': Buffer.from('not DER'), '1': null } },
      { extensionBytes: { '9': Buffer.from([0x0c, 0x81, 0x01, 0x41]) } },
      { notBefore: new Date('1999-12-31T23:59:59Z'), notAfter: new Date('2051-01-01T00:00:00Z') },
    ];
    for (const opts of shapes) assertSameAsCore(JSON.stringify(opts), (await kit.signBlob(Buffer.from('x'), opts)).certificate.der);
  });

  test('a repeated extension: the first one is read, as @sigstore/core reads it', async () => {
    const der = (await kit.signBlob(Buffer.from('x'))).certificate.der;
    const second = extension('2.5.29.17', encodeTlv(0x30, encodeTlv(0x86, Buffer.from('https://evil.example/'))));
    const twice = withExtension(der, second);
    assertSameAsCore('repeated SAN', twice);
    assert.notEqual(subjectAltNames(readCertificateFields(twice))?.uri, 'https://evil.example/');
  });

  test('refused like @sigstore/core refuses: trailing bytes, truncation, bad DER inside a name', async () => {
    const der = (await kit.signBlob(Buffer.from('x'))).certificate.der;
    const badName = withTbsPart(der, 3, encodeTlv(0x30, encodeTlv(0x31, Buffer.from([0x30, 0x05, 0x06, 0x01]))));
    for (const [what, bytes] of [
      ['trailing byte', Buffer.concat([der, Buffer.from([0])])],
      ['truncated', der.subarray(0, der.length - 1)],
      ['issuer name with a truncated element', badName],
    ] as const) {
      assert.throws(() => coreParse(bytes), Error, `@sigstore/core accepts: ${what}`);
      throwsDer(() => readCertificateFields(bytes), what);
    }
  });

  test('refused beyond @sigstore/core: not v3, fields out of place, non-minimal OIDs, a malformed critical flag', async () => {
    const der = (await kit.signBlob(Buffer.from('x'))).certificate.der;
    throwsDer(() => readCertificateFields(withTbsPart(der, 0)), 'no version field');
    throwsDer(() => readCertificateFields(withTbsPart(der, 0, encodeTlv(0xa0, Buffer.from([0x02, 0x01, 0x01])))), 'v2');
    const { tbs } = splitCertificate(der);
    const parts = children(tbs, readTlv(tbs));
    throwsDer(() => readCertificateFields(withTbsPart(der, parts.length, Buffer.from([0x05, 0x00]))), 'a field after the extensions');
    // 2.5.29.17 with its last arc written as 0x80 0x11: the same number, two spellings
    const lookalike = encodeTlv(0x30, Buffer.concat([Buffer.from([0x06, 0x04, 0x55, 0x1d, 0x80, 0x11]), encodeTlv(0x04, encodeTlv(0x30, encodeTlv(0x86, Buffer.from('x'))))]));
    throwsDer(() => readCertificateFields(withExtension(der, lookalike)), 'non-minimal OID');
    const badCritical = encodeTlv(0x30, Buffer.concat([Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]), Buffer.from([0x01, 0x02, 0xff, 0xff]), encodeTlv(0x04, Buffer.from([0x03, 0x02, 0x07, 0x80]))]));
    throwsDer(() => readCertificateFields(withExtension(der, badCritical)), 'a two-byte BOOLEAN');
  });

  test('an SCT list or SAN that is not what it says fails the certificate, not the process', async () => {
    const der = (await kit.signBlob(Buffer.from('x'), { sct: false })).certificate.der;
    const sctList = (list: Buffer) => extension('1.3.6.1.4.1.11129.2.4.2', encodeTlv(0x04, list));
    const genuineList = readCertificateFields((await kit.signBlob(Buffer.from('x'))).certificate.der).extensions;
    const listBytes = [...genuineList.entries()].find(([k]) => k === Buffer.from('2b06010401d679020402', 'hex').toString('latin1'))![1];
    const inner = listBytes.subarray(readTlv(listBytes).start);
    assert.equal(embeddedScts(readCertificateFields(withExtension(der, sctList(inner)))).length, 1);
    assert.throws(() => embeddedScts(readCertificateFields(withExtension(der, sctList(Buffer.concat([inner, Buffer.from([0])]))))), DerError, 'a byte after the list');
    assert.throws(() => embeddedScts(readCertificateFields(withExtension(der, sctList(inner.subarray(0, inner.length - 1))))), DerError, 'truncated');

    // the only extension: a SAN whose value is an OCTET STRING, not a list of names
    const { tbs } = splitCertificate(der);
    const last = children(tbs, readTlv(tbs)).length - 1;
    const badSan: CertificateFields = readCertificateFields(withTbsPart(der, last, encodeTlv(0xa3, encodeTlv(0x30, extension('2.5.29.17', Buffer.from([0x04, 0x01, 0x78]))))));
    assertVerificationError(() => signerEvidenceFromCertificate(badSan), 'certificate-invalid', /SubjectAltName/);
  });

  test("@sigstore/core's SCT extension reader agrees on the kit's SCT (RFC 6962 list inside an OCTET STRING)", async () => {
    const der = (await kit.signBlob(Buffer.from('x'))).certificate.der;
    const core = coreParse(der);
    const ext = core.extensions.find((e) => e.subs[0].toOID() === '1.3.6.1.4.1.11129.2.4.2')!;
    assert.equal(new X509SCTExtension(ext).signedCertificateTimestamps.length, embeddedScts(readCertificateFields(der)).length);
  });
});
