import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type BlobSigning, SigningKit } from '../kit/signing-kit';
import { type RekorFault, RekorDouble } from '../support/rekor-double';
import { cli } from '../support/run-cli';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed, closedPortUrl } from './format-fixtures';

/**
 * `provwatch verify-blob` both ways cosign writes blob signatures: a Sigstore bundle, and the
 * older detached `.pem` + `.sig` pair, whose log entry must be searched in Rekor (here a local
 * double serving the kit's entries).
 */
const ARTIFACT = Buffer.from('checksums.txt of pbs-exporter v0.7.0\n');
const OTHER_BYTES = Buffer.from('checksums.txt of pbs-exporter v0.7.0, with an attacker binary\n');
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];

const scratch = new Scratch();
let kit: SigningKit;
let root: string;
let artifactPath: string;
let rekor: RekorDouble;
let signed: BlobSigning;

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  artifactPath = scratch.file('checksums.txt', ARTIFACT);
  rekor = await RekorDouble.start();
  signed = await kit.signBlob(ARTIFACT);
});

after(() => rekor.close());

function verifyBlobBundle(bundle: object, artifact = artifactPath, identity = IDENTITY) {
  return cli(['verify-blob', artifact, '--bundle', scratch.file('checksums.txt.sigstore.json', bundle), '--trusted-root', root, ...identity]);
}

function flipSig(b64: string): string {
  const sig = Buffer.from(b64, 'base64');
  sig[sig.length - 5] ^= 0x01;
  return sig.toString('base64');
}

function verifyBlobLegacy(pem: string | Buffer, sig: string | Buffer, opts: { artifact?: string; rekorUrl?: string; flags?: string[] } = {}) {
  return cli([
    'verify-blob',
    opts.artifact ?? artifactPath,
    '--certificate',
    scratch.file('checksums.txt.pem', pem),
    '--signature',
    scratch.file('checksums.txt.sig', sig),
    '--rekor-url',
    opts.rekorUrl ?? rekor.url,
    '--trusted-root',
    root,
    ...IDENTITY,
    ...(opts.flags ?? []),
  ]);
}

describe('verify-blob --bundle', () => {
  for (const version of ['0.1', '0.2', '0.3'] as const) {
    test(`v${version} verifies`, async () => {
      assertPassed(await verifyBlobBundle(signed.bundle(version)));
    });
  }

  test('wrong identity is identity-mismatch', async () => {
    const other = ['--certificate-identity-regexp', '^https://github\\.com/natrontech/other/', '--certificate-oidc-issuer', KIT_ISSUER];
    assertFailed(await verifyBlobBundle(signed.bundle('0.3'), artifactPath, other), 'identity-mismatch');
  });

  test('other bytes are subject-digest-mismatch', async () => {
    assertFailed(await verifyBlobBundle(signed.bundle('0.3'), scratch.file('checksums.txt', OTHER_BYTES)), 'subject-digest-mismatch');
  });

  test('a bundle from another trust root is certificate-chain-invalid', async () => {
    const other = await SigningKit.create();
    assertFailed(await verifyBlobBundle((await other.signBlob(ARTIFACT)).bundle('0.3')), 'certificate-chain-invalid');
  });
});

describe('verify-blob --certificate --signature (Rekor search)', () => {
  beforeEach(() => rekor.reset().add(signed.rekorApiEntry(), sha256Hex(ARTIFACT)));

  test('.pem as base64 of the PEM text (cosign sign-blob) verifies', async () => {
    assertPassed(await verifyBlobLegacy(signed.cosignPem, signed.cosignSig));
    assert.deepEqual(rekor.searches, [{ hash: `sha256:${sha256Hex(ARTIFACT)}` }]);
  });

  test('.pem as plain PEM verifies, and so does a .sig with a trailing newline', async () => {
    assertPassed(await verifyBlobLegacy(signed.certificate.pem, `${signed.cosignSig}\n`));
  });

  test('wrong identity is identity-mismatch', async () => {
    const result = await cli([
      'verify-blob', artifactPath,
      '--certificate', scratch.file('c.pem', signed.cosignPem), '--signature', scratch.file('c.sig', signed.cosignSig),
      '--rekor-url', rekor.url, '--trusted-root', root,
      '--certificate-identity', 'https://github.com/natrontech/pbs-exporter/.github/workflows/other.yml@refs/tags/v0.8.0',
      '--certificate-oidc-issuer', KIT_ISSUER,
    ]);
    assertFailed(result, 'identity-mismatch');
  });

  test('the file is not what was signed: signature-invalid, seen offline before the log is searched', async () => {
    assertFailed(await verifyBlobLegacy(signed.cosignPem, signed.cosignSig, { artifact: scratch.file('x', OTHER_BYTES) }), 'signature-invalid');
  });

  test('a genuine signature over other bytes fails even when the log hands back its genuine entry', async () => {
    // The index is not trusted: a lying or confused search result must not turn into a pass.
    const overOther = await kit.signBlob(OTHER_BYTES);
    rekor.add(overOther.rekorApiEntry(), sha256Hex(ARTIFACT));
    assertFailed(await verifyBlobLegacy(overOther.cosignPem, overOther.cosignSig), 'signature-invalid');
  });

  test("another signer's entry for the same digest does not verify this signature", async () => {
    const ours = await kit.signBlob(ARTIFACT);
    // Only the other signer's entry is in the log for this digest.
    assertFailed(await verifyBlobLegacy(ours.cosignPem, ours.cosignSig), 'tlog-entry-mismatch');
  });

  test("among other signers' entries, ours is found wherever it is listed", async () => {
    const ours = await kit.signBlob(ARTIFACT);
    rekor.add(ours.rekorApiEntry(), sha256Hex(ARTIFACT));
    assertPassed(await verifyBlobLegacy(ours.cosignPem, ours.cosignSig));
  });

  test("our certificate with another signer's signature fails although both entries exist", async () => {
    const ours = await kit.signBlob(ARTIFACT);
    rekor.add(ours.rekorApiEntry(), sha256Hex(ARTIFACT));
    // Which of the two entries' failures is reported depends on their order; both are fails.
    assertFailed(await verifyBlobLegacy(ours.cosignPem, signed.cosignSig), 'tlog-entry-mismatch', 'signature-invalid');
  });

  test('no entry at all is tlog-entry-missing, a fail (not an error)', async () => {
    rekor.reset();
    const result = await verifyBlobLegacy(signed.cosignPem, signed.cosignSig, { flags: ['--json'] });
    assert.equal(result.code, 1);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'tlog-entry-missing');
  });

  test('a certificate from another trust root is certificate-chain-invalid', async () => {
    const other = await (await SigningKit.create()).signBlob(ARTIFACT);
    rekor.add(other.rekorApiEntry(), sha256Hex(ARTIFACT));
    assertFailed(await verifyBlobLegacy(other.cosignPem, other.cosignSig), 'certificate-chain-invalid');
  });
});

describe('verify-blob: Rekor outages are errors, never PASSED', () => {
  beforeEach(() => rekor.reset().add(signed.rekorApiEntry(), sha256Hex(ARTIFACT)));

  const faults: Array<[RekorFault, 'search' | 'entry' | 'all']> = [
    ['500', 'search'],
    ['500', 'entry'],
    ['junk', 'search'],
    ['junk', 'entry'],
    ['redirect', 'search'],
    ['oversized', 'search'],
  ];
  for (const [fault, on] of faults) {
    test(`${fault} on ${on}: tlog-unavailable, status error`, async () => {
      rekor.misbehave(fault, on);
      const result = await verifyBlobLegacy(signed.cosignPem, signed.cosignSig, { flags: ['--json'] });
      assert.equal(result.code, 1, result.stdout + result.stderr);
      const verdict = JSON.parse(result.stdout);
      assert.equal(verdict.status, 'error');
      assert.equal(verdict.code, 'tlog-unavailable');
    });
  }

  test('Rekor down (connection refused): tlog-unavailable', async () => {
    assertFailed(await verifyBlobLegacy(signed.cosignPem, signed.cosignSig, { rekorUrl: await closedPortUrl() }), 'tlog-unavailable');
  });

  test('with Rekor down, what can be checked offline is reported first, and the log is not asked', async () => {
    const down = await closedPortUrl();
    assertFailed(await verifyBlobLegacy('hello, not a certificate', signed.cosignSig, { rekorUrl: down }), 'certificate-invalid');
    assertFailed(await verifyBlobLegacy(signed.cosignPem, flipSig(signed.cosignSig), { rekorUrl: down }), 'signature-invalid');
    const foreign = await (await SigningKit.create()).signBlob(ARTIFACT);
    assertFailed(await verifyBlobLegacy(foreign.cosignPem, foreign.cosignSig, { rekorUrl: down }), 'certificate-chain-invalid');
    rekor.misbehave('500');
    assertFailed(await verifyBlobLegacy('hello, not a certificate', signed.cosignSig), 'certificate-invalid');
    assert.equal(rekor.requests.length, 0, 'the log was asked although the evidence was already wrong');
  });

  // The CLI's Rekor timeout is the client default (10 s): this case is slow on purpose.
  test('Rekor hangs: tlog-unavailable after the timeout', async () => {
    rekor.misbehave('hang', 'search');
    assertFailed(await verifyBlobLegacy(signed.cosignPem, signed.cosignSig), 'tlog-unavailable');
  });
});

describe('verify-blob: malformed .sig and .pem', () => {
  beforeEach(() => rekor.reset().add(signed.rekorApiEntry(), sha256Hex(ARTIFACT)));

  for (const [name, sig] of [
    ['garbage', 'this is not a signature!'],
    ['empty', ''],
  ] as const) {
    test(`${name} .sig is signature-encoding-invalid`, async () => {
      assertFailed(await verifyBlobLegacy(signed.cosignPem, sig), 'signature-encoding-invalid');
    });
  }

  test('truncated .sig (cut inside a base64 quantum) is signature-encoding-invalid', async () => {
    // cosign reads .sig with padded standard base64: a cut that breaks a 4-character quantum is
    // not base64 at all, whatever a lenient decoder would make of it.
    const cut = signed.cosignSig.slice(0, 30);
    assert.notEqual(cut.length % 4, 0);
    assertFailed(await verifyBlobLegacy(signed.cosignPem, cut), 'signature-encoding-invalid');
  });

  test('truncated .sig (cut on a quantum boundary) still fails: a short signature never verifies', async () => {
    const cut = signed.cosignSig.slice(0, 32);
    // Valid base64 of a shorter DER: it does not verify, which is seen before the log is asked.
    assertFailed(await verifyBlobLegacy(signed.cosignPem, cut), 'signature-invalid');
  });

  for (const [name, pem] of [
    ['garbage', () => 'hello, not a certificate'],
    ['truncated base64-of-PEM', () => signed.cosignPem.slice(0, Math.floor(signed.cosignPem.length / 2))],
    ['truncated plain PEM', () => signed.certificate.pem.slice(0, Math.floor(signed.certificate.pem.length / 2))],
    ['PEM armour around garbage', () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
  ] as const) {
    test(`${name} .pem is certificate-invalid`, async () => {
      assertFailed(await verifyBlobLegacy(pem(), signed.cosignSig), 'certificate-invalid');
    });
  }
});
