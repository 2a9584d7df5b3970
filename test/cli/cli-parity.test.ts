import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../apps/cli/src/main';
import { FLAG_HELP } from '../../apps/cli/src/commands/flag-help';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * What a script written for slsa-verifier or cosign, or a user reading --help, relies on:
 * --version, per-command help that describes every flag with an example, and the result lines.
 */
const PACKAGE = JSON.parse(readFileSync(join(resolve(__dirname, '../../..'), 'package.json'), 'utf8')) as { version: string };

describe('CLI parity with slsa-verifier and cosign', () => {
  test('--version and version print the package version, exit 0', async () => {
    for (const arg of ['--version', 'version']) {
      const result = await cli([arg]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), `provwatch ${PACKAGE.version}`);
    }
  });

  test('every command --help describes every flag of its parser table and shows an example', async () => {
    for (const command of COMMANDS) {
      const result = await cli([command.name, '--help']);
      assert.equal(result.code, 0, `${command.name}: ${result.stderr}`);
      for (const flag of Object.keys(command.flags)) {
        assert.ok(FLAG_HELP[flag]?.text, `${command.name}: --${flag} has no description`);
        const flagLines = result.stdout.split('\nflags:\n')[1]?.split('\n\n')[0] ?? '';
        const line = flagLines.split('\n').find((l) => new RegExp(`^  (-[a-z], )?--${flag}(\\s|$)`).test(l));
        assert.ok(line?.includes(FLAG_HELP[flag].text), `${command.name} --help does not describe --${flag}:\n${result.stdout}`);
      }
      assert.match(result.stdout, new RegExp(`\\nexamples:\\n  provwatch ${command.name} `), `${command.name} --help has no example`);
    }
  });

  test('no flag description is left over from a flag that no command takes', () => {
    const used = new Set(COMMANDS.flatMap((c) => Object.keys(c.flags)));
    assert.deepEqual(Object.keys(FLAG_HELP).filter((f) => !used.has(f)), []);
  });

  test('an unknown flag is one line with a suggestion and a pointer to --help, exit 2', async () => {
    const result = await cli(['verify-artifact', 'a', '--provenance-pth', 'p']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown flag --provenance-pth \(did you mean --provenance-path\?\)\n/);
    assert.match(result.stderr, /provwatch verify-artifact --help describes every flag/);
  });

  test('verify-artifact --print-provenance prints the verified statement after PASSED, and nothing when it fails', async () => {
    const dir = ['slsa-github-generator', 'generic-v2.1.0'] as const;
    const artifact = vector(...dir, 'binary-linux-amd64-push-v14');
    const provenance = vector(...dir, 'binary-linux-amd64-push-v14.intoto.jsonl');
    const base = ['verify-artifact', artifact, '--provenance-path', provenance, '--source-uri', 'github.com/slsa-framework/example-package', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, '--print-provenance'];
    const passed = await cli([...base, '--source-tag', 'v14']);
    assert.equal(passed.code, 0, passed.stderr);
    const [first, detail, printed] = passed.stdout.trim().split('\n');
    assert.equal(first, 'PASSED: Verified SLSA provenance');
    assert.match(detail, /^provwatch: verified SLSA provenance: /);
    const statement = JSON.parse(printed) as { predicateType: string; subject: Array<{ digest: { sha256: string } }> };
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v0.2');
    const sha = (await import('node:crypto')).createHash('sha256').update(readFileSync(artifact)).digest('hex');
    assert.ok(statement.subject.some((s) => s.digest.sha256 === sha), 'the printed statement names the artifact');

    const failed = await cli([...base, '--source-tag', 'v13']);
    assert.equal(failed.code, 1);
    assert.doesNotMatch(failed.stdout, /_type|predicateType/, 'an unverified statement is never printed');
  });

  test('a command loads only what it uses: --help no verifier, verify-artifact no curve library, TUF client, Nest, BullMQ or Prisma', () => {
    const main = resolve(__dirname, '../../apps/cli/src/main.js');
    const loaded = (argv: string[]) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ['-e', `require(${JSON.stringify(main)}).runCli(${JSON.stringify(argv)}, { stdout() {}, stderr() {}, env: {} }).then(() => process.stdout.write(JSON.stringify(Object.keys(require.cache))))`],
          { encoding: 'utf8' },
        ),
      ) as string[];
    const help = loaded(['--help']);
    assert.deepEqual(help.filter((m) => /node_modules\/@sigstore|node_modules\/@noble|libs\/verification/.test(m)), [], '--help loads no verification code');
    const dir = ['slsa-github-generator', 'generic-v2.1.0'] as const;
    const artifact = vector(...dir, 'binary-linux-amd64-push-v14');
    const verify = loaded(['verify-artifact', artifact, '--provenance-path', `${artifact}.intoto.jsonl`, '--source-uri', 'github.com/slsa-framework/example-package', '--source-tag', 'v14', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT]);
    assert.ok(verify.some((m) => m.includes('node_modules/@sigstore/verify')), 'the verifier is loaded when it is used');
    assert.deepEqual(verify.filter((m) => /node_modules\/(@noble|@sigstore\/tuf|@nestjs|bullmq|@prisma)\//.test(m)), []);
  });
});
