import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { type DsseSignOptions, type SignOptions, SigningKit, inTotoStatement, simpleSigningPayload } from '../kit/signing-kit';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed, flipBase64 } from '../formats/format-fixtures';
import { type TestRegistry, startRegistry } from '../support/registry';
import {
  type BundleReferrer,
  COSIGN_SIGN,
  CYCLONEDX,
  type CosignLayerInput,
  DSSE,
  IDENTITY,
  OCI_MANIFEST,
  SBOM_POLICY,
  SIMPLE_SIGNING,
  SLSA_V1,
  pushBundleReferrers,
  pushCosignManifest as pushCosignManifestTo,
  pushMultiArchImage,
} from '../support/cosign-evidence';
import { cli } from '../support/run-cli';

/**
 * Kit-signed cosign evidence in a real docker-registry: the cases that
 * cosign-signatures.kit.test.ts (the base matrix: each format passes, identity/issuer/root,
 * another digest, tampering, missing, every Rekor kind, policy, non-CycloneDX) leaves out:
 * - exact reason codes where that file accepts two,
 * - other signers next to ours, a leaf from a CA outside the trust root, and an index signature
 *   that must not cover its platform manifests,
 * - identity and issuer of attestations, several attestations in one `.att` manifest,
 * - bundle referrers whose subject is the real index descriptor: identity, issuer, statement
 *   subject and tampering each on their own, the SBOM policy, and the unauthenticated
 *   predicateType annotation (it sorts; it must never turn an SBOM into a signature).
 */
const WRONG_IDENTITY = ['--certificate-identity', KIT_IDENTITY.replace('v0.8.0', 'v0.8.1'), '--certificate-oidc-issuer', KIT_ISSUER];
const WRONG_ISSUER = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', 'https://accounts.google.com'];
const PURL = 'pkg:golang/github.com/natrontech/pbs-exporter@v0.9.0?type=module';

const scratch = new Scratch();
let kit: SigningKit;
let root: string;
let registry: TestRegistry;
let repoCounter = 0;

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  registry = await startRegistry();
});
after(async () => registry?.stop());

interface PushedImage {
  repo: string;
  /** `host/repo:v0.9.0` */
  ref: string;
  /** `host/repo@<index digest>` */
  byDigest: string;
  /** The index: what a multi-arch image is signed at. */
  index: { mediaType: string; digest: string; size: number };
  /** The amd64 platform manifest under the index. */
  platformDigest: string;
}

/** Config blob + one layer + OCI manifest, under an OCI index tagged `v0.9.0`. */
async function pushImage(): Promise<PushedImage> {
  const repo = `natrontech/pbs-exporter-kit-${++repoCounter}`;
  const { index, platforms } = await pushMultiArchImage(registry.host, repo, ['v0.9.0'], repo);
  return {
    repo,
    ref: `${registry.host}/${repo}:v0.9.0`,
    byDigest: `${registry.host}/${repo}@${index.digest}`,
    index,
    platformDigest: platforms[0].digest,
  };
}

/** A cosign tag-scheme manifest (`sha256-<hex>.sig|.att`) in `repo`, with these layers in order. */
function pushCosignManifest(repo: string, digest: string, suffix: 'sig' | 'att', layers: CosignLayerInput[]): Promise<void> {
  return pushCosignManifestTo(registry.host, repo, digest, suffix, layers);
}

/** A `.sig` layer: simple signing naming `digest`, signed by the kit. */
async function sigLayer(image: PushedImage, digest = image.index.digest, opts: SignOptions = {}): Promise<CosignLayerInput> {
  const payload = simpleSigningPayload(`${registry.host}/${image.repo}`, digest);
  return { mediaType: SIMPLE_SIGNING, blob: payload, annotations: (await kit.signBlob(payload, opts)).ociAnnotations() };
}

function sbom(purl = PURL) {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: 'urn:uuid:8f0c9d8e-3b7a-4c1e-9a55-2f1d6c0b7e21',
    version: 1,
    metadata: { component: { type: 'application', 'bom-ref': purl, name: 'github.com/natrontech/pbs-exporter', version: 'v0.9.0', purl } },
    components: [{ type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.20.0', purl: 'pkg:golang/github.com/prometheus/client_golang@v1.20.0' }],
  };
}

const PROVENANCE = {
  buildDefinition: { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1', externalParameters: {}, internalParameters: {}, resolvedDependencies: [] },
  runDetails: { builder: { id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0' }, metadata: {} },
};

/** An in-toto statement about `subjectDigest`, signed by the kit as DSSE. */
function attest(subjectDigest: string, predicateType: string, predicate: unknown, opts: DsseSignOptions = {}) {
  const statement = inTotoStatement([{ name: 'ghcr.io/natrontech/pbs-exporter', sha256: subjectDigest.replace(/^sha256:/, '') }], predicateType, predicate);
  return kit.signDsse(statement, 'application/vnd.in-toto+json', opts);
}

async function attLayer(...args: Parameters<typeof attest>): Promise<CosignLayerInput> {
  const signed = await attest(...args);
  return { mediaType: DSSE, blob: signed.envelopeBytes, annotations: signed.ociAnnotations() };
}

/** cosign --new-bundle-format output (referrer manifests and the fallback tag) for the image index. */
function pushReferrers(image: PushedImage, referrers: BundleReferrer[]): Promise<void> {
  return pushBundleReferrers(registry.host, image.repo, image.index, referrers);
}

function run(command: string, ...args: string[]) {
  return cli([command, ...args, '--insecure-registry', registry.host, '--trusted-root', root]);
}

async function runJson(command: string, ...args: string[]) {
  const result = await run(command, ...args, '--json');
  assert.equal(result.code, 0, `${result.stdout} ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe('tag-scheme signatures (.sig), beyond the base matrix', () => {
  test('exact codes: a flipped signature annotation, a leaf from a CA outside the root, another trust root', async () => {
    const image = await pushImage();
    const tampered = await sigLayer(image);
    tampered.annotations['dev.cosignproject.cosign/signature'] = flipBase64(tampered.annotations['dev.cosignproject.cosign/signature'], 20);
    await pushCosignManifest(image.repo, image.index.digest, 'sig', [tampered]);
    // The hashedrekord body logs the signature too: the bundle no longer matches its log entry.
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'tlog-entry-mismatch');

    const foreign = await pushImage();
    await pushCosignManifest(foreign.repo, foreign.index.digest, 'sig', [await sigLayer(foreign, undefined, { foreignCa: true })]);
    assertFailed(await run('verify', foreign.ref, ...IDENTITY), 'certificate-chain-invalid');

    const signed = await pushImage();
    await pushCosignManifest(signed.repo, signed.index.digest, 'sig', [await sigLayer(signed)]);
    const otherRoot = scratch.trustedRoot(await SigningKit.create());
    assertFailed(await cli(['verify', signed.ref, ...IDENTITY, '--insecure-registry', registry.host, '--trusted-root', otherRoot]), 'certificate-chain-invalid');
  });

  test("another signer's layer next to ours does not hide ours; alone, it is an identity mismatch", async () => {
    const image = await pushImage();
    const stranger = await sigLayer(image, undefined, { workflowUri: 'https://github.com/attacker/fork/.github/workflows/release.yml@refs/heads/main' });
    await pushCosignManifest(image.repo, image.index.digest, 'sig', [stranger, await sigLayer(image)]);
    const verdict = await runJson('verify', image.ref, ...IDENTITY);
    assert.equal(verdict.evidence.details.verifiedCount, 1);
    assert.equal(verdict.evidence.signer.identity, KIT_IDENTITY);

    const alone = await pushImage();
    await pushCosignManifest(alone.repo, alone.index.digest, 'sig', [await sigLayer(alone, undefined, { workflowUri: 'https://github.com/attacker/fork/.github/workflows/release.yml@refs/heads/main' })]);
    assertFailed(await run('verify', alone.ref, ...IDENTITY), 'identity-mismatch');
  });

  test('the signature of the index is found by tag and by digest, but does not sign the platform manifest', async () => {
    const image = await pushImage();
    await pushCosignManifest(image.repo, image.index.digest, 'sig', [await sigLayer(image)]);
    const verdict = await runJson('verify', image.byDigest, ...IDENTITY);
    assert.equal(verdict.evidence.artifactDigests.image, image.index.digest);
    assert.deepEqual(verdict.evidence.details.formats, ['cosign-layer']);
    assertFailed(await run('verify', `${registry.host}/${image.repo}@${image.platformDigest}`, ...IDENTITY), 'evidence-missing');
  });

  test('a signatures repository holding only a signature of another digest is no signature of this one', async () => {
    const image = await pushImage();
    const signatures = `natrontech/signatures-kit-${repoCounter}`;
    // Under this image's tag, correctly signed, but naming the platform manifest.
    await pushCosignManifest(signatures, image.index.digest, 'sig', [await sigLayer(image, image.platformDigest)]);
    assertFailed(await run('verify', image.ref, ...IDENTITY, '--signatures-repository', `${registry.host}/${signatures}`), 'subject-digest-mismatch');
    const viaEnv = await cli(['verify', image.ref, ...IDENTITY, '--insecure-registry', registry.host, '--trusted-root', root], { COSIGN_REPOSITORY: `${registry.host}/${signatures}` });
    assertFailed(viaEnv, 'subject-digest-mismatch');
  });
});

describe('tag-scheme attestations (.att), beyond the base matrix', () => {
  test('identity and issuer of an SBOM attestation in the sbom repository are checked', async () => {
    const image = await pushImage();
    const sbomRepo = `natrontech/sbom-kit-${repoCounter}`;
    await pushCosignManifest(sbomRepo, image.index.digest, 'att', [await attLayer(image.index.digest, CYCLONEDX, sbom())]);
    const repoFlag = ['--attestations-repository', `${registry.host}/${sbomRepo}`];
    assertPassed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', ...repoFlag, '--policy', SBOM_POLICY, ...IDENTITY));
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', ...repoFlag, ...WRONG_IDENTITY), 'identity-mismatch');
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', ...repoFlag, ...WRONG_ISSUER), 'issuer-mismatch');
    // cosign's COSIGN_REPOSITORY names the attestation repository too; the type may be the URI.
    const viaEnv = await cli(['verify-attestation', image.ref, '--type', CYCLONEDX, ...IDENTITY, '--insecure-registry', registry.host, '--trusted-root', root], { COSIGN_REPOSITORY: `${registry.host}/${sbomRepo}` });
    assertPassed(viaEnv);
  });

  test('provenance and SBOM layers in one .att manifest: each --type finds its own, an absent type is missing', async () => {
    const image = await pushImage();
    await pushCosignManifest(image.repo, image.index.digest, 'att', [
      await attLayer(image.index.digest, SLSA_V1, PROVENANCE, { tlogKind: 'intoto/0.0.1' }),
      await attLayer(image.index.digest, CYCLONEDX, sbom()),
    ]);
    const sbomVerdict = await runJson('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY);
    assert.equal(sbomVerdict.evidence.predicateType, CYCLONEDX);
    assert.equal(sbomVerdict.evidence.details.sbom.mainComponent.purl, PURL);
    assert.equal(sbomVerdict.evidence.details.policy, 'allowed');
    const provenance = await runJson('verify-attestation', image.ref, '--type', 'slsaprovenance1', ...IDENTITY);
    assert.equal(provenance.evidence.predicateType, SLSA_V1);
    assertFailed(await run('verify-attestation', image.ref, '--type', 'spdxjson', ...IDENTITY), 'evidence-missing');
  });

  test('a violating SBOM next to a compliant one fails the policy (every attestation of the type is checked)', async () => {
    const image = await pushImage();
    await pushCosignManifest(image.repo, image.index.digest, 'att', [
      await attLayer(image.index.digest, CYCLONEDX, sbom()),
      await attLayer(image.index.digest, CYCLONEDX, sbom('pkg:golang/github.com/attacker/pbs-exporter@v0.9.0?type=module')),
    ]);
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY), 'policy-violation');
  });
});

describe('Sigstore bundle referrers, beyond the base matrix', () => {
  test('signature and SBOM referrers with the real index as subject pass by tag and by digest', async () => {
    const image = await pushImage();
    await pushReferrers(image, [
      { bundle: (await attest(image.index.digest, COSIGN_SIGN, {})).bundle('0.3'), annotation: COSIGN_SIGN },
      { bundle: (await attest(image.index.digest, CYCLONEDX, sbom())).bundle('0.3'), annotation: CYCLONEDX },
    ]);
    for (const ref of [image.ref, image.byDigest]) {
      const verdict = await runJson('verify', ref, ...IDENTITY);
      assert.deepEqual(verdict.evidence.details.formats, ['sigstore-bundle']);
      assert.equal(verdict.evidence.details.verifiedCount, 1);
      const sbomVerdict = await runJson('verify-attestation', ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY);
      assert.equal(sbomVerdict.evidence.details.policy, 'allowed');
    }
    // Referrers of the index are not referrers of its platform manifest.
    assertFailed(await run('verify', `${registry.host}/${image.repo}@${image.platformDigest}`, ...IDENTITY), 'evidence-missing');
  });

  test('wrong identity, wrong issuer, and a statement about another digest, each on its own', async () => {
    const image = await pushImage();
    await pushReferrers(image, [{ bundle: (await attest(image.index.digest, COSIGN_SIGN, {})).bundle('0.3'), annotation: COSIGN_SIGN }]);
    assertPassed(await run('verify', image.ref, ...IDENTITY));
    assertFailed(await run('verify', image.ref, ...WRONG_IDENTITY), 'identity-mismatch');
    assertFailed(await run('verify', image.ref, ...WRONG_ISSUER), 'issuer-mismatch');

    const other = await pushImage();
    await pushReferrers(other, [{ bundle: (await attest(other.platformDigest, COSIGN_SIGN, {})).bundle('0.3'), annotation: COSIGN_SIGN }]);
    assertFailed(await run('verify', other.ref, ...IDENTITY), 'subject-digest-mismatch');
  });

  test('a tampered bundle signature and a leaf from a CA outside the root fail', async () => {
    const image = await pushImage();
    const bundle = (await attest(image.index.digest, COSIGN_SIGN, {})).bundle('0.3');
    bundle.dsseEnvelope!.signatures[0].sig = flipBase64(bundle.dsseEnvelope!.signatures[0].sig, 20);
    await pushReferrers(image, [{ bundle, annotation: COSIGN_SIGN }]);
    // dsse/0.0.1 bodies log the signature: the envelope no longer matches its entry.
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'tlog-entry-mismatch');

    const foreign = await pushImage();
    await pushReferrers(foreign, [{ bundle: (await attest(foreign.index.digest, COSIGN_SIGN, {}, { foreignCa: true })).bundle('0.3'), annotation: COSIGN_SIGN }]);
    assertFailed(await run('verify', foreign.ref, ...IDENTITY), 'certificate-chain-invalid');
  });

  test('SBOM referrers: a policy violation, another identity, and a non-CycloneDX predicate fail', async () => {
    const violating = await pushImage();
    await pushReferrers(violating, [{ bundle: (await attest(violating.index.digest, CYCLONEDX, sbom('pkg:golang/github.com/attacker/x@v1.0.0?type=module'))).bundle('0.3'), annotation: CYCLONEDX }]);
    assertFailed(await run('verify-attestation', violating.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY), 'policy-violation');
    assertFailed(await run('verify-attestation', violating.ref, '--type', 'cyclonedx', ...WRONG_IDENTITY), 'identity-mismatch');

    const notCycloneDx = await pushImage();
    await pushReferrers(notCycloneDx, [{ bundle: (await attest(notCycloneDx.index.digest, CYCLONEDX, { spdxVersion: 'SPDX-2.3', name: 'pbs-exporter', packages: [] })).bundle('0.3'), annotation: CYCLONEDX }]);
    assertFailed(await run('verify-attestation', notCycloneDx.ref, '--type', 'cyclonedx', ...IDENTITY), 'sbom-invalid');
  });

  test('the predicateType annotation only sorts: an SBOM annotated as a signature signs nothing', async () => {
    const image = await pushImage();
    await pushReferrers(image, [{ bundle: (await attest(image.index.digest, CYCLONEDX, sbom())).bundle('0.3'), annotation: COSIGN_SIGN }]);
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'evidence-missing');
  });

  test('referrers without the predicateType annotation are tried as signature and as attestation', async () => {
    const image = await pushImage();
    await pushReferrers(image, [
      { bundle: (await attest(image.index.digest, COSIGN_SIGN, {})).bundle('0.3') },
      { bundle: (await attest(image.index.digest, CYCLONEDX, sbom())).bundle('0.3') },
    ]);
    const verdict = await runJson('verify', image.ref, ...IDENTITY);
    assert.equal(verdict.evidence.details.verifiedCount, 1);
    assertPassed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY));
  });

  test('our referrer counts for nothing when its manifest names another subject, even when listed under this image', async () => {
    const image = await pushImage();
    const platform = { mediaType: OCI_MANIFEST, digest: image.platformDigest, size: 1 };
    await pushReferrers(image, [
      { bundle: (await attest(image.index.digest, COSIGN_SIGN, {}, { workflowUri: 'https://github.com/attacker/fork/.github/workflows/x.yml@refs/heads/main' })).bundle('0.3'), annotation: COSIGN_SIGN },
      { bundle: (await attest(image.index.digest, COSIGN_SIGN, {})).bundle('0.3'), annotation: COSIGN_SIGN, subject: platform },
    ]);
    // Only the stranger's referrer is about this image: ours is listed but names the platform manifest.
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'identity-mismatch');
  });
});
