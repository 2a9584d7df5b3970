import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  SigstoreTrustRoot,
  VerificationError,
  artifactFromBytes,
  digestAlgorithmsForBundle,
  exactly,
  verifyBlobBundle,
  verifyBundle,
  verifyLegacyBlob,
} from '@provwatch/verification';
import { RekorClient } from '../../libs/sources/src/rekor/rekor.client';
import { SigningKit } from '../kit/signing-kit';
import { RekorDouble } from '../support/rekor-double';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';
import { KIT_IDENTITY, KIT_ISSUER } from './format-fixtures';
import { assertVerificationError } from '../support/verification-assert';

/**
 * The Sigstore/transparency-log layer's own rules, each with the forged input that tries to get
 * past it: Rekor v2 log-key validity and log index, hostile Rekor answers, and certificate chains
 * that repeat the trust root's own CA.
 */
const CONFORMANCE = vector('sigstore-conformance', 'bundle-verify');
const BEACON = exactly(
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
);
const BEACON_POLICY = { subject: BEACON, issuer: exactly('https://token.actions.githubusercontent.com') };
const KIT_POLICY = { subject: exactly(KIT_IDENTITY), issuer: exactly(KIT_ISSUER) };
const A_TXT = artifactFromBytes(readFileSync(`${CONFORMANCE}/a.txt`));

function conformance(name: string): { bundle: any; root: any } {
  return {
    bundle: JSON.parse(readFileSync(`${CONFORMANCE}/${name}/bundle.sigstore.json`, 'utf8')),
    root: JSON.parse(readFileSync(`${CONFORMANCE}/${name}/trusted_root.json`, 'utf8')),
  };
}

const rejectsWith = assertVerificationError;

describe('Rekor v2 (checkpoint-only) entries: the log key must be valid when the entry was logged', () => {
  const { bundle, root } = conformance('rekor2-happy-path');
  const signingTime = () => verifyBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(root), identity: BEACON_POLICY, artifact: A_TXT }).timestamps[0];

  test('the real v2 bundle verifies, with its RFC 3161 time as the only time', () => {
    const verified = verifyBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(root), identity: BEACON_POLICY, artifact: A_TXT });
    assert.equal(verified.timestamps.length, 1);
    assert.equal(verified.tlog[0].integratedTime, undefined, 'a v2 entry has no signed integrated time to report');
  });

  test('a log key whose validity starts after the verified timestamp is rejected', () => {
    const t = new Date(signingTime());
    const late = structuredClone(root);
    for (const log of late.tlogs) log.publicKey.validFor = { start: new Date(t.getTime() + 1000).toISOString() };
    rejectsWith(() => verifyBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(late), identity: BEACON_POLICY, artifact: A_TXT }), 'tlog-inclusion-invalid', /not valid at the verified timestamp/);
  });

  test('a log key whose validity ended before the verified timestamp is rejected', () => {
    const t = new Date(signingTime());
    const retired = structuredClone(root);
    for (const log of retired.tlogs) log.publicKey.validFor = { start: '2020-01-01T00:00:00Z', end: new Date(t.getTime() - 1000).toISOString() };
    rejectsWith(() => verifyBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(retired), identity: BEACON_POLICY, artifact: A_TXT }), 'tlog-inclusion-invalid');
  });

  test('a log key valid exactly at the verified timestamp (inclusive end) verifies', () => {
    const t = signingTime();
    const edge = structuredClone(root);
    for (const log of edge.tlogs) log.publicKey.validFor = { start: '2020-01-01T00:00:00Z', end: t };
    verifyBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(edge), identity: BEACON_POLICY, artifact: A_TXT });
  });

  test('without a verified timestamp (threshold 0) a v2 entry has no authenticated time: rejected', () => {
    const noTsa = structuredClone(bundle);
    noTsa.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
    rejectsWith(
      () => verifyBundle(noTsa, { trustRoot: SigstoreTrustRoot.fromJSON(root), identity: BEACON_POLICY, artifact: A_TXT, thresholds: { timestampThreshold: 0 } }),
      'tlog-entry-invalid',
      /not authenticated/,
    );
  });
});

describe('trust root: a validity window that ends before it starts is refused at load', () => {
  test('tlog, ctlog and CA windows ending before their start are trust-root-invalid, naming the field', async () => {
    const kit = await SigningKit.create();
    for (const [field, set] of [
      ['tlogs[0].publicKey.validFor.end', (r: any) => (r.tlogs[0].publicKey.validFor = { start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' })],
      ['ctlogs[0].publicKey.validFor.end', (r: any) => (r.ctlogs[0].publicKey.validFor = { start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' })],
      ['certificateAuthorities[0].validFor.end', (r: any) => (r.certificateAuthorities[0].validFor = { start: '2025-01-02T00:00:00Z', end: 'never' })],
    ] as const) {
      const root: any = kit.trustedRoot();
      set(root);
      rejectsWith(() => SigstoreTrustRoot.fromJSON(root), 'trust-root-invalid', new RegExp(field.replace(/[[\].]/g, '\\$&')));
    }
  });

  test('a window with an end after its start, or with no end, loads', async () => {
    const kit = await SigningKit.create();
    const root: any = kit.trustedRoot();
    root.tlogs[0].publicKey.validFor = { start: '2025-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z' };
    SigstoreTrustRoot.fromJSON(root);
    SigstoreTrustRoot.fromJSON(kit.trustedRoot());
  });
});

describe('Rekor v2 entries: the log index reported is the one the inclusion proof proves', () => {
  const { bundle, root } = conformance('rekor2-happy-path');
  const trustRoot = SigstoreTrustRoot.fromJSON(root);

  test('the reported index is inclusionProof.logIndex', () => {
    const verified = verifyBundle(bundle, { trustRoot, identity: BEACON_POLICY, artifact: A_TXT });
    assert.equal(verified.tlog[0].logIndex, String(bundle.verificationMaterial.tlogEntries[0].inclusionProof.logIndex));
  });

  test('a top-level logIndex that differs from the proven one is tlog-entry-invalid', () => {
    const forged = structuredClone(bundle);
    const entry = forged.verificationMaterial.tlogEntries[0];
    entry.logIndex = String(Number(entry.inclusionProof.logIndex) + 1000);
    rejectsWith(() => verifyBundle(forged, { trustRoot, identity: BEACON_POLICY, artifact: A_TXT }), 'tlog-entry-invalid', /differs from the index its inclusion proof proves/);
  });

  test('moving both indexes together breaks the inclusion proof', () => {
    const forged = structuredClone(bundle);
    const entry = forged.verificationMaterial.tlogEntries[0];
    entry.logIndex = entry.inclusionProof.logIndex = String(Number(entry.inclusionProof.logIndex) + 1);
    rejectsWith(() => verifyBundle(forged, { trustRoot, identity: BEACON_POLICY, artifact: A_TXT }), 'tlog-inclusion-invalid');
  });
});

describe('hostile Rekor answers: a malformed inclusion proof is tlog-entry-invalid naming the field', () => {
  const ARTIFACT = Buffer.from('hostile-log-artifact\n');
  const DIGEST = createHash('sha256').update(ARTIFACT).digest('hex');
  let kit: SigningKit;
  let rekor: RekorDouble;
  let trustRoot: SigstoreTrustRoot;

  before(async () => {
    kit = await SigningKit.create();
    rekor = await RekorDouble.start();
    trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
  });
  after(() => rekor.close());

  const proofWith = (change: (proof: any) => void) => (entry: any) => {
    entry.verification.inclusionProof ??= { logIndex: 0, rootHash: '00'.repeat(32), treeSize: 1, hashes: [] };
    change(entry.verification.inclusionProof);
    return entry;
  };
  const cases: Array<[string, (entry: any) => unknown, RegExp]> = [
    ['hashes is a string', proofWith((p) => (p.hashes = 'abcd')), /inclusionProof\.hashes/],
    ['hashes holds a number', proofWith((p) => (p.hashes = [42])), /inclusionProof\.hashes\[0\]/],
    ['hashes holds non-hex text', proofWith((p) => (p.hashes = ['zz'.repeat(32)])), /inclusionProof\.hashes\[0\]/],
    ['hashes is enormous', proofWith((p) => (p.hashes = Array.from({ length: 5000 }, () => 'ab'.repeat(32)))), /inclusionProof\.hashes/],
    ['rootHash is missing', proofWith((p) => delete p.rootHash), /inclusionProof\.rootHash/],
    ['treeSize is a string', proofWith((p) => (p.treeSize = '12')), /inclusionProof\.treeSize/],
    ['logIndex is huge', proofWith((p) => (p.logIndex = 1e300)), /inclusionProof\.logIndex/],
    ['checkpoint is an object', proofWith((p) => (p.checkpoint = { envelope: 1 })), /inclusionProof\.checkpoint/],
    ['inclusionProof is an array', (e: any) => ((e.verification.inclusionProof = []), e), /inclusionProof/],
    ['verification is a string', (e: any) => ((e.verification = 'x'), e), /verification/],
  ];

  test('the well-formed answer verifies (the double is not broken)', async () => {
    const signed = await kit.signBlob(ARTIFACT, { email: undefined });
    rekor.reset().add(signed.rekorApiEntry(), DIGEST);
    const search = await new RekorClient({ baseUrl: rekor.url }).findByArtifactDigest(DIGEST);
    const verdict = verifyLegacyBlob(
      { certificateDer: signed.certificate.der, signature: signed.signature, tlogSearch: search },
      { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY },
    );
    assert.equal(verdict.status, 'pass', verdict.message);
  });

  for (const [name, hostile, field] of cases) {
    test(`${name}: tlog-entry-invalid, not internal-error`, async () => {
      const signed = await kit.signBlob(ARTIFACT);
      rekor.reset().add(signed.rekorApiEntry(), DIGEST);
      rekor.hostileEntry = hostile;
      const search = await new RekorClient({ baseUrl: rekor.url }).findByArtifactDigest(DIGEST);
      const verdict = verifyLegacyBlob(
        { certificateDer: signed.certificate.der, signature: signed.signature, tlogSearch: search },
        { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY },
      );
      assert.equal(verdict.status, 'fail', verdict.message);
      assert.equal(verdict.code, 'tlog-entry-invalid', verdict.message);
      assert.match(verdict.message, field);
    });
  }
});

describe('certificate chains that repeat the trust root: accepted with a warning; any other extra certificate rejected', () => {
  const ARTIFACT = Buffer.from('npm-2023-style chain\n');
  let kit: SigningKit;
  let trustRoot: SigstoreTrustRoot;
  before(async () => {
    kit = await SigningKit.create();
    trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
  });

  const withChain = (bundle: any, extra: Buffer[]) => {
    bundle.verificationMaterial.x509CertificateChain.certificates.push(...extra.map((d) => ({ rawBytes: d.toString('base64') })));
    return bundle;
  };

  test('leaf + the trust root\'s intermediate + root (as 2023 npm provenance) verifies, warning chainIncludesTrustRoot', async () => {
    for (const version of ['0.1', '0.2'] as const) {
      const bundle = withChain((await kit.signBlob(ARTIFACT)).bundle(version), [kit.ca.intermediateDer, kit.ca.rootDer]);
      const verdict = verifyBlobBundle(bundle, { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
      assert.equal(verdict.status, 'pass', verdict.message);
      assert.match(String(verdict.evidence.warnings?.[0]), /^chainIncludesTrustRoot: /);
    }
  });

  test('a leaf-only chain has no warning', async () => {
    const verdict = verifyBlobBundle((await kit.signBlob(ARTIFACT)).bundle('0.1'), { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.equal(verdict.evidence.warnings, undefined);
  });

  test("a foreign CA's leaf carrying its own intermediate and root is certificate-chain-invalid", async () => {
    const bundle = withChain((await kit.signBlob(ARTIFACT, { foreignCa: true })).bundle('0.1'), [kit.foreignCa.intermediateDer, kit.foreignCa.rootDer]);
    rejectsWith(() => verifyBundle(bundle, { trustRoot, identity: KIT_POLICY, artifact: artifactFromBytes(ARTIFACT) }), 'certificate-chain-invalid', /not in the trust root/);
  });

  test("the trust root's leaf with a foreign root appended is still rejected (no extra anchor of any kind)", async () => {
    const bundle = withChain((await kit.signBlob(ARTIFACT)).bundle('0.1'), [kit.ca.intermediateDer, kit.foreignCa.rootDer]);
    rejectsWith(() => verifyBundle(bundle, { trustRoot, identity: KIT_POLICY, artifact: artifactFromBytes(ARTIFACT) }), 'certificate-chain-invalid', /certificate 2 .*self-signed root/);
  });

  test('a foreign leaf with the trust root\'s own chain appended is rejected: the leaf does not lead to the trust root', async () => {
    const bundle = withChain((await kit.signBlob(ARTIFACT, { foreignCa: true })).bundle('0.1'), [kit.ca.intermediateDer, kit.ca.rootDer]);
    rejectsWith(() => verifyBundle(bundle, { trustRoot, identity: KIT_POLICY, artifact: artifactFromBytes(ARTIFACT) }), 'certificate-chain-invalid');
  });

  test('a garbage certificate after the leaf is certificate-invalid naming its index', async () => {
    const bundle = withChain((await kit.signBlob(ARTIFACT)).bundle('0.1'), [Buffer.from('not a certificate')]);
    rejectsWith(() => verifyBundle(bundle, { trustRoot, identity: KIT_POLICY, artifact: artifactFromBytes(ARTIFACT) }), 'certificate-invalid', /certificates\[1\]/);
  });

  test("slsa-verifier's broken bundles now fail for their own faults, not 'self-signed root in chain'", () => {
    const publicGood = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    const identity = { subject: { regexp: /^https:\/\/github\.com\/slsa-framework\/slsa-github-generator\// }, issuer: exactly(KIT_ISSUER) };
    const load = (name: string) => readFileSync(vector('slsa-verifier-bundles', `${name}.intoto.sigstore`));
    // The SET was altered: the log's promise does not verify.
    rejectsWith(() => verifyBundle(load('invalid-set'), { trustRoot: publicGood, identity }), 'tlog-inclusion-invalid', /inclusion promise/);
    // Its SET is broken too (slsa-verifier's own test says it hits the SET first).
    rejectsWith(() => verifyBundle(load('invalid-dsse-sig'), { trustRoot: publicGood, identity }), 'tlog-inclusion-invalid');
    // The entry belongs to another signing (a day earlier): outside the leaf's validity.
    assert.throws(() => verifyBundle(load('mismatch-tlog'), { trustRoot: publicGood, identity }), (err: VerificationError) => {
      assert.ok(['certificate-chain-invalid', 'tlog-entry-mismatch'].includes(err.code), err.message);
      assert.doesNotMatch(err.message, /self-signed/);
      return true;
    });
  });
});

describe('malformed bundles: every parse error names the field, never a raw JavaScript message', () => {
  let kit: SigningKit;
  const ARTIFACT = Buffer.from('shape\n');
  before(async () => {
    kit = await SigningKit.create();
  });

  const rawJs = /Cannot read properties|is not a function|undefined \(reading|is not iterable/;
  const cases: Array<[string, (b: any) => void, RegExp]> = [
    ['v0.3 inclusionProof without checkpoint (as CPython 3.12.5)', (b) => delete b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint, /tlogEntries\[0\]\.inclusionProof\.checkpoint/],
    ['checkpoint.envelope a number', (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint = { envelope: 7 }), /inclusionProof\.checkpoint\.envelope/],
    ['inclusionProof.hashes a string', (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.hashes = 'x'), /inclusionProof\.hashes/],
    ['logIndex negative', (b) => (b.verificationMaterial.tlogEntries[0].logIndex = '-1'), /tlogEntries\[0\]\.logIndex/],
    ['logId missing', (b) => delete b.verificationMaterial.tlogEntries[0].logId, /tlogEntries\[0\]\.logId/],
    ['kindVersion.kind a number', (b) => (b.verificationMaterial.tlogEntries[0].kindVersion.kind = 1), /kindVersion\.kind/],
    ['canonicalizedBody missing', (b) => delete b.verificationMaterial.tlogEntries[0].canonicalizedBody, /canonicalizedBody/],
    ['tlogEntries an object', (b) => (b.verificationMaterial.tlogEntries = {}), /verificationMaterial\.tlogEntries/],
    ['certificate.rawBytes missing', (b) => (b.verificationMaterial.certificate = {}), /verificationMaterial\.certificate\.rawBytes/],
    ['two kinds of verification material', (b) => (b.verificationMaterial.publicKey = { hint: 'x' }), /exactly one is required/],
    ['verificationMaterial missing', (b) => delete b.verificationMaterial, /verificationMaterial/],
    ['dsseEnvelope.signatures empty', (b) => (b.dsseEnvelope.signatures = []), /dsseEnvelope\.signatures is empty/],
    ['dsseEnvelope.signatures[0].sig a number', (b) => (b.dsseEnvelope.signatures[0].sig = 5), /dsseEnvelope\.signatures\[0\]\.sig/],
    ['dsseEnvelope.payloadType missing', (b) => delete b.dsseEnvelope.payloadType, /dsseEnvelope\.payloadType/],
    ['both contents', (b) => (b.messageSignature = { signature: 'AAAA' }), /exactly one is required/],
    ['rfc3161Timestamps[0] without signedTimestamp', (b) => (b.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{}] }), /rfc3161Timestamps\[0\]\.signedTimestamp/],
  ];

  test('the unmodified kit bundle verifies (the cases below start from a good bundle)', async () => {
    const trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a', digest: { sha256: createHash('sha256').update(ARTIFACT).digest('hex') } }], predicateType: 'https://example.test/p', predicate: {} }));
    const verdict = verifyBlobBundle((await kit.signDsse(statement)).bundle('0.3'), { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
    assert.equal(verdict.status, 'pass', verdict.message);
  });

  for (const [name, mutate, field] of cases) {
    test(`${name}: bundle-invalid naming the field`, async () => {
      const trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
      const bundle: any = (await kit.signDsse(Buffer.from('{}'))).bundle('0.3');
      mutate(bundle);
      const verdict = verifyBlobBundle(bundle, { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
      assert.equal(verdict.status, 'fail', verdict.message);
      assert.equal(verdict.code, 'bundle-invalid', verdict.message);
      assert.match(verdict.message, field);
      assert.doesNotMatch(verdict.message, rawJs);
    });
  }

  test('a v0.1 bundle needs no checkpoint (its SET is the inclusion evidence)', async () => {
    const trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    const verdict = verifyBlobBundle((await kit.signBlob(ARTIFACT)).bundle('0.1'), { trustRoot, artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
    assert.equal(verdict.status, 'pass', verdict.message);
  });
});

describe('DSSE subjects are matched with the digest algorithms they name (npm: sha512 only)', () => {
  let kit: SigningKit;
  const ARTIFACT = Buffer.from('npm tarball bytes\n');
  const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
  const statementWith = (digest: Record<string, string>) =>
    Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'pkg:npm/example@1.0.0', digest }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }));
  before(async () => {
    kit = await SigningKit.create();
  });
  const run = async (digest: Record<string, string>, artifact = ARTIFACT) => {
    const bundle = (await kit.signDsse(statementWith(digest))).bundle('0.3');
    const algorithms = digestAlgorithmsForBundle(bundle);
    return { algorithms, verdict: verifyBlobBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(kit.trustedRoot()), artifact: artifactFromBytes(artifact, algorithms), identity: KIT_POLICY }) };
  };

  test('a sha512-only subject: the bundle asks for sha512, and the artifact matches', async () => {
    const { algorithms, verdict } = await run({ sha512: hex('sha512', ARTIFACT) });
    assert.deepEqual(algorithms.sort(), ['sha256', 'sha512']);
    assert.equal(verdict.status, 'pass', verdict.message);
  });

  test('sha384 subjects are matched too', async () => {
    const { verdict } = await run({ sha384: hex('sha384', ARTIFACT) });
    assert.equal(verdict.status, 'pass', verdict.message);
  });

  test('a sha512-only subject of another file is subject-digest-mismatch', async () => {
    const { verdict } = await run({ sha512: hex('sha512', Buffer.from('other')) });
    assert.equal(verdict.code, 'subject-digest-mismatch', verdict.message);
    assert.match(verdict.message, /sha512:/);
  });

  test("a subject with the real sha256 but another file's sha512 is not this artifact", async () => {
    const { verdict } = await run({ sha256: hex('sha256', ARTIFACT), sha512: hex('sha512', Buffer.from('other')) });
    assert.equal(verdict.code, 'subject-digest-mismatch', verdict.message);
  });

  test('a subject naming only an algorithm we do not compute (sha1) never matches', async () => {
    const { verdict } = await run({ sha1: hex('sha1', ARTIFACT) });
    assert.equal(verdict.code, 'subject-digest-mismatch', verdict.message);
  });

  test('an artifact hashed with sha256 only does not match a sha512-only subject (no silent pass)', async () => {
    const bundle = (await kit.signDsse(statementWith({ sha512: hex('sha512', ARTIFACT) }))).bundle('0.3');
    const verdict = verifyBlobBundle(bundle, { trustRoot: SigstoreTrustRoot.fromJSON(kit.trustedRoot()), artifact: artifactFromBytes(ARTIFACT), identity: KIT_POLICY });
    assert.equal(verdict.code, 'subject-digest-mismatch', verdict.message);
  });
});
