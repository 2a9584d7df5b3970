import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Signer, Verifier, VerificationError, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

import { canonicalize } from './canonical-json';
import { inclusionProof, leafHash, rootHash } from './merkle-tree';
import {
  BundleJson,
  BundleVersion,
  GENERIC_GENERATOR_V2_1_0,
  SigningKit,
  TrustedRootJson,
  inTotoStatement,
  simpleSigningPayload,
} from './signing-kit';

// Proves the kit's output is what real Sigstore verifiers accept (and reject),
// so that provwatch's own tests can trust it as a stand-in for public-good Sigstore.

function verifyBundle(root: TrustedRootJson, bundle: BundleJson, artifact?: Buffer): Signer {
  const tm = toTrustMaterial(TrustedRoot.fromJSON(root));
  const entity = toSignedEntity(bundleFromJSON(bundle), artifact);
  return new Verifier(tm, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(entity);
}

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const VERSIONS: BundleVersion[] = ['0.1', '0.2', '0.3'];
const artifact = Buffer.from('checksums.txt content\n');
const statement = inTotoStatement(
  [{ name: 'pbs-exporter_linux_amd64', sha256: createHash('sha256').update('binary').digest('hex') }],
  'https://slsa.dev/provenance/v0.2',
  { builder: { id: GENERIC_GENERATOR_V2_1_0 } },
);

let kit: SigningKit;
before(async () => {
  kit = await SigningKit.create();
});

test('the trust root loads into sigstore-js trust material', () => {
  const root = kit.trustedRoot();
  const tm = toTrustMaterial(TrustedRoot.fromJSON(root));
  assert.equal(tm.certificateAuthorities[0].certChain.length, 2);
  assert.equal(tm.tlogs[0].logID.toString('base64'), root.tlogs[0].logId.keyId);
  assert.equal(tm.ctlogs.length, 1);
});

describe('message signature bundles (hashedrekord/0.0.1)', () => {
  for (const version of VERSIONS) {
    test(`v${version} verifies`, async () => {
      const signed = await kit.signBlob(artifact);
      const bundle = signed.bundle(version);
      assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, 'hashedrekord');
      const signer = verifyBundle(kit.trustedRoot(), bundle, artifact);
      assert.equal(
        signer.identity?.subjectAlternativeName,
        'https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v0.8.0',
      );
      assert.equal(signer.identity?.extensions?.issuer, 'https://token.actions.githubusercontent.com');
    });
  }

  test('an e-mail identity verifies', async () => {
    const signed = await kit.signBlob(artifact, { email: 'dev@example.com', issuer: 'https://accounts.example.com' });
    const signer = verifyBundle(kit.trustedRoot(), signed.bundle('0.3'), artifact);
    assert.equal(signer.identity?.subjectAlternativeName, 'dev@example.com');
    assert.equal(signer.identity?.extensions?.issuer, 'https://accounts.example.com');
  });
});

describe('DSSE bundles', () => {
  for (const tlogKind of ['dsse/0.0.1', 'intoto/0.0.2'] as const) {
    for (const version of VERSIONS) {
      test(`v${version} with ${tlogKind} verifies`, async () => {
        const signed = await kit.signDsse(statement, undefined, { tlogKind, workflowUri: GENERIC_GENERATOR_V2_1_0 });
        const signer = verifyBundle(kit.trustedRoot(), signed.bundle(version));
        assert.equal(signer.identity?.subjectAlternativeName, GENERIC_GENERATOR_V2_1_0);
      });
    }
  }
});

describe('rejections', () => {
  test('a tampered message signature', async () => {
    const bundle = (await kit.signBlob(artifact)).bundle('0.3');
    const sig = Buffer.from(bundle.messageSignature!.signature, 'base64');
    sig[sig.length - 1] ^= 1;
    bundle.messageSignature!.signature = sig.toString('base64');
    // the log entry no longer matches the signature, which sigstore-js checks before the signature itself
    rejects(() => verifyBundle(kit.trustedRoot(), bundle, artifact), 'TLOG_BODY_ERROR');
  });

  test('a signature over other bytes', async () => {
    const bundle = (await kit.signBlob(artifact)).bundle('0.3');
    rejects(() => verifyBundle(kit.trustedRoot(), bundle, Buffer.from('other')), 'SIGNATURE_ERROR');
  });

  test('a tampered DSSE signature', async () => {
    const bundle = (await kit.signDsse(statement)).bundle('0.3');
    const sig = Buffer.from(bundle.dsseEnvelope!.signatures[0].sig, 'base64');
    sig[10] ^= 1;
    bundle.dsseEnvelope!.signatures[0].sig = sig.toString('base64');
    rejects(() => verifyBundle(kit.trustedRoot(), bundle), 'TLOG_BODY_ERROR');
  });

  test('a tampered signed entry timestamp', async () => {
    const bundle = (await kit.signBlob(artifact)).bundle('0.1');
    const entry = bundle.verificationMaterial.tlogEntries[0];
    entry.integratedTime = String(Number(entry.integratedTime) + 1);
    rejects(() => verifyBundle(kit.trustedRoot(), bundle, artifact), 'TLOG_INCLUSION_PROMISE_ERROR');
  });

  test('a wrong inclusion proof', async () => {
    const bundle = (await kit.signBlob(artifact)).bundle('0.3');
    const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof!;
    proof.hashes[0] = Buffer.alloc(32).toString('base64');
    rejects(() => verifyBundle(kit.trustedRoot(), bundle, artifact), 'TLOG_INCLUSION_PROOF_ERROR');
  });

  test('another trust root', async () => {
    const other = await SigningKit.create();
    const bundle = (await kit.signBlob(artifact)).bundle('0.3');
    rejects(() => verifyBundle(other.trustedRoot(), bundle, artifact), 'CERTIFICATE_ERROR');
  });

  test('a certificate without SCT', async () => {
    const bundle = (await kit.signBlob(artifact, { sct: false })).bundle('0.3');
    rejects(() => verifyBundle(kit.trustedRoot(), bundle, artifact), 'CERTIFICATE_ERROR');
  });

  test('a certificate from a CA outside the trust root', async () => {
    const bundle = (await kit.signDsse(statement, undefined, { foreignCa: true })).bundle('0.3');
    rejects(() => verifyBundle(kit.trustedRoot(), bundle), 'CERTIFICATE_ERROR');
  });

  test('a certificate expired when the log saw the signature', async () => {
    const notBefore = new Date(kit.now.getTime() - 3_600_000);
    const signed = await kit.signBlob(artifact, { notBefore, notAfter: new Date(notBefore.getTime() + 600_000) });
    rejects(() => verifyBundle(kit.trustedRoot(), signed.bundle('0.3'), artifact), 'CERTIFICATE_ERROR');
  });
});

describe('Fulcio certificate', () => {
  test('carries the GitHub extensions as DER UTF8Strings and the v1 issuer raw', async () => {
    const signed = await kit.signBlob(artifact, { github: { ref: 'refs/tags/v0.9.1' } });
    const signer = verifyBundle(kit.trustedRoot(), signed.bundle('0.3'), artifact);
    const oids = new Map((signer.identity?.oids ?? []).map((o) => [o.oid!.id.join('.'), Buffer.from(o.value)]));
    assert.equal(oids.get('1.3.6.1.4.1.57264.1.1')?.toString(), 'https://token.actions.githubusercontent.com');
    const utf8 = (id: number) => {
      const v = oids.get(`1.3.6.1.4.1.57264.1.${id}`);
      assert.ok(v, `extension .${id} missing`);
      assert.equal(v[0], 0x0c, `extension .${id} is not a UTF8String`);
      return v.subarray(2).toString();
    };
    for (let id = 8; id <= 22; id++) utf8(id);
    assert.equal(utf8(14), 'refs/tags/v0.9.1');
    assert.equal(utf8(12), 'https://github.com/natrontech/pbs-exporter');
    assert.ok(oids.has('1.3.6.1.4.1.11129.2.4.2'));
  });
});

describe('legacy formats', () => {
  test('cosign sign-blob .sig/.pem verify against the certificate and match the Rekor API entry', async () => {
    const signed = await kit.signBlob(artifact);
    const pem = Buffer.from(signed.cosignPem, 'base64').toString();
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
    const key = createPublicKey(pem);
    assert.ok(cryptoVerify('sha256', artifact, key, Buffer.from(signed.cosignSig, 'base64')));

    // A Rekor client turns the API entry into a bundle: hashes and root come hex-encoded.
    const [[entryId, e]] = Object.entries(signed.rekorApiEntry());
    assert.equal(entryId.length, 80);
    const body = JSON.parse(Buffer.from(e.body, 'base64').toString());
    assert.equal(body.spec.data.hash.value, createHash('sha256').update(artifact).digest('hex'));
    const hexToB64 = (h: string) => Buffer.from(h, 'hex').toString('base64');
    const bundle: BundleJson = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: signed.certificate.der.toString('base64') }] },
        tlogEntries: [
          {
            logIndex: String(e.logIndex),
            logId: { keyId: hexToB64(e.logID) },
            kindVersion: { kind: body.kind, version: body.apiVersion },
            integratedTime: String(e.integratedTime),
            inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
            inclusionProof: {
              logIndex: String(e.verification.inclusionProof.logIndex),
              rootHash: hexToB64(e.verification.inclusionProof.rootHash),
              treeSize: String(e.verification.inclusionProof.treeSize),
              hashes: e.verification.inclusionProof.hashes.map(hexToB64),
              checkpoint: { envelope: e.verification.inclusionProof.checkpoint },
            },
            canonicalizedBody: e.body,
          },
        ],
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(artifact).digest('base64') },
        signature: signed.cosignSig,
      },
    };
    verifyBundle(kit.trustedRoot(), bundle, artifact);
  });

  test('cosign OCI annotations convert into a verifying v0.1 bundle (.sig, simple signing)', async () => {
    const payload = simpleSigningPayload('ghcr.io/natrontech/pbs-exporter', `sha256:${'ab'.repeat(32)}`);
    const ann = (await kit.signBlob(payload)).ociAnnotations();
    assert.equal(ann['dev.sigstore.cosign/chain'].match(/BEGIN CERTIFICATE/g)?.length, 2);
    const bundle = annotationsToBundle(ann, {
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') },
        signature: ann['dev.cosignproject.cosign/signature'],
      },
    });
    verifyBundle(kit.trustedRoot(), bundle, payload);
  });

  test('cosign OCI annotations convert into a verifying v0.1 bundle (.att, DSSE)', async () => {
    const signed = await kit.signDsse(statement);
    const ann = signed.ociAnnotations();
    assert.equal(ann['dev.cosignproject.cosign/signature'], '');
    assert.equal(ann.predicateType, 'https://slsa.dev/provenance/v0.2');
    const layer = JSON.parse(signed.envelopeBytes.toString());
    const bundle = annotationsToBundle(ann, { dsseEnvelope: layer });
    verifyBundle(kit.trustedRoot(), bundle);
  });

  test('the legacy generator envelope and its intoto/0.0.2 Rekor entry verify together', async () => {
    const signed = await kit.signDsse(statement, undefined, { tlogKind: 'intoto/0.0.2', workflowUri: GENERIC_GENERATOR_V2_1_0 });
    const legacy = signed.legacyEnvelope();
    assert.deepEqual(Object.keys(legacy.signatures[0]), ['keyid', 'sig', 'cert']);
    const [e] = Object.values(signed.rekorApiEntry());
    const body = JSON.parse(Buffer.from(e.body, 'base64').toString());
    assert.equal(body.kind, 'intoto');
    assert.equal(body.apiVersion, '0.0.2');
    const bundle = signed.bundle('0.2');
    bundle.verificationMaterial.x509CertificateChain = {
      certificates: [{ rawBytes: pemToDer(legacy.signatures[0].cert).toString('base64') }],
    };
    bundle.dsseEnvelope = { payload: legacy.payload, payloadType: legacy.payloadType, signatures: [{ keyid: '', sig: legacy.signatures[0].sig }] };
    verifyBundle(kit.trustedRoot(), bundle);
  });

  test('intoto/0.0.1 binds the envelope bytes and payload by hash (sigstore-js does not check it)', async () => {
    const signed = await kit.signDsse(statement, undefined, { tlogKind: 'intoto/0.0.1' });
    const entry = signed.tlogEntry;
    const body = JSON.parse(entry.body.toString());
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(body.spec.content.hash.value, sha(signed.envelopeBytes));
    assert.equal(body.spec.content.payloadHash.value, sha(signed.payload));
    assert.equal(Buffer.from(body.spec.publicKey, 'base64').toString(), signed.certificate.pem);
    // SET and inclusion are sound even though the kind is unknown to sigstore-js
    const setPayload = canonicalize({
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logID: entry.logId.toString('hex'),
      logIndex: entry.logIndex,
    });
    assert.ok(cryptoVerify('sha256', Buffer.from(setPayload), kit.rekor.key.publicKey, entry.signedEntryTimestamp));
    rejects(() => verifyBundle(kit.trustedRoot(), signed.bundle('0.1')), 'TLOG_BODY_ERROR');
  });
});

test('merkle proofs agree with the RFC 6962 root for every index and size', () => {
  const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from(String(i))));
  for (let size = 1; size <= leaves.length; size++) {
    const tree = leaves.slice(0, size);
    for (let i = 0; i < size; i++) {
      let acc = tree[i];
      let idx = i;
      let last = size - 1;
      // RFC 9162 section 2.1.3.2 verification, independent of the proof builder
      for (const h of inclusionProof(i, tree)) {
        if ((idx & 1) === 1 || idx === last) {
          acc = createHash('sha256').update(Buffer.from([1])).update(h).update(acc).digest();
          while ((idx & 1) === 0 && idx !== 0) {
            idx >>= 1;
            last >>= 1;
          }
        } else {
          acc = createHash('sha256').update(Buffer.from([1])).update(acc).update(h).digest();
        }
        idx >>= 1;
        last >>= 1;
      }
      assert.ok(acc.equals(rootHash(tree)), `index ${i} of ${size}`);
    }
  }
});

function annotationsToBundle(
  ann: Record<string, string>,
  content: Pick<BundleJson, 'messageSignature' | 'dsseEnvelope'>,
): BundleJson {
  // The recipe from DESIGN.md: logID hex -> keyId bytes, kind from the body, leaf only.
  const cb = JSON.parse(ann['dev.sigstore.cosign/bundle']);
  const body = JSON.parse(Buffer.from(cb.Payload.body, 'base64').toString());
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: pemToDer(ann['dev.sigstore.cosign/certificate']).toString('base64') }] },
      tlogEntries: [
        {
          logIndex: String(cb.Payload.logIndex),
          logId: { keyId: Buffer.from(cb.Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: body.kind, version: body.apiVersion },
          integratedTime: String(cb.Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: cb.SignedEntryTimestamp },
          canonicalizedBody: cb.Payload.body,
        },
      ],
    },
    ...content,
  };
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
