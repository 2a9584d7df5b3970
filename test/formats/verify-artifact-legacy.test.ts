import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type DsseSigning, type GithubClaims, IN_TOTO_PAYLOAD_TYPE, SigningKit } from '../kit/signing-kit';
import { RekorDouble } from '../support/rekor-double';
import { cli } from '../support/run-cli';
import { type StatementOverrides, generatorStatement, generatorWorkflow } from '../support/slsa-generator';
import { Scratch, assertFailed, assertPassed, closedPortUrl } from './format-fixtures';

/**
 * `provwatch verify-artifact` on slsa-github-generator <= v2.0.0 output, the generation
 * pbs-exporter v0.5.0 to v0.6.x shipped: `*.intoto.jsonl` lines that are bare DSSE envelopes with
 * the certificate inline and no log data, so the Rekor entry (intoto/0.0.2) must be searched by
 * the artifact's digest. The statement mirrors the real generic generator's SLSA v0.2 output
 * (same fields as the v2.1.0 vectors in test/vectors), with pbs-exporter's values.
 */
const GENERATOR_V2_0_0 = generatorWorkflow('generic', 'v2.0.0');
const REPO = 'natrontech/pbs-exporter';
const TAG = 'v0.6.0';
const SOURCE_SHA1 = '9b0f5ac4c1a2e6b2b7c1d7a4f0e3c2b1a0f9e8d7';
const GENERATOR_SHA1 = '5a775b367a56d5bd118a224a811bba288150a563';
const CLAIMS: Partial<GithubClaims> = {
  repository: REPO,
  ref: `refs/tags/${TAG}`,
  sha: SOURCE_SHA1,
  workflowPath: '.github/workflows/release.yml',
  eventName: 'push',
  runId: '5412345678',
  runAttempt: '1',
  signerSha: GENERATOR_SHA1,
};

const AMD64 = { name: 'pbs-exporter_0.6.0_linux_amd64.tar.gz', bytes: Buffer.from('pbs-exporter 0.6.0 linux/amd64 binary\n') };
const ARM64 = { name: 'pbs-exporter_0.6.0_linux_arm64.tar.gz', bytes: Buffer.from('pbs-exporter 0.6.0 linux/arm64 binary\n') };
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The generic generator's SLSA v0.2 statement (in-toto Statement v0.1, as v2.0.0 wrote it). */
function provenanceStatement(overrides: StatementOverrides & { subjects?: Array<{ name: string; bytes: Buffer }> } = {}): Buffer {
  const subjects = (overrides.subjects ?? [AMD64, ARM64]).map((s) => ({ name: s.name, sha256: sha256Hex(s.bytes) }));
  return generatorStatement('generic', 'v2.0.0', { repository: REPO, tag: TAG, sha: SOURCE_SHA1, runId: CLAIMS.runId! }, subjects, overrides);
}

const scratch = new Scratch();
let kit: SigningKit;
let root: string;
let rekor: RekorDouble;
let signed: DsseSigning;
let amd64Path: string;
let arm64Path: string;

/** Signs like generator v2.0.0 did: the generator workflow's identity, the caller's GitHub claims, an intoto/0.0.2 entry. */
function signProvenance(statement: Buffer, opts: { workflowUri?: string; github?: Partial<GithubClaims> } = {}) {
  return kit.signDsse(statement, IN_TOTO_PAYLOAD_TYPE, {
    tlogKind: 'intoto/0.0.2',
    workflowUri: opts.workflowUri ?? GENERATOR_V2_0_0,
    github: { ...CLAIMS, ...opts.github },
  });
}

/** The `.intoto.jsonl` file: one bare envelope per line. */
function jsonl(...signings: DsseSigning[]): string {
  return signings.map((s) => `${JSON.stringify(s.legacyEnvelope())}\n`).join('');
}

function verifyArtifact(provenance: string, flags: string[], artifacts = [amd64Path], rekorUrl = rekor.url) {
  return cli([
    'verify-artifact',
    ...artifacts,
    '--provenance-path',
    scratch.file('multiple.intoto.jsonl', provenance),
    '--trusted-root',
    root,
    '--rekor-url',
    rekorUrl,
    ...flags,
  ]);
}

const RIGHT_SOURCE = ['--source-uri', `github.com/${REPO}`, '--source-tag', TAG];

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  rekor = await RekorDouble.start();
  signed = await signProvenance(provenanceStatement());
  amd64Path = scratch.file(AMD64.name, AMD64.bytes);
  arm64Path = scratch.file(ARM64.name, ARM64.bytes);
});

after(() => rekor.close());

// The log indexes an intoto entry under its subjects' digests, which is how the search finds it.
beforeEach(() => rekor.reset().add(signed.rekorApiEntry(), sha256Hex(AMD64.bytes), sha256Hex(ARM64.bytes)));

describe('verify-artifact: generator v2.0.0 envelope found through Rekor', () => {
  test('passes with the right source and tag', async () => {
    const result = await verifyArtifact(jsonl(signed), RIGHT_SOURCE);
    assertPassed(result);
    assert.deepEqual(rekor.searches, [{ hash: `sha256:${sha256Hex(AMD64.bytes)}` }]);
  });

  test('--json evidence names builder, source and the log entry found', async () => {
    const result = await verifyArtifact(jsonl(signed), [...RIGHT_SOURCE, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.evidence.builderId, GENERATOR_V2_0_0);
    assert.equal(verdict.evidence.signer.identity, GENERATOR_V2_0_0);
    assert.equal(verdict.evidence.tlog[0].kind, 'intoto');
    assert.equal(verdict.evidence.tlog[0].logIndex, String(signed.tlogEntry.logIndex));
  });

  test('passes for every artifact the provenance names, and with the builder id given', async () => {
    assertPassed(await verifyArtifact(jsonl(signed), RIGHT_SOURCE, [amd64Path, arm64Path]));
    const builder = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
    assertPassed(await verifyArtifact(jsonl(signed), [...RIGHT_SOURCE, '--builder-id', builder]));
  });

  test('the wrong tag is source-tag-mismatch', async () => {
    assertFailed(await verifyArtifact(jsonl(signed), ['--source-uri', `github.com/${REPO}`, '--source-tag', 'v0.6.1']), 'source-tag-mismatch');
  });

  test('the wrong repository is source-mismatch', async () => {
    assertFailed(await verifyArtifact(jsonl(signed), ['--source-uri', 'github.com/natrontech/other-exporter', '--source-tag', TAG]), 'source-mismatch');
  });

  test('an artifact the provenance does not name is subject-digest-mismatch', async () => {
    const stranger = { name: 'pbs-exporter_0.6.0_darwin_amd64.tar.gz', bytes: Buffer.from('not built by this run\n') };
    // The log does hold this provenance under the stranger's digest (e.g. a lying index): the subject check still stops it.
    rekor.add(signed.rekorApiEntry(), sha256Hex(stranger.bytes));
    assertFailed(await verifyArtifact(jsonl(signed), RIGHT_SOURCE, [scratch.file(stranger.name, stranger.bytes)]), 'subject-digest-mismatch');
  });
});

describe('verify-artifact: the Rekor search decides, and cannot be fooled', () => {
  test('no entry for the artifact is tlog-entry-missing (fail)', async () => {
    rekor.reset();
    const result = await verifyArtifact(jsonl(signed), [...RIGHT_SOURCE, '--json']);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'tlog-entry-missing');
  });

  test("another signer's entry for the same digest does not vouch for this envelope", async () => {
    const other = await signProvenance(provenanceStatement());
    rekor.reset().add(other.rekorApiEntry(), sha256Hex(AMD64.bytes));
    assertFailed(await verifyArtifact(jsonl(signed), RIGHT_SOURCE), 'tlog-entry-mismatch', 'signature-invalid');
  });

  test('an envelope whose statement was edited after signing (tag rewritten) is rejected', async () => {
    const legacy = signed.legacyEnvelope();
    legacy.payload = provenanceStatement({ ref: 'refs/tags/v0.6.1' }).toString('base64');
    const result = await verifyArtifact(`${JSON.stringify(legacy)}\n`, ['--source-uri', `github.com/${REPO}`, '--source-tag', 'v0.6.1']);
    assertFailed(result, 'tlog-entry-mismatch', 'signature-invalid');
  });

  test('provenance signed by the project itself, not by the generator, is identity-mismatch', async () => {
    const selfSigned = await signProvenance(provenanceStatement(), { workflowUri: `https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/${TAG}` });
    rekor.reset().add(selfSigned.rekorApiEntry(), sha256Hex(AMD64.bytes));
    assertFailed(await verifyArtifact(jsonl(selfSigned), RIGHT_SOURCE), 'identity-mismatch');
  });

  test('a builder id that is not the signing workflow is builder-untrusted', async () => {
    // Signed by the container generator, claiming to be the generic one: slsa-verifier compares the two.
    const container = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0';
    const mismatched = await signProvenance(provenanceStatement(), { workflowUri: container });
    rekor.reset().add(mismatched.rekorApiEntry(), sha256Hex(AMD64.bytes));
    assertFailed(await verifyArtifact(jsonl(mismatched), RIGHT_SOURCE), 'builder-untrusted');
  });

  test("a statement whose source is not the certificate's repository is source-mismatch", async () => {
    // The run in natrontech/fork signed a statement claiming natrontech/pbs-exporter as source.
    const forged = await signProvenance(provenanceStatement(), { github: { repository: 'natrontech/fork' } });
    rekor.reset().add(forged.rekorApiEntry(), sha256Hex(AMD64.bytes));
    assertFailed(await verifyArtifact(jsonl(forged), RIGHT_SOURCE), 'source-mismatch');
  });
});

describe('verify-artifact: Rekor outages are errors, never PASSED', () => {
  test('Rekor down (connection refused): tlog-unavailable, status error', async () => {
    const result = await verifyArtifact(jsonl(signed), [...RIGHT_SOURCE, '--json'], [amd64Path], await closedPortUrl());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.status, 'error');
    assert.equal(verdict.code, 'tlog-unavailable');
  });

  for (const [fault, on] of [['500', 'search'], ['500', 'entry'], ['junk', 'entry'], ['redirect', 'search']] as const) {
    test(`${fault} on ${on}: tlog-unavailable`, async () => {
      rekor.misbehave(fault, on);
      assertFailed(await verifyArtifact(jsonl(signed), RIGHT_SOURCE), 'tlog-unavailable');
    });
  }
});

describe('verify-artifact: a legacy envelope is checked offline before Rekor is asked', () => {
  const withSignature = (change: (s: { keyid: string; sig: string; cert?: string }) => void) => {
    const envelope = signed.legacyEnvelope();
    change(envelope.signatures[0]);
    return `${JSON.stringify(envelope)}\n`;
  };

  for (const [name, provenance, code] of [
    ['no certificate', () => withSignature((s) => delete s.cert), 'certificate-invalid'],
    ['garbage certificate', () => withSignature((s) => (s.cert = 'not a certificate')), 'certificate-invalid'],
    ['broken signature', () => withSignature((s) => (s.sig = Buffer.from(Buffer.from(s.sig, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64'))), 'signature-invalid'],
  ] as const) {
    test(`${name}, Rekor down: ${code}, not tlog-unavailable, and the log is not asked`, async () => {
      assertFailed(await verifyArtifact(provenance(), RIGHT_SOURCE, [amd64Path], await closedPortUrl()), code);
      rekor.misbehave('500');
      assertFailed(await verifyArtifact(provenance(), RIGHT_SOURCE), code);
      assert.equal(rekor.requests.length, 0, 'Rekor was asked although the envelope was already wrong');
    });
  }

  test('a certificate of another Sigstore, Rekor down: certificate-chain-invalid', async () => {
    const other = await SigningKit.create();
    const foreign = await other.signDsse(provenanceStatement(), IN_TOTO_PAYLOAD_TYPE, { tlogKind: 'intoto/0.0.2', workflowUri: GENERATOR_V2_0_0, github: CLAIMS });
    assertFailed(await verifyArtifact(jsonl(foreign), RIGHT_SOURCE, [amd64Path], await closedPortUrl()), 'certificate-chain-invalid');
  });

  test('a sound envelope with Rekor down still reaches the log: tlog-unavailable (offline checks are not a pass)', async () => {
    assertFailed(await verifyArtifact(jsonl(signed), RIGHT_SOURCE, [amd64Path], await closedPortUrl()), 'tlog-unavailable');
  });
});
