import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { SigningKit, inTotoStatement } from '../kit/signing-kit';
import { cli } from '../support/run-cli';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed } from './format-fixtures';

/**
 * `provwatch verify-blob-attestation` as cosign's: a kit-signed DSSE attestation in a Sigstore
 * bundle over a local file. Each rule has the forgery that tries to get past it: another
 * predicate type, another file, a plain message signature, a policy the statement breaks.
 */
const SBOM_FILE = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.5"}\n');
const OTHER_FILE = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.5","note":"swapped"}\n');
const CYCLONEDX = 'https://cyclonedx.org/bom';
const PREDICATE = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { type: 'application', name: 'pbs-exporter', version: 'v0.9.0' } }, components: [{ type: 'library', name: 'golang.org/x/net', version: 'v0.33.0' }] };
const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const scratch = new Scratch();
let kit: SigningKit;
let root: string;
let sbomPath: string;
let bundle: object;

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  sbomPath = scratch.file('pbs-exporter.sbom.json', SBOM_FILE);
  const statement = inTotoStatement([{ name: 'pbs-exporter.sbom.json', sha256: sha256Hex(SBOM_FILE) }], CYCLONEDX, PREDICATE);
  bundle = (await kit.signDsse(statement)).bundle('0.3');
});

function verify(file: string, attestation: object, ...flags: string[]) {
  return cli(['verify-blob-attestation', file, '--bundle', scratch.file('sbom.sigstore.json', attestation), '--trusted-root', root, ...flags]);
}

describe('verify-blob-attestation', () => {
  test('an attestation of the file, of the asked type, by the expected signer verifies (cosign: Verified OK)', async () => {
    const result = await verify(sbomPath, bundle, '--type', 'cyclonedx', ...IDENTITY);
    assertPassed(result);
    assert.match(result.stdout, /^Verified OK\nprovwatch: attestation https:\/\/cyclonedx\.org\/bom verified: /);
  });

  test('another predicate type is predicate-type-mismatch (an SBOM is not provenance)', async () => {
    assertFailed(await verify(sbomPath, bundle, '--type', 'slsaprovenance1', ...IDENTITY), 'predicate-type-mismatch');
    // cosign's default --type is `custom`: an untyped call does not accept any attestation either.
    assertFailed(await verify(sbomPath, bundle, ...IDENTITY), 'predicate-type-mismatch');
  });

  test('another file is subject-digest-mismatch', async () => {
    assertFailed(await verify(scratch.file('pbs-exporter.sbom.json', OTHER_FILE), bundle, '--type', 'cyclonedx', ...IDENTITY), 'subject-digest-mismatch');
  });

  test('another signer is refused', async () => {
    assertFailed(
      await verify(sbomPath, bundle, '--type', 'cyclonedx', '--certificate-identity', 'https://github.com/evil/fork/.github/workflows/release.yml@refs/tags/v1', '--certificate-oidc-issuer', KIT_ISSUER),
      'identity-mismatch',
    );
  });

  test('a message signature over the file is not an attestation (envelope-invalid)', async () => {
    const signedBlob = (await kit.signBlob(SBOM_FILE)).bundle('0.3');
    assertFailed(await verify(sbomPath, signedBlob, '--type', 'cyclonedx', ...IDENTITY), 'envelope-invalid');
  });

  test('a CUE policy is applied to the verified statement', async () => {
    const allows = scratch.file('policy.cue', 'predicate: specVersion: "1.5"\n');
    const denies = scratch.file('policy.cue', 'predicate: specVersion: "1.6"\n');
    assertPassed(await verify(sbomPath, bundle, '--type', 'cyclonedx', '--policy', allows, ...IDENTITY));
    const failed = await verify(sbomPath, bundle, '--type', 'cyclonedx', '--policy', denies, ...IDENTITY);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stdout, /^FAILED: policy-[a-z-]+: /);
  });

  test('usage: a FILE and --bundle are required, an unknown --type is named', async () => {
    for (const args of [['--bundle', scratch.file('b.json', bundle)], [sbomPath], [sbomPath, '--bundle', scratch.file('b.json', bundle), '--type', 'sbom']]) {
      const result = await cli(['verify-blob-attestation', ...args, ...IDENTITY]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    }
  });
});
