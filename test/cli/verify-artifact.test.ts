import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * Real slsa-github-generator v2.1.0 output (example-package, via slsa-verifier's testdata)
 * through `provwatch verify-artifact`, with slsa-verifier's flags.
 */
const GENERIC = (name: string) => vector('slsa-github-generator', 'generic-v2.1.0', name);
const PUSH = GENERIC('binary-linux-amd64-push-v14');
const PUSH_PROVENANCE = GENERIC('binary-linux-amd64-push-v14.intoto.jsonl');
const DISPATCH = GENERIC('binary-linux-amd64-workflow_dispatch');
const DISPATCH_PROVENANCE = GENERIC('binary-linux-amd64-workflow_dispatch.intoto.jsonl');
const SOURCE = 'github.com/slsa-framework/example-package';
const BUILDER = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';

const scratch = mkdtempSync(join(tmpdir(), 'provwatch-verify-artifact-'));

function verifyArtifact(artifact: string, provenance: string, ...flags: string[]) {
  return cli(['verify-artifact', artifact, '--provenance-path', provenance, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, ...flags]);
}

function failedWith(result: { code: number; stdout: string; stderr: string }, code: string) {
  assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stdout}${result.stderr}`);
  assert.match(result.stdout, new RegExp(`^FAILED: ${code}: `), result.stdout);
}

describe('verify-artifact with generic generator v2.1.0 provenance', () => {
  test('a tag build verifies with the right source and tag', async () => {
    const result = await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v14');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^PASSED: Verified SLSA provenance\nprovwatch: verified SLSA provenance: /);
  });

  test('--json carries the evidence: builder, source, signer, log entry, digests', async () => {
    const result = await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v14', '--json');
    assert.equal(result.code, 0, result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.status, 'pass');
    assert.equal(verdict.code, 'verified');
    assert.equal(verdict.evidence.builderId, `${BUILDER}@refs/tags/v2.1.0`);
    assert.match(verdict.evidence.sourceUri, /github\.com\/slsa-framework\/example-package/);
    assert.equal(verdict.evidence.signer.issuer, 'https://token.actions.githubusercontent.com');
    assert.equal(verdict.evidence.signer.identity, `${BUILDER}@refs/tags/v2.1.0`);
    assert.match(verdict.evidence.signer.extensions.sourceRepositoryRef, /^refs\/tags\/v14$/);
    assert.ok(Number(verdict.evidence.tlog[0].logIndex) > 0);
    assert.match(verdict.evidence.artifactDigests['binary-linux-amd64-push-v14'], /^sha256:[0-9a-f]{64}$/);
  });

  test('a branch build verifies with --source-branch main', async () => {
    const result = await verifyArtifact(DISPATCH, DISPATCH_PROVENANCE, '--source-uri', SOURCE, '--source-branch', 'main');
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  test('the builder id given explicitly, with or without its tag, verifies', async () => {
    for (const id of [BUILDER, `${BUILDER}@refs/tags/v2.1.0`]) {
      const result = await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--builder-id', id);
      assert.equal(result.code, 0, `${id}: ${result.stdout}`);
    }
  });

  test('wrong repository fails', async () => {
    failedWith(await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', 'github.com/natrontech/pbs-exporter'), 'source-mismatch');
  });

  test('wrong tag fails', async () => {
    failedWith(await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v13'), 'source-tag-mismatch');
  });

  test('a tag expected on a branch build fails', async () => {
    failedWith(await verifyArtifact(DISPATCH, DISPATCH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v14'), 'source-tag-mismatch');
  });

  test('wrong branch fails', async () => {
    failedWith(await verifyArtifact(DISPATCH, DISPATCH_PROVENANCE, '--source-uri', SOURCE, '--source-branch', 'release'), 'source-branch-mismatch');
  });

  test('wrong builder fails', async () => {
    const other = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml';
    failedWith(await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--builder-id', other), 'builder-untrusted');
  });

  test('an artifact modified by one byte fails', async () => {
    const bytes = readFileSync(PUSH);
    bytes[bytes.length >> 1] ^= 0x01;
    const tampered = join(scratch, 'binary-linux-amd64-push-v14');
    writeFileSync(tampered, bytes);
    failedWith(await verifyArtifact(tampered, PUSH_PROVENANCE, '--source-uri', SOURCE), 'subject-digest-mismatch');
  });

  test("another artifact's provenance fails", async () => {
    // Both example-package binaries are byte-identical (a reproducible build), so the other
    // artifact is slsa-verifier's own test provenance of a file named "hello".
    const other = vector('slsa-verifier-bundles', 'valid-v0.3.intoto.sigstore');
    failedWith(await verifyArtifact(PUSH, other, '--source-uri', SOURCE), 'subject-digest-mismatch');
  });

  test('the same bytes built from a branch do not pass as the tag build', async () => {
    failedWith(await verifyArtifact(PUSH, DISPATCH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v14'), 'source-tag-mismatch');
  });

  test('a provenance file with a flipped signature byte fails', async () => {
    const bundle = JSON.parse(readFileSync(PUSH_PROVENANCE, 'utf8'));
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    sig[10] ^= 0x01;
    bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    const tampered = join(scratch, 'tampered.intoto.jsonl');
    writeFileSync(tampered, JSON.stringify(bundle));
    const result = await verifyArtifact(PUSH, tampered, '--source-uri', SOURCE);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAILED: (signature-invalid|tlog-entry-mismatch): /);
  });
});

describe('verify-artifact input handling', () => {
  test('missing flags are usage errors (exit 2)', async () => {
    assert.equal((await cli(['verify-artifact', PUSH, '--source-uri', SOURCE])).code, 2);
    assert.equal((await cli(['verify-artifact', '--provenance-path', PUSH_PROVENANCE, '--source-uri', SOURCE])).code, 2);
    assert.equal((await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--source-tag', 'v14', '--source-branch', 'main')).code, 2);
    assert.equal((await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', 'https://example.com/x')).code, 2);
    assert.equal((await verifyArtifact(PUSH, PUSH_PROVENANCE, '--source-uri', SOURCE, '--no-such-flag')).code, 2);
  });

  test('an unreadable artifact or provenance file is a clear FAILED', async () => {
    failedWith(await verifyArtifact(join(scratch, 'absent'), PUSH_PROVENANCE, '--source-uri', SOURCE), 'input-unreadable');
    failedWith(await verifyArtifact(PUSH, join(scratch, 'absent.jsonl'), '--source-uri', SOURCE), 'input-unreadable');
  });

  test('a truncated provenance file fails without a crash', async () => {
    const text = readFileSync(PUSH_PROVENANCE, 'utf8');
    const truncated = join(scratch, 'truncated.intoto.jsonl');
    writeFileSync(truncated, text.slice(0, text.length / 2));
    const result = await verifyArtifact(PUSH, truncated, '--source-uri', SOURCE);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAILED: (provenance-invalid|envelope-invalid): /);
  });

  test('a legacy envelope with no reachable Rekor is an error, never a pass', async () => {
    const bundle = JSON.parse(readFileSync(PUSH_PROVENANCE, 'utf8'));
    const cert = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64').toString('base64');
    const pem = `-----BEGIN CERTIFICATE-----\n${cert.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    const envelope = { ...bundle.dsseEnvelope, signatures: [{ ...bundle.dsseEnvelope.signatures[0], cert: pem }] };
    const legacy = join(scratch, 'legacy.intoto.jsonl');
    writeFileSync(legacy, `${JSON.stringify(envelope)}\n`);
    const result = await verifyArtifact(PUSH, legacy, '--source-uri', SOURCE, '--rekor-url', 'http://127.0.0.1:9');
    failedWith(result, 'tlog-unavailable');
  });
});
