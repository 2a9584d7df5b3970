import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../../apps/cli/src/main';
import { SigningKit } from '../kit/signing-kit';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed } from '../formats/format-fixtures';
import { type CliResult, cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * The command line's own input handling (issue 9): digest arguments, empty and malformed flags,
 * non-regular files, malformed image references, and no crash whatever the arguments.
 */
const scratch = new Scratch();
const ARTIFACT = Buffer.from('provwatch input-handling artifact\n');
const PLANTED = Buffer.from('planted bytes in the working directory\n');
const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];
let kit: SigningKit;
let root: string;

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
});

function usageError(result: CliResult, flagOrText: string | RegExp): void {
  assert.equal(result.code, 2, `expected exit 2, got ${result.code}: ${result.stdout} ${result.stderr}`);
  assert.match(result.stderr, /^error: /);
  assert.match(result.stderr, /usage: provwatch/);
  if (typeof flagOrText === 'string') assert.ok(result.stderr.includes(flagOrText), `${flagOrText} not named: ${result.stderr}`);
  else assert.match(result.stderr, flagOrText);
  assert.doesNotMatch(result.stdout + result.stderr, /\n\s+at |PASSED|Verified OK/);
}

/** Runs `cli` with the working directory set to `dir` (the conformance protocol resolves names there). */
async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(before);
  }
}

describe('verify-bundle: a digest argument is a digest, never a file', () => {
  test('sha256:<hex> of the signed artifact passes even when a file of that name holds other bytes', async () => {
    const bundle = scratch.file('b.json', (await kit.signBlob(ARTIFACT)).bundle('0.3'));
    const dir = join(scratch.dir, 'cwd-1');
    mkdirSync(dir);
    const name = `sha256:${hex('sha256', ARTIFACT)}`;
    writeFileSync(join(dir, name), PLANTED);
    await inDir(dir, async () => {
      assertPassed(await cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, name]));
      // The file is reachable as ./NAME, and then its own bytes are verified (and do not match).
      assertFailed(await cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, `./${name}`]), 'subject-digest-mismatch', 'signature-invalid');
    });
  });

  test('a planted file named after another digest is not verified in its place', async () => {
    // The attack: the file holds the signed bytes, its name is the digest of something else.
    const bundle = scratch.file('b.json', (await kit.signBlob(ARTIFACT)).bundle('0.3'));
    const dir = join(scratch.dir, 'cwd-2');
    mkdirSync(dir);
    const name = `sha256:${hex('sha256', PLANTED)}`;
    writeFileSync(join(dir, name), ARTIFACT);
    await inDir(dir, async () => {
      assertFailed(await cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, name]), 'subject-digest-mismatch', 'signature-invalid');
      assertPassed(await cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, `./${name}`]));
    });
  });

  test('DSSE subjects with only sha512 (npm provenance): file, sha512: digest pass; sha256: and another sha512 fail', async () => {
    const statement = Buffer.from(JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'pkg:npm/example@1.0.0', digest: { sha512: hex('sha512', ARTIFACT) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: { buildType: 'https://example.test/build' } },
    }));
    const bundle = scratch.file('b.json', (await kit.signDsse(statement)).bundle('0.3'));
    const run = (target: string) => cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, target]);
    assertPassed(await run(scratch.file('artifact.tgz', ARTIFACT)));
    assertPassed(await run(`sha512:${hex('sha512', ARTIFACT)}`));
    assertFailed(await run(`sha256:${hex('sha256', ARTIFACT)}`), 'subject-digest-mismatch');
    assertFailed(await run(`sha512:${hex('sha512', PLANTED)}`), 'subject-digest-mismatch');
    assertFailed(await run(scratch.file('other.tgz', PLANTED)), 'subject-digest-mismatch');
  });

  test('sha384: digests are accepted; a message signature over sha256 cannot be checked by a sha512 digest', async () => {
    const bundle = scratch.file('b.json', (await kit.signBlob(ARTIFACT)).bundle('0.3'));
    const run = (target: string) => cli(['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY, target]);
    assertFailed(await run(`sha512:${hex('sha512', ARTIFACT)}`), 'input-unreadable');
    assertFailed(await run(`sha384:${hex('sha384', ARTIFACT)}`), 'input-unreadable');
  });

  const good = hex('sha256', ARTIFACT);
  for (const [what, target] of [
    ['too short', `sha256:${good.slice(1)}`],
    ['too long', `sha256:${good}0`],
    ['not hex', `sha256:${good.slice(2)}zz`],
    ['upper-case hex', `sha256:${good.toUpperCase()}`],
    ['upper-case prefix', `SHA256:${good}`],
    ['prefix alone', 'sha256:'],
    ['sha512 of sha256 length', `sha512:${good}`],
    ['unsupported algorithm', `sha1:${good.slice(0, 40)}`],
  ] as const) {
    test(`a malformed digest (${what}) is a usage error`, async () => {
      usageError(await cli(['verify-bundle', '--bundle', 'b.json', ...IDENTITY, target]), /error: .* is not a sha(256|384|512)(, sha384 or sha512)? digest: /);
    });
  }
});

describe('flags: every string flag of every command refuses an empty value (tables enumerated)', () => {
  const cases = COMMANDS.flatMap((c) => Object.entries(c.flags).filter(([, spec]) => spec.type === 'string').map(([flag]) => [c.name, flag] as const));
  test('the tables are there and non-trivial', () => assert.ok(cases.length >= 40, `${cases.length} string flags`));
  for (const [command, flag] of cases) {
    test(`${command} --${flag} '' and --${flag}= are usage errors naming the flag`, async () => {
      usageError(await cli([command, `--${flag}`, '', 'x']), `--${flag} needs a value; an empty one is not allowed`);
      usageError(await cli([command, `--${flag}=`, 'x']), `--${flag} needs a value; an empty one is not allowed`);
      usageError(await cli([command, `--${flag}`, '  ', 'x']), `--${flag} needs a value; an empty one is not allowed`);
    });
  }

  test('--trusted-root "" no longer falls back to the public-good root', async () => {
    const bundle = scratch.file('b.json', (await kit.signBlob(ARTIFACT)).bundle('0.3'));
    usageError(await cli(['verify-bundle', '--bundle', bundle, '--trusted-root', '', ...IDENTITY, `sha256:${hex('sha256', ARTIFACT)}`]), '--trusted-root needs a value; an empty one is not allowed');
  });

  for (const [what, argv, text] of [
    ['an unknown flag', ['verify-bundle', '--bundel', 'b.json', 'x'], 'unknown flag --bundel'],
    ['an unknown short flag', ['verify-bundle', '-x', 'x'], 'unknown flag -x'],
    ['a flag given twice', ['verify-bundle', '--bundle', 'a', '--bundle', 'b', 'x'], '--bundle is given more than once'],
    ['a flag missing its value', ['verify-bundle', 'x', '--bundle'], '--bundle needs a value'],
    ['a flag swallowing the next flag', ['verify-bundle', '--bundle', '--json', 'x'], '--bundle needs a value, got the flag --json'],
    ['a value for a boolean flag', ['verify-bundle', '--json=yes', 'x'], '--json takes no value'],
    ['an empty argument', ['verify-bundle', '--bundle', 'b', ''], 'an empty argument'],
    ['an unknown command', ['verify-everything'], 'unknown command "verify-everything"'],
    ['no command', [], 'no command given'],
    ['a lone quote', ['verify-blob', '"', "--certificate-identity='x"], 'either --bundle'],
    ['a lone quote as a flag', ['verify-blob', "--'"], "unknown flag --'"],
  ] as const) {
    test(`${what} is a usage error with our own message`, async () => {
      const result = await cli([...argv]);
      assert.equal(result.code, 2, result.stderr);
      assert.ok(result.stderr.includes(text), result.stderr);
      assert.doesNotMatch(result.stderr, /ERR_PARSE_ARGS|To specify an option argument|\n\s+at /);
    });
  }
});

describe('image references are parsed before any registry is asked', () => {
  const refs: Array<[string, RegExp]> = [
    ['ghcr.io/Foo/Bar:', /tag after : is empty/],
    ['ghcr.io/Foo/Bar:v1', /"Foo" must be lower case/],
    ['::', /tag after : is empty/],
    ['a@sha256:zz', /digest "sha256:zz" is not/],
    ['ghcr.io/x/y z:v1', /white space/],
    ['ghcr.io//y:v1', /empty component/],
    ['ghcr.io/x/y', /neither a tag nor a digest/],
  ];
  const identity = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];
  for (const [ref, problem] of refs) {
    for (const argv of [
      ['verify', ref, ...identity],
      ['verify-attestation', ref, '--type', 'cyclonedx', ...identity],
      ['verify-image', ref, '--source-uri', 'github.com/o/r'],
    ]) {
      test(`${argv[0]} ${JSON.stringify(ref)} is a usage error saying what is wrong`, async () => {
        usageError(await cli(argv), problem);
      });
    }
  }
  test('a malformed repository flag or COSIGN_REPOSITORY is a usage error naming it', async () => {
    usageError(await cli(['verify', 'ghcr.io/x/y:v1', ...identity, '--signatures-repository', 'ghcr.io/X/sigs']), '--signatures-repository');
    usageError(await cli(['verify', 'ghcr.io/x/y:v1', ...identity], { COSIGN_REPOSITORY: 'ghcr.io/a,' }), 'COSIGN_REPOSITORY');
  });
});

/** The real entry point in a child process, killed after `boundMs` so no case can hang the suite. */
function provwatch(argv: string[], boundMs = 30_000): Promise<CliResult & { killed: boolean }> {
  const bin = resolve(__dirname, '../../../bin/provwatch.js');
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout: stdout.trimEnd(), stderr: stderr.trimEnd(), killed });
    });
  });
}

describe('non-regular files are refused, never opened for a blocking read', () => {
  let fifo: string;
  let link: string;
  let bundle: string;
  let provenance: string;
  before(async () => {
    fifo = join(scratch.dir, 'a.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    link = join(scratch.dir, 'link-to-fifo');
    symlinkSync(fifo, link);
    bundle = scratch.file('b.json', (await kit.signBlob(ARTIFACT)).bundle('0.3'));
    provenance = vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl');
  });
  after(() => undefined);

  const base = () => ['verify-bundle', '--bundle', bundle, '--trusted-root', root, ...IDENTITY];
  const inputs: Array<[string, (bad: string) => string[], string]> = [
    ['--bundle', (bad) => ['verify-bundle', '--bundle', bad, '--trusted-root', root, ...IDENTITY, `sha256:${hex('sha256', ARTIFACT)}`], 'input-unreadable'],
    ['--trusted-root', (bad) => ['verify-bundle', '--bundle', bundle, '--trusted-root', bad, ...IDENTITY, `sha256:${hex('sha256', ARTIFACT)}`], 'trust-root-invalid'],
    ['--key', (bad) => ['verify-bundle', '--bundle', bundle, '--trusted-root', root, '--key', bad, `sha256:${hex('sha256', ARTIFACT)}`], 'input-unreadable'],
    ['the artifact', (bad) => [...base(), bad], 'input-unreadable'],
    ['--provenance-path', (bad) => ['verify-artifact', scratch.file('bin', ARTIFACT), '--provenance-path', bad, '--source-uri', 'github.com/o/r', '--trusted-root', root], 'input-unreadable'],
    ['verify-artifact ARTIFACT', (bad) => ['verify-artifact', bad, '--provenance-path', provenance, '--source-uri', 'github.com/slsa-framework/example-package', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT], 'input-unreadable'],
    ['--certificate', (bad) => ['verify-blob', scratch.file('f', ARTIFACT), '--certificate', bad, '--signature', bad, ...IDENTITY, '--trusted-root', root], 'input-unreadable'],
    ['--policy', (bad) => ['verify-image', 'ghcr.io/x/y:v1', '--source-uri', 'github.com/o/r', '--policy', bad, '--trusted-root', root], 'input-unreadable'],
  ];
  const kinds: Array<[string, () => string]> = [
    ['a FIFO', () => fifo],
    ['a symlink to a FIFO', () => link],
    ['a character device', () => '/dev/zero'],
    ['a directory', () => scratch.dir],
  ];
  for (const [input, argv, code] of inputs) {
    for (const [kind, path] of kinds) {
      test(`${input} naming ${kind} ends with FAILED ${code}, not a hang`, async () => {
        const result = await provwatch(argv(path()));
        assert.equal(result.killed, false, `killed after the bound: ${result.stdout} ${result.stderr}`);
        assert.equal(result.code, 1, `${result.stdout} ${result.stderr}`);
        assert.match(result.stdout, new RegExp(`^FAILED: ${code}: .*(FIFO|character device|directory).*not a regular file`));
        assert.doesNotMatch(result.stdout + result.stderr, /\n\s+at /);
      });
    }
  }
});
