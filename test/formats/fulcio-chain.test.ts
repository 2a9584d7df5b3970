import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { EXTENSION_OID_SCT, X509Certificate as CoreCertificate } from '@sigstore/core';
import { SigstoreTrustRoot, artifactFromBytes, exactly, verifyBundle } from '@provwatch/verification';
import { DerError, oidValueBytes, readTlv, tbsCertificateBytes, tbsWithoutExtension } from '../../libs/verification/src/sigstore/der';
import type { CaCertificate } from '../../libs/verification/src/sigstore/fulcio-chain';
import { readCertificateFields } from '../../libs/verification/src/sigstore/x509-fields';
import { SigningKit } from '../kit/signing-kit';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';
import { assertVerificationError } from '../support/verification-assert';

/**
 * fulcio-chain.ts: the trust root's side of a Fulcio chain is verified once per trust-root
 * instance; everything that depends on the bundle (the leaf's signature, every validity window at
 * the verified time, the SCTs) is checked every time. These tests warm the cache with a genuine
 * bundle first and then show that a cached chain does not carry anything through.
 */
const GENERATOR = vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl');
const GENERATOR_IDENTITY = {
  subject: exactly('https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0'),
  issuer: exactly('https://token.actions.githubusercontent.com'),
};

function genuine(): any {
  return JSON.parse(readFileSync(GENERATOR, 'utf8'));
}

const rejectsWith = assertVerificationError;

describe('Fulcio chains with the CA side cached per trust root', () => {
  test("the leaf's signature is checked every time: a tampered signature fails after the same chain verified", () => {
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    verifyBundle(genuine(), { trustRoot, identity: GENERATOR_IDENTITY }); // warms the cache
    const bundle = genuine();
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    der[der.length - 1] ^= 0x01; // last byte of the ECDSA signature's s: still DER, no longer valid
    bundle.verificationMaterial.certificate.rawBytes = der.toString('base64');
    rejectsWith(() => verifyBundle(bundle, { trustRoot, identity: GENERATOR_IDENTITY }), 'certificate-chain-invalid', /not signed by/);
    verifyBundle(genuine(), { trustRoot, identity: GENERATOR_IDENTITY });
  });

  test('the verified time still decides after caching: a log time outside the leaf validity fails', () => {
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    const leaf = leafOf(genuine());
    const fulcio = trustRoot.fulcio;
    const parsed = fulcio.leaf(readCertificateFields(Buffer.from(genuine().verificationMaterial.certificate.rawBytes, 'base64')));
    const signedBy = new Map<CaCertificate, boolean>();
    fulcio.verifyAt(parsed, new Date(leaf.notBefore.getTime() + 1000), signedBy);
    rejectsWith(() => fulcio.verifyAt(parsed, new Date(leaf.notAfter.getTime() + 1000), signedBy), 'certificate-chain-invalid', /leaf certificate .* is not valid at/);
    rejectsWith(() => fulcio.verifyAt(parsed, new Date(leaf.notBefore.getTime() - 1000), signedBy), 'certificate-chain-invalid', /leaf certificate .* is not valid at/);
  });

  test('a refreshed trust root (a new instance) has its own cache', () => {
    const bytes = readFileSync(PUBLIC_GOOD_TRUSTED_ROOT);
    const a = SigstoreTrustRoot.fromJSON(bytes);
    const b = SigstoreTrustRoot.fromJSON(bytes);
    assert.equal(a.fulcio, a.fulcio);
    assert.notEqual(a.fulcio, b.fulcio);
  });

  describe('kit CA (intermediate and root valid for ten years)', () => {
    let kit: SigningKit;
    before(async () => {
      kit = await SigningKit.create();
    });

    test("the CA certificates' own validity is checked at every time, not cached: a leaf outliving its intermediate fails", async () => {
      const now = kit.now.getTime();
      const year = 365 * 86_400_000;
      const signing = await kit.signBlob(Buffer.from('x'), { notBefore: new Date(now - 2 * year), notAfter: new Date(now + 20 * year) });
      const bundle: any = signing.bundle('0.3');
      const trustRoot = SigstoreTrustRoot.fromJSON(JSON.stringify(kit.trustedRoot()));
      const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
      const leaf = trustRoot.fulcio.leaf(readCertificateFields(der));
      const signedBy = new Map<CaCertificate, boolean>();
      trustRoot.fulcio.verifyAt(leaf, kit.now, signedBy); // the path is now cached
      rejectsWith(() => trustRoot.fulcio.verifyAt(leaf, new Date(now + 11 * year), signedBy), 'certificate-chain-invalid', /certificate authority certificate .* is not valid at/);
      // before the trust root's CA window (it starts a year before now): no CA to chain to
      rejectsWith(() => trustRoot.fulcio.verifyAt(leaf, new Date(now - 1.5 * year), signedBy), 'certificate-chain-invalid', /no certificate authority of the trust root is valid/);
    });

    test('SCTs are still required per bundle once the chain is cached', async () => {
      const trustRoot = SigstoreTrustRoot.fromJSON(JSON.stringify(kit.trustedRoot()));
      const identity = { subject: { regexp: /.*/ }, issuer: { regexp: /.*/ } };
      const artifact = artifactFromBytes(Buffer.from('y'));
      verifyBundle((await kit.signBlob(Buffer.from('y'))).bundle('0.3'), { trustRoot, identity, artifact });
      const noSct = (await kit.signBlob(Buffer.from('y'), { sct: false })).bundle('0.3');
      rejectsWith(() => verifyBundle(noSct, { trustRoot, identity, artifact }), 'sct-invalid', /expected 1 SCTs, got 0/);
    });
  });
});

describe('der.ts: the signed bytes, sliced, never re-encoded', () => {
  test("the precertificate TBS equals @sigstore/core's (remove the SCT extension, re-encode) for a real Fulcio leaf", () => {
    const der = Buffer.from(genuine().verificationMaterial.certificate.rawBytes, 'base64');
    const ours = tbsWithoutExtension(tbsCertificateBytes(der), oidValueBytes(EXTENSION_OID_SCT));
    const clone = CoreCertificate.parse(der).clone();
    const i = clone.extensions.findIndex((e) => e.subs[0].toOID() === EXTENSION_OID_SCT);
    clone.extensions.splice(i, 1);
    assert.ok(ours);
    assert.ok(ours.equals(clone.tbsCertificate.toDER()));
    assert.ok(tbsCertificateBytes(der).equals(CoreCertificate.parse(der).tbsCertificate.toDER()), 'the TBS slice is the TBS');
  });

  test('strict DER: non-minimal and indefinite lengths, trailing bytes and truncation are refused', () => {
    assert.throws(() => readTlv(Buffer.from([0x04, 0x81, 0x01, 0x00]), 0), DerError); // 1 written in long form
    assert.throws(() => readTlv(Buffer.from([0x04, 0x82, 0x00, 0x80, ...Buffer.alloc(128)]), 0), DerError); // leading zero octet
    assert.throws(() => readTlv(Buffer.from([0x30, 0x80, 0x00, 0x00]), 0), DerError);
    assert.throws(() => readTlv(Buffer.from([0x04, 0x05, 0x00]), 0), DerError);
    const der = Buffer.from(genuine().verificationMaterial.certificate.rawBytes, 'base64');
    assert.throws(() => tbsCertificateBytes(Buffer.concat([der, Buffer.from([0])])), DerError);
    assert.equal(readTlv(Buffer.from([0x04, 0x81, 0x80, ...Buffer.alloc(128)]), 0).end, 131);
  });

  test('OIDs encode as X.690 says', () => {
    assert.equal(oidValueBytes(EXTENSION_OID_SCT).toString('hex'), '2b06010401d679020402');
    assert.equal(oidValueBytes('2.5.29.19').toString('hex'), '551d13');
  });
});

function leafOf(bundle: any): CoreCertificate {
  return CoreCertificate.parse(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
}
