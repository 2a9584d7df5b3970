import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/** Hostile or broken inputs end in a clear FAILED or usage message: never a crash, never PASSED. */
const scratch = mkdtempSync(join(tmpdir(), 'provwatch-input-'));
const HAPPY = vector('sigstore-conformance', 'bundle-verify', 'happy-path-v0.3');
const A_TXT = vector('sigstore-conformance', 'bundle-verify', 'a.txt');
const IDENTITY = [
  '--certificate-identity',
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  '--certificate-oidc-issuer',
  'https://token.actions.githubusercontent.com',
];

function file(name: string, content: string | Buffer): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

function verifyBundle(bundle: string, artifact = A_TXT, root = PUBLIC_GOOD_TRUSTED_ROOT) {
  return cli(['verify-bundle', '--bundle', bundle, ...IDENTITY, '--trusted-root', root, artifact]);
}

function failed(result: { code: number; stdout: string; stderr: string }, ...codes: string[]) {
  assert.equal(result.code, 1, `${result.stdout} ${result.stderr}`);
  const m = /^FAILED: ([a-z-]+): /.exec(result.stdout);
  assert.ok(m && codes.includes(m[1]), `expected ${codes.join('|')}: ${result.stdout}`);
}

describe('input errors', () => {
  test('the happy case passes, so the failures below are about the input', async () => {
    assert.equal((await verifyBundle(join(HAPPY, 'bundle.sigstore.json'))).code, 0);
  });

  test('a bundle larger than the limit is refused before it is read', async () => {
    const huge = file('huge.sigstore.json', '');
    truncateSync(huge, 65 * 1024 * 1024); // sparse: costs no disk
    failed(await verifyBundle(huge), 'input-too-large');
  });

  test('empty, truncated, non-JSON and wrong-media-type bundles', async () => {
    const text = readFileSync(join(HAPPY, 'bundle.sigstore.json'), 'utf8');
    failed(await verifyBundle(file('empty.json', '')), 'bundle-invalid');
    failed(await verifyBundle(file('truncated.json', text.slice(0, 200))), 'bundle-invalid');
    failed(await verifyBundle(file('binary.json', Buffer.from([0xff, 0xfe, 0x00, 0x01]))), 'bundle-invalid');
    failed(await verifyBundle(file('array.json', '[]')), 'bundle-invalid');
    const wrongType = JSON.parse(text);
    wrongType.mediaType = 'application/vnd.in-toto+json';
    failed(await verifyBundle(file('wrong-type.json', JSON.stringify(wrongType))), 'bundle-unsupported-version');
  });

  test('an unreadable bundle, artifact or trusted root', async () => {
    failed(await verifyBundle(join(scratch, 'absent.json')), 'input-unreadable');
    failed(await verifyBundle(join(HAPPY, 'bundle.sigstore.json'), join(scratch, 'absent.txt')), 'input-unreadable');
    failed(await verifyBundle(join(HAPPY, 'bundle.sigstore.json'), scratch), 'input-unreadable');
    failed(await verifyBundle(join(HAPPY, 'bundle.sigstore.json'), A_TXT, join(scratch, 'absent-root.json')), 'trust-root-invalid');
    failed(await verifyBundle(join(HAPPY, 'bundle.sigstore.json'), A_TXT, file('bad-root.json', '{"mediaType":"x"}')), 'trust-root-invalid');
  });

  test('usage errors exit 2 with the usage line', async () => {
    for (const argv of [
      ['verify-bundle', A_TXT],
      ['verify-bundle', '--bundle', join(HAPPY, 'bundle.sigstore.json'), A_TXT],
      ['verify-bundle', '--bundle', 'x', '--key', 'k', ...IDENTITY, A_TXT],
      ['verify-bundle', '--bundle', 'x', '--certificate-identity-regexp', '(', '--certificate-oidc-issuer', 'https://x', A_TXT],
      ['verify-bundle', '--bundle', 'x', ...IDENTITY, '--certificate-identity-regexp', '^a$', A_TXT],
      ['verify-blob', A_TXT, ...IDENTITY],
      ['no-such-command'],
      [],
    ]) {
      const result = await cli(argv);
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stdout} ${result.stderr}`);
      assert.match(result.stderr + result.stdout, /usage: provwatch/);
    }
  });

  test('--json prints one JSON verdict on stdout and the FAILED line on stderr', async () => {
    const result = await cli(['verify-bundle', '--bundle', file('empty2.json', ''), ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, '--json', A_TXT]);
    assert.equal(result.code, 1);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'bundle-invalid');
    assert.match(result.stderr, /^FAILED: bundle-invalid: /);
  });
});
