import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestRegistry, pushBlob, pushJsonManifest, pushOciLayout, startRegistry } from '../support/registry';
import { cli } from '../support/run-cli';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * The real slsa-github-generator v2.1.0 container output (image index + cosign .att), pushed
 * as it is into a real docker-registry, checked with verify-image and verify-attestation.
 */
const LAYOUT = vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch');
const DIGEST = readFileSync(vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch.digest'), 'utf8').trim();
const SOURCE = 'github.com/slsa-framework/example-package';
const CONTAINER_BUILDER = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml';
const POLICY = resolve(__dirname, '../../../test/fixtures/policies/example-package/policy.cue');
const scratch = mkdtempSync(join(tmpdir(), 'provwatch-images-'));

let registry: TestRegistry;
let image: string;

before(async () => {
  registry = await startRegistry();
  await pushOciLayout(registry.host, 'slsa/example-package', LAYOUT, 'main');
  image = `${registry.host}/slsa/example-package`;
});
after(async () => registry?.stop());

/** A copy of the layout with only the image entry: the same bytes, no cosign .att. */
function layoutWithoutAttestation(): string {
  const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8'));
  const imageOnly = mkdtempSync(join(tmpdir(), 'provwatch-layout-'));
  cpSync(LAYOUT, imageOnly, { recursive: true });
  const manifests = index.manifests.filter((m: { annotations?: Record<string, string> }) => m.annotations?.kind !== 'dev.cosignproject.cosign/atts');
  writeFileSync(join(imageOnly, 'index.json'), JSON.stringify({ ...index, manifests }));
  return imageOnly;
}

function run(command: string, target: string, ...flags: string[]) {
  return cli([command, target, '--insecure-registry', registry.host, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT, ...flags]);
}

function expectCode(result: { code: number; stdout: string; stderr: string }, code: string) {
  assert.equal(result.code, 1, `expected FAILED ${code}, got exit ${result.code}: ${result.stdout} ${result.stderr}`);
  assert.match(result.stdout, new RegExp(`^FAILED: ${code}: `), result.stdout);
}

const ATTESTATION_IDENTITY = ['--certificate-identity', `${CONTAINER_BUILDER}@refs/tags/v2.1.0`, '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'];

describe('verify-image against a real registry', () => {
  test('the pushed index keeps its digest', async () => {
    const result = await run('verify-image', `${image}:main`, '--source-uri', SOURCE, '--json');
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.evidence.artifactDigests.image, DIGEST);
  });

  test('passes by tag and by digest with the right source and branch', async () => {
    for (const ref of [`${image}:main`, `${image}@${DIGEST}`]) {
      const result = await run('verify-image', ref, '--source-uri', SOURCE, '--source-branch', 'main', '--builder-id', CONTAINER_BUILDER);
      assert.equal(result.code, 0, `${ref}: ${result.stdout} ${result.stderr}`);
    }
  });

  test('passes with the CUE policy and reports its evidence', async () => {
    const result = await run('verify-image', `${image}:main`, '--source-uri', SOURCE, '--policy', POLICY, '--json');
    assert.equal(result.code, 0, result.stderr);
    const verdict = JSON.parse(result.stdout);
    assert.equal(verdict.evidence.builderId, `${CONTAINER_BUILDER}@refs/tags/v2.1.0`);
    assert.equal(verdict.evidence.details.policy, 'allowed');
  });

  test('fails with the wrong source, tag or builder', async () => {
    expectCode(await run('verify-image', `${image}:main`, '--source-uri', 'github.com/natrontech/pbs-exporter'), 'source-mismatch');
    expectCode(await run('verify-image', `${image}:main`, '--source-uri', SOURCE, '--source-tag', 'v1.0.0'), 'source-tag-mismatch');
    const generic = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
    expectCode(await run('verify-image', `${image}:main`, '--source-uri', SOURCE, '--builder-id', generic), 'builder-untrusted');
  });

  test('fails with a policy the provenance does not satisfy', async () => {
    const wrong = join(scratch, 'wrong-policy.cue');
    writeFileSync(wrong, readFileSync(POLICY, 'utf8').replace('@refs/heads/main', '@refs/heads/release'));
    expectCode(await run('verify-image', `${image}:main`, '--source-uri', SOURCE, '--policy', wrong), 'policy-violation');
  });
});

describe('verify-attestation against a real registry', () => {
  test('slsaprovenance passes with the generator identity and the policy', async () => {
    const result = await run('verify-attestation', `${image}:main`, '--type', 'slsaprovenance', '--policy', POLICY, ...ATTESTATION_IDENTITY);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  test('a wrong identity or issuer fails', async () => {
    expectCode(
      await run('verify-attestation', `${image}:main`, '--type', 'slsaprovenance', '--certificate-identity', 'https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v1.0.0', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'),
      'identity-mismatch',
    );
    expectCode(
      await run('verify-attestation', `${image}:main`, '--type', 'slsaprovenance', '--certificate-identity', `${CONTAINER_BUILDER}@refs/tags/v2.1.0`, '--certificate-oidc-issuer', 'https://accounts.google.com'),
      'issuer-mismatch',
    );
  });

  test('an attestation of another predicate type only: the one asked for is missing', async () => {
    const result = await run('verify-attestation', `${image}:main`, '--type', 'cyclonedx', ...ATTESTATION_IDENTITY);
    expectCode(result, 'evidence-missing');
  });

  test('a tag moved to another image has no attestation: missing', async () => {
    const config = await pushBlob(registry.host, 'slsa/example-package', Buffer.from('{}'));
    await pushJsonManifest(
      registry.host,
      'slsa/example-package',
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [] },
      ['moved'],
    );
    const result = await run('verify-image', `${image}:moved`, '--source-uri', SOURCE);
    expectCode(result, 'evidence-missing');
  });

  test('the attestation missing (image pushed without it) is missing, never a pass', async () => {
    await pushOciLayout(registry.host, 'slsa/no-attestation', layoutWithoutAttestation(), 'main');
    expectCode(await run('verify-image', `${registry.host}/slsa/no-attestation:main`, '--source-uri', SOURCE), 'evidence-missing');
  });

  test('a tampered attestation layer fails', async () => {
    const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8'));
    const attEntry = index.manifests.find((m: any) => m.annotations?.kind === 'dev.cosignproject.cosign/atts');
    const attManifest = JSON.parse(readFileSync(join(LAYOUT, 'blobs', 'sha256', attEntry.digest.slice(7)), 'utf8'));
    const layer = attManifest.layers[0];
    const envelope = JSON.parse(readFileSync(join(LAYOUT, 'blobs', 'sha256', layer.digest.slice(7)), 'utf8'));
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.invocation.configSource.uri = 'git+https://github.com/attacker/example-package@refs/heads/main';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const repo = 'slsa/tampered';
    await pushOciLayout(registry.host, repo, LAYOUT, 'main');
    const tamperedLayer = await pushBlob(registry.host, repo, Buffer.from(JSON.stringify(envelope)));
    const config = await pushBlob(registry.host, repo, readFileSync(join(LAYOUT, 'blobs', 'sha256', attManifest.config.digest.slice(7))));
    await pushJsonManifest(
      registry.host,
      repo,
      { ...attManifest, config: { ...attManifest.config, ...config }, layers: [{ ...layer, ...tamperedLayer }] },
      [`${DIGEST.replace(':', '-')}.att`],
    );
    const result = await run('verify-image', `${registry.host}/${repo}:main`, '--source-uri', SOURCE);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /^FAILED: (signature-invalid|tlog-entry-mismatch): /);
  });

  test('the attestation in a separate repository is found with --provenance-repository / COSIGN_REPOSITORY', async () => {
    await pushOciLayout(registry.host, 'slsa/attestations-only', LAYOUT, 'unused');
    await pushOciLayout(registry.host, 'slsa/image-only', layoutWithoutAttestation(), 'main');
    const flagged = await run('verify-image', `${registry.host}/slsa/image-only:main`, '--source-uri', SOURCE, '--provenance-repository', `${registry.host}/slsa/attestations-only`);
    assert.equal(flagged.code, 0, flagged.stdout);
    const viaEnv = await cli(
      ['verify-image', `${registry.host}/slsa/image-only:main`, '--source-uri', SOURCE, '--insecure-registry', registry.host, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT],
      { COSIGN_REPOSITORY: `${registry.host}/slsa/attestations-only` },
    );
    assert.equal(viaEnv.code, 0, viaEnv.stdout);
  });

  test('a registry that is not allowed over plain HTTP is an error, not a verdict on the image', async () => {
    const result = await cli(['verify-image', `${image}:main`, '--source-uri', SOURCE, '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT]);
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stdout, /PASSED|Verified OK/);
  });
});
