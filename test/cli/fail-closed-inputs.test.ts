import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../apps/cli/src/main';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * Inputs that tried to get past the CLI (issue: fail closed everywhere): a digest argument read
 * as a file, empty flag values falling back to defaults, FIFOs and devices that hang a read.
 */
const scratch = mkdtempSync(join(tmpdir(), 'provwatch-fail-closed-'));
const HAPPY = vector('sigstore-conformance', 'bundle-verify', 'happy-path-v0.3');
const A_TXT = vector('sigstore-conformance', 'bundle-verify', 'a.txt');
const BUNDLE = join(HAPPY, 'bundle.sigstore.json');
const IDENTITY = [
  '--certificate-identity',
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  '--certificate-oidc-issuer',
  'https://token.actions.githubusercontent.com',
];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Ends a CLI run that hangs, so that the test fails instead of hanging (no timing is asserted). */
async function bounded<T>(what: string, run: Promise<T>, ms = 60_000): Promise<T> {
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish: it hangs`)), ms)));
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fail closed: inputs', () => {
  test('a digest argument is always a digest, even when a file of that name exists', async () => {
    const digest = `sha256:${sha256(readFileSync(A_TXT))}`;
    const good = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, digest]);
    assert.equal(good.code, 0, good.stdout);
    // Forged: the attacker plants a file named like the digest of *their* artifact, holding the
    // signed a.txt; the caller asks about the attacker's digest, which nothing signed.
    const attackerDigest = `sha256:${'e'.repeat(64)}`;
    const cwd = process.cwd();
    process.chdir(scratch);
    try {
      copyFileSync(A_TXT, join(scratch, attackerDigest));
      const forged = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, attackerDigest]);
      assert.equal(forged.code, 1, forged.stdout);
      assert.match(forged.stdout, /^FAILED: /);
      // The file itself is reached as ./sha256:...
      const asFile = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, `./${attackerDigest}`]);
      assert.equal(asFile.code, 0, asFile.stdout);
    } finally {
      process.chdir(cwd);
    }
  });

  test('malformed digests are usage errors; sha384 and sha512 digests are digests', async () => {
    for (const bad of ['sha256:', 'sha256:abc', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(64)}`, `sha384:${'g'.repeat(96)}`]) {
      const r = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, /is not a sha(256|384|512) digest/);
    }
    const sha512 = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, `sha512:${'a'.repeat(128)}`]);
    assert.equal(sha512.code, 1, 'a message signed with sha256 cannot be checked against a sha512 digest: never a pass');
  });

  test('every string flag of every command refuses an empty value (exit 2), so none can fall back to a default', async () => {
    let checked = 0;
    for (const command of COMMANDS) {
      const flags = [...(command.usage.matchAll(/--([a-z][a-z0-9-]*) [A-Z]/g) ?? [])].map((m) => m[1]);
      for (const flag of new Set(flags)) {
        const r = await cli([command.name, `--${flag}`, '', 'x']);
        assert.equal(r.code, 2, `${command.name} --${flag} '': ${r.stdout} ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`--${flag} needs a value`), `${command.name} --${flag}`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} flags found in the usage lines`);
    // The case that passed before: an empty trusted root fell back to the public-good root.
    const r = await cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', '', A_TXT]);
    assert.equal(r.code, 2);
  });

  test('unknown, repeated and value-less flags: one line, a suggestion, exit 2, no stack trace', async () => {
    const typo = await cli(['verify-artifact', 'x', '--provenance-pth', 'y']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^error: unknown flag --provenance-pth \(did you mean --provenance-path\?\)$/m);
    const twice = await cli(['verify-bundle', '--bundle', BUNDLE, '--bundle', BUNDLE, ...IDENTITY, A_TXT]);
    assert.match(twice.stderr, /--bundle is given more than once/);
    const missing = await cli(['verify-bundle', ...IDENTITY, '--bundle']);
    assert.match(missing.stderr, /--bundle needs a value/);
    for (const r of [typo, twice, missing]) assert.doesNotMatch(`${r.stdout}${r.stderr}`, /\n\s+at |'--\s|To specify a positional/);
  });

  test('a FIFO, a device, a directory or a link to a FIFO as any file input ends at once, never hangs', async () => {
    const fifo = join(scratch, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(scratch, 'link-to-fifo');
    symlinkSync(fifo, link);
    for (const hostile of [fifo, link, '/dev/zero', scratch]) {
      const runs = [
        cli(['verify-bundle', '--bundle', hostile, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, A_TXT]),
        cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', hostile, A_TXT]),
        cli(['verify-bundle', '--bundle', BUNDLE, ...IDENTITY, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, hostile]),
        cli(['verify-artifact', A_TXT, '--provenance-path', hostile, '--source-uri', 'github.com/o/r', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT]),
        cli(['verify-artifact', hostile, '--provenance-path', BUNDLE, '--source-uri', 'github.com/o/r', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT]),
      ];
      for (const r of await bounded(hostile, Promise.all(runs))) {
        assert.equal(r.code, 1, `${hostile}: ${r.stdout} ${r.stderr}`);
        assert.match(r.stdout, /^FAILED: (input-unreadable|trust-root-invalid): .*not a regular file/, hostile);
      }
    }
  });
});
