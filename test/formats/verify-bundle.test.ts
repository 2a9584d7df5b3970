import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { hashedRekordBody } from '../kit/rekor-entry';
import { BUNDLE_MEDIA_TYPES, type BundleJson, type BundleVersion, type LoggedEntry, SigningKit, inTotoStatement } from '../kit/signing-kit';
import { cli } from '../support/run-cli';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed, flipBase64 } from './format-fixtures';

/**
 * `provwatch verify-bundle` over every bundle version the kit writes (v0.1 with only a signed
 * entry timestamp, v0.2 and v0.3 with inclusion proofs), for both contents a bundle can carry:
 * a message signature over the artifact and a DSSE in-toto statement naming it as subject.
 */
const VERSIONS: BundleVersion[] = ['0.1', '0.2', '0.3'];
const ARTIFACT = Buffer.from('pbs-exporter_0.8.0_linux_amd64.tar.gz contents\n');
const ARTIFACT_SHA256 = createHash('sha256').update(ARTIFACT).digest('hex');
const OTHER_BYTES = Buffer.from('pbs-exporter_0.8.0_linux_amd64.tar.gz contents, swapped\n');

const scratch = new Scratch();
let kit: SigningKit;
let root: string;
let artifactPath: string;

function statementFor(sha256: string): Buffer {
  return inTotoStatement([{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', sha256 }], 'https://slsa.dev/provenance/v1', {
    buildDefinition: { buildType: 'https://example.test/build' },
  });
}

function verifyBundle(bundle: object, artifact: string, ...flags: string[]) {
  const identity = flags.some((f) => f.startsWith('--certificate-identity') || f === '--key')
    ? []
    : ['--certificate-identity', KIT_IDENTITY];
  const issuer = flags.some((f) => f.startsWith('--certificate-oidc-issuer') || f === '--key') ? [] : ['--certificate-oidc-issuer', KIT_ISSUER];
  return cli(['verify-bundle', '--bundle', scratch.file('bundle.sigstore.json', bundle), '--trusted-root', root, ...identity, ...issuer, ...flags, artifact]);
}

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  artifactPath = scratch.file('artifact.tar.gz', ARTIFACT);
});

describe('verify-bundle: every bundle version, both contents', () => {
  for (const version of VERSIONS) {
    test(`v${version} message signature verifies (path and sha256: digest)`, async () => {
      const bundle = (await kit.signBlob(ARTIFACT)).bundle(version);
      assertPassed(await verifyBundle(bundle, artifactPath));
      assertPassed(await verifyBundle(bundle, `sha256:${ARTIFACT_SHA256}`));
    });

    test(`v${version} DSSE statement naming the artifact verifies`, async () => {
      const bundle = (await kit.signDsse(statementFor(ARTIFACT_SHA256))).bundle(version);
      assertPassed(await verifyBundle(bundle, artifactPath));
    });
  }

  test('--json reports signer, log entry and artifact digest', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    const result = await verifyBundle(bundle, artifactPath, '--json');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.code, 'verified');
    assert.equal(verdict.evidence.signer.identity, KIT_IDENTITY);
    assert.equal(verdict.evidence.signer.issuer, KIT_ISSUER);
    assert.equal(verdict.evidence.artifactDigests.artifact, `sha256:${ARTIFACT_SHA256}`);
    assert.equal(verdict.evidence.tlog.length, 1);
  });
});

describe('verify-bundle: who signed', () => {
  for (const content of ['message', 'dsse'] as const) {
    const signed = () => (content === 'message' ? kit.signBlob(ARTIFACT) : kit.signDsse(statementFor(ARTIFACT_SHA256)));

    test(`${content}: another identity is identity-mismatch`, async () => {
      const bundle = (await signed()).bundle('0.3');
      const other = 'https://github.com/natrontech/pbs-exporter/.github/workflows/other.yml@refs/tags/v0.8.0';
      assertFailed(await verifyBundle(bundle, artifactPath, '--certificate-identity', other), 'identity-mismatch');
    });

    test(`${content}: another issuer is issuer-mismatch`, async () => {
      const bundle = (await signed()).bundle('0.3');
      assertFailed(await verifyBundle(bundle, artifactPath, '--certificate-oidc-issuer', 'https://accounts.google.com'), 'issuer-mismatch');
    });
  }

  test('an e-mail identity verifies exactly and mismatches otherwise', async () => {
    const bundle = (await kit.signBlob(ARTIFACT, { email: 'release@natron.test', issuer: 'https://accounts.google.com' })).bundle('0.3');
    const issuer = ['--certificate-oidc-issuer', 'https://accounts.google.com'];
    assertPassed(await verifyBundle(bundle, artifactPath, '--certificate-identity', 'release@natron.test', ...issuer));
    assertFailed(await verifyBundle(bundle, artifactPath, '--certificate-identity', 'attacker@natron.test', ...issuer), 'identity-mismatch');
  });

  // cosign evaluates identity regexps unanchored; so does provwatch, for compatibility with
  // users' existing policies, but it warns. A look-alike repository then passes: that is the
  // documented risk the warning is about.
  test('an unanchored identity regexp is evaluated as written, with a warning', async () => {
    const lookAlike = 'https://github.com/natrontech/pbs-exporter-evil/.github/workflows/release.yml@refs/tags/v0.8.0';
    const bundle = (await kit.signBlob(ARTIFACT, { workflowUri: lookAlike })).bundle('0.3');
    const result = await verifyBundle(bundle, artifactPath, '--certificate-identity-regexp', 'https://github.com/natrontech/pbs-exporter');
    assertPassed(result);
    assert.match(result.stderr, /warning: .*not anchored/);
    assert.match(result.stderr, /warning: .*unescaped dots/);
  });

  test('the same look-alike fails an anchored, escaped regexp, without a warning', async () => {
    const lookAlike = 'https://github.com/natrontech/pbs-exporter-evil/.github/workflows/release.yml@refs/tags/v0.8.0';
    const anchored = '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$';
    const evil = (await kit.signBlob(ARTIFACT, { workflowUri: lookAlike })).bundle('0.3');
    const result = await verifyBundle(evil, artifactPath, '--certificate-identity-regexp', anchored);
    assertFailed(result, 'identity-mismatch');
    assert.doesNotMatch(result.stderr, /warning/);
    const good = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    assertPassed(await verifyBundle(good, artifactPath, '--certificate-identity-regexp', anchored));
  });

  test('a regexp is not silently anchored either: a pattern meant as a prefix stays a prefix', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    assertPassed(await verifyBundle(bundle, artifactPath, '--certificate-identity-regexp', '^https://github\\.com/natrontech/'));
    assertFailed(await verifyBundle(bundle, artifactPath, '--certificate-identity-regexp', '^natrontech/'), 'identity-mismatch');
  });
});

describe('verify-bundle: what was signed', () => {
  test('message signature over other bytes: subject-digest-mismatch', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    assertFailed(await verifyBundle(bundle, scratch.file('swapped.tar.gz', OTHER_BYTES)), 'subject-digest-mismatch');
  });

  test('message signature whose digest hint was rewritten to the swapped file: still rejected', async () => {
    // An attacker controls the hint; the signature and the log entry still bind the original.
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    bundle.messageSignature!.messageDigest.digest = createHash('sha256').update(OTHER_BYTES).digest('base64');
    assertFailed(await verifyBundle(bundle, scratch.file('swapped.tar.gz', OTHER_BYTES)), 'tlog-entry-mismatch');
  });

  test('DSSE statement naming other bytes: subject-digest-mismatch', async () => {
    const bundle = (await kit.signDsse(statementFor(ARTIFACT_SHA256))).bundle('0.3');
    assertFailed(await verifyBundle(bundle, scratch.file('swapped.tar.gz', OTHER_BYTES)), 'subject-digest-mismatch');
  });

  for (const version of VERSIONS) {
    test(`v${version} tampered message signature is rejected`, async () => {
      const bundle = (await kit.signBlob(ARTIFACT)).bundle(version);
      bundle.messageSignature!.signature = flipBase64(bundle.messageSignature!.signature);
      // The log entry records the signature, so the entry no longer matches the bundle.
      assertFailed(await verifyBundle(bundle, artifactPath), 'tlog-entry-mismatch');
    });

    test(`v${version} tampered DSSE signature is rejected`, async () => {
      const bundle = (await kit.signDsse(statementFor(ARTIFACT_SHA256))).bundle(version);
      bundle.dsseEnvelope!.signatures[0].sig = flipBase64(bundle.dsseEnvelope!.signatures[0].sig);
      assertFailed(await verifyBundle(bundle, artifactPath), 'tlog-entry-mismatch');
    });
  }

  // Rekor v1 does not make hashedrekord entries trustworthy about the signature's validity for
  // us: a log entry that faithfully records a bad signature must still fail the signature check.
  test('a bad signature recorded as such in the log is signature-invalid', async () => {
    const good = await kit.signBlob(ARTIFACT);
    const badSig = Buffer.from(flipBase64(good.cosignSig), 'base64');
    const body = hashedRekordBody(good.digest, badSig, good.certificate.pem);
    const entry = kit.rekor.append(body.kind, body.apiVersion, body.body, Math.floor(kit.now.getTime() / 1000));
    const bundle = good.bundle('0.3');
    bundle.verificationMaterial.tlogEntries = [tlogEntryJson(entry)];
    bundle.messageSignature!.signature = badSig.toString('base64');
    assertFailed(await verifyBundle(bundle, artifactPath), 'signature-invalid');
  });

  test('DSSE payload swapped for a statement naming the attacker file is rejected', async () => {
    const bundle = (await kit.signDsse(statementFor(ARTIFACT_SHA256))).bundle('0.3');
    const otherSha = createHash('sha256').update(OTHER_BYTES).digest('hex');
    bundle.dsseEnvelope!.payload = statementFor(otherSha).toString('base64');
    assertFailed(await verifyBundle(bundle, scratch.file('swapped.tar.gz', OTHER_BYTES)), 'tlog-entry-mismatch');
  });
});

describe('verify-bundle: trust chain', () => {
  test('a bundle from another Sigstore (another trust root) is certificate-chain-invalid', async () => {
    const other = await SigningKit.create();
    const bundle = (await other.signBlob(ARTIFACT)).bundle('0.3');
    assertFailed(await verifyBundle(bundle, artifactPath), 'certificate-chain-invalid');
  });

  test('a leaf from a CA outside the trust root, logged in the trusted log, is certificate-chain-invalid', async () => {
    const bundle = (await kit.signBlob(ARTIFACT, { foreignCa: true })).bundle('0.3');
    assertFailed(await verifyBundle(bundle, artifactPath), 'certificate-chain-invalid');
  });

  test('a certificate without SCT is rejected', async () => {
    const bundle = (await kit.signBlob(ARTIFACT, { sct: false })).bundle('0.3');
    assertFailed(await verifyBundle(bundle, artifactPath), 'sct-invalid');
  });

  test('a certificate that had expired when the log integrated the signature is rejected', async () => {
    const notBefore = new Date(kit.now.getTime() - 3_600_000);
    const bundle = (await kit.signBlob(ARTIFACT, { notBefore, notAfter: new Date(notBefore.getTime() + 600_000) })).bundle('0.3');
    assertFailed(await verifyBundle(bundle, artifactPath), 'certificate-chain-invalid');
  });

  test('v0.1: a tampered signed entry timestamp (its only inclusion evidence) is tlog-inclusion-invalid', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.1');
    const entry = bundle.verificationMaterial.tlogEntries[0];
    entry.inclusionPromise.signedEntryTimestamp = flipBase64(entry.inclusionPromise.signedEntryTimestamp);
    assertFailed(await verifyBundle(bundle, artifactPath), 'tlog-inclusion-invalid');
  });

  test('v0.3: a wrong inclusion proof is tlog-inclusion-invalid', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof!;
    proof.hashes[0] = flipBase64(proof.hashes[0], 0);
    assertFailed(await verifyBundle(bundle, artifactPath), 'tlog-inclusion-invalid');
  });

  test('a bundle without log entry is rejected', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    bundle.verificationMaterial.tlogEntries = [];
    // sigstore-js counts trusted timestamps before log entries, so this reads timestamp-invalid
    // today; tlog-entry-missing would name the cause better (reported, not changed here).
    assertFailed(await verifyBundle(bundle, artifactPath), 'tlog-entry-missing', 'timestamp-invalid');
  });
});

/**
 * Managed keys (cosign --key): the kit only issues Fulcio certificates, so the bundle is made
 * here from the kit's own log: a message signature by a plain P-256 key, logged as
 * hashedrekord with the public key, in a v0.3 bundle with a `publicKey` hint.
 */
describe('verify-bundle: managed key', () => {
  const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

  function managedKeyBundle(privateKey: ReturnType<typeof keyPair>['privateKey'], publicPem: string): BundleJson {
    const digest = createHash('sha256').update(ARTIFACT).digest();
    const signature = sign('sha256', ARTIFACT, privateKey);
    const body = hashedRekordBody(digest, signature, publicPem);
    const entry = kit.rekor.append(body.kind, body.apiVersion, body.body, Math.floor(kit.now.getTime() / 1000));
    return {
      mediaType: BUNDLE_MEDIA_TYPES['0.3'],
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [tlogEntryJson(entry)] } as unknown as BundleJson['verificationMaterial'],
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') }, signature: signature.toString('base64') },
    };
  }

  let keys: ReturnType<typeof keyPair>;
  let publicPem: string;
  before(() => {
    keys = keyPair();
    publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  });

  test('verifies with --key', async () => {
    const bundle = managedKeyBundle(keys.privateKey, publicPem);
    assertPassed(await verifyBundle(bundle, artifactPath, '--key', scratch.file('key.pub', publicPem)));
  });

  test('another key is rejected', async () => {
    const bundle = managedKeyBundle(keys.privateKey, publicPem);
    const otherPem = keyPair().publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assertFailed(await verifyBundle(bundle, artifactPath, '--key', scratch.file('other.pub', otherPem)), 'signature-invalid');
  });

  test('a managed-key bundle checked with identity flags is public-key-mismatch', async () => {
    const bundle = managedKeyBundle(keys.privateKey, publicPem);
    assertFailed(await verifyBundle(bundle, artifactPath), 'public-key-mismatch');
  });

  test('a certificate bundle checked with --key is public-key-mismatch', async () => {
    const bundle = (await kit.signBlob(ARTIFACT)).bundle('0.3');
    assertFailed(await verifyBundle(bundle, artifactPath, '--key', scratch.file('key.pub', publicPem)), 'public-key-mismatch');
  });

  test('a garbage key file is input-unreadable', async () => {
    const bundle = managedKeyBundle(keys.privateKey, publicPem);
    assertFailed(await verifyBundle(bundle, artifactPath, '--key', scratch.file('key.pub', 'not a key')), 'input-unreadable');
  });

  // cosign verify-blob --key: the same rules through verify-blob (and verify-checksums, which shares them).
  const verifyBlobWithKey = (bundle: object, key: string, ...flags: string[]) =>
    cli(['verify-blob', artifactPath, '--bundle', scratch.file('blob.sigstore.json', bundle), '--key', key, '--trusted-root', root, ...flags]);

  test('verify-blob --key verifies a key-signed bundle and prints cosign\'s Verified OK', async () => {
    const result = await verifyBlobWithKey(managedKeyBundle(keys.privateKey, publicPem), scratch.file('key.pub', publicPem));
    assertPassed(result);
    assert.match(result.stdout, /^Verified OK\n/);
  });

  test('verify-blob --key with another key, or over a certificate bundle, fails', async () => {
    const otherPem = keyPair().publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assertFailed(await verifyBlobWithKey(managedKeyBundle(keys.privateKey, publicPem), scratch.file('other.pub', otherPem)), 'signature-invalid');
    // Threat: a keyless bundle passing for "signed by this key" because --key was not applied.
    assertFailed(await verifyBlobWithKey((await kit.signBlob(ARTIFACT)).bundle('0.3'), scratch.file('key.pub', publicPem)), 'public-key-mismatch');
  });

  test('verify-blob --key with identity flags, or with a detached --signature, is a usage error', async () => {
    const key = scratch.file('key.pub', publicPem);
    const withIdentity = await verifyBlobWithKey(managedKeyBundle(keys.privateKey, publicPem), key, '--certificate-identity', KIT_IDENTITY);
    assert.equal(withIdentity.code, 2, withIdentity.stderr);
    assert.match(withIdentity.stderr, /--key and the --certificate-identity/);
    const detached = await cli(['verify-blob', artifactPath, '--signature', scratch.file('a.sig', 'c2ln'), '--key', key, '--trusted-root', root]);
    assert.equal(detached.code, 2, detached.stderr);
    assert.match(detached.stderr, /--key verifies a --bundle/);
  });
});

function tlogEntryJson(entry: LoggedEntry) {
  const p = entry.inclusionProof;
  const b64 = (b: Buffer) => b.toString('base64');
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: b64(entry.logId) },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(entry.signedEntryTimestamp) },
    inclusionProof: {
      logIndex: String(p.treeIndex),
      rootHash: b64(p.rootHash),
      treeSize: String(p.treeSize),
      hashes: p.hashes.map(b64),
      checkpoint: { envelope: p.checkpoint },
    },
    canonicalizedBody: b64(entry.body),
  };
}
