import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * sigstore-conformance's bundle-verify suite through `provwatch verify-bundle`, exactly as its
 * harness calls a client: every case with the artifact as a path and as a `sha256:` digest.
 * A case named *_fail must be rejected (exit 1, FAILED), every other must verify (exit 0).
 */
const SUITE = vector('sigstore-conformance', 'bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

const cases = readdirSync(SUITE).filter((name) => statSync(join(SUITE, name)).isDirectory()).sort();

function argsFor(dir: string, artifactArg: string): string[] {
  const file = (name: string) => join(dir, name);
  const args = ['verify-bundle', '--bundle', file('bundle.sigstore.json')];
  if (existsSync(file('key.pub'))) args.push('--key', file('key.pub'));
  else {
    const identity = existsSync(file('identity')) ? readFileSync(file('identity'), 'utf8').trim() : DEFAULT_IDENTITY;
    const issuer = existsSync(file('issuer')) ? readFileSync(file('issuer'), 'utf8').trim() : DEFAULT_ISSUER;
    args.push('--certificate-identity', identity, '--certificate-oidc-issuer', issuer);
  }
  args.push('--trusted-root', existsSync(file('trusted_root.json')) ? file('trusted_root.json') : PUBLIC_GOOD_TRUSTED_ROOT);
  args.push(artifactArg);
  return args;
}

describe('sigstore-conformance bundle-verify', () => {
  test('the suite is present and not trivially small', () => {
    assert.ok(cases.length >= 50, `expected the conformance cases, found ${cases.length}`);
  });

  for (const name of cases) {
    const dir = join(SUITE, name);
    const artifactPath = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(SUITE, 'a.txt');
    const digest = `sha256:${createHash('sha256').update(readFileSync(artifactPath)).digest('hex')}`;
    const expectFail = name.endsWith('_fail');
    for (const [mode, artifactArg] of [['path', artifactPath], ['digest', digest]] as const) {
      test(`${name} [${mode}] ${expectFail ? 'is rejected' : 'verifies'}`, async () => {
        const result = await cli(argsFor(dir, artifactArg));
        if (expectFail) {
          assert.equal(result.code, 1, `expected FAILED, got ${result.code}: ${result.stdout} ${result.stderr}`);
          assert.match(result.stdout, /^FAILED: [a-z-]+: /);
        } else {
          assert.equal(result.code, 0, `expected PASSED, got ${result.code}: ${result.stdout} ${result.stderr}`);
          assert.match(result.stdout, /^PASSED: /);
        }
      });
    }
  }
});
