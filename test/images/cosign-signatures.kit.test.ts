import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { type DsseTlogKind, SigningKit, inTotoStatement, simpleSigningPayload } from '../kit/signing-kit';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed } from '../formats/format-fixtures';
import { type TestRegistry, pushBlob, pushJsonManifest, startRegistry } from '../support/registry';
import { BUNDLE_V03, COSIGN_SIGN, CYCLONEDX, DSSE, EMPTY, IDENTITY, OCI_INDEX, OCI_MANIFEST, SBOM_POLICY, SIMPLE_SIGNING } from '../support/cosign-evidence';
import { cli } from '../support/run-cli';

/**
 * cosign's image evidence in every generation, signed with the test kit and served by a real
 * docker-registry: tag-scheme `.sig`/`.att` in the image repository and in separate
 * repositories (pbs-exporter up to v0.8), and Sigstore bundle referrers (from v0.9). The image
 * is a multi-arch style index, signed at the index digest as pbs-exporter does.
 */

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

/** A small multi-arch style image: one platform manifest under an index, tagged `v0.9.0`. */
async function pushImage(): Promise<{ repo: string; ref: string; digest: string; otherDigest: string }> {
  const repo = `natrontech/pbs-exporter-${++repoCounter}`;
  const config = await pushBlob(registry.host, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  const layer = await pushBlob(registry.host, repo, Buffer.from(`layer of ${repo}`));
  const manifest = await pushJsonManifest(registry.host, repo, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
  const index = await pushJsonManifest(
    registry.host,
    repo,
    { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size, platform: { architecture: 'amd64', os: 'linux' } }] },
    ['v0.9.0'],
  );
  return { repo, ref: `${registry.host}/${repo}:v0.9.0`, digest: index.digest, otherDigest: manifest.digest };
}

const cosignTag = (digest: string, suffix: string) => `${digest.replace(':', '-')}.${suffix}`;

/** A cosign tag-scheme manifest with one layer, in `repo`, under the tag for `digest`. */
async function pushCosignManifest(repo: string, digest: string, suffix: 'sig' | 'att', layer: { mediaType: string; blob: Buffer; annotations: Record<string, string> }) {
  const config = await pushBlob(registry.host, repo, Buffer.from('{}'));
  const blob = await pushBlob(registry.host, repo, layer.blob);
  await pushJsonManifest(
    registry.host,
    repo,
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: layer.mediaType, ...blob, annotations: layer.annotations }] },
    [cosignTag(digest, suffix)],
  );
}

async function signImage(ref: string, digest: string, opts: Parameters<SigningKit['signBlob']>[1] = {}) {
  const payload = simpleSigningPayload(ref, digest);
  const signed = await kit.signBlob(payload, opts);
  return { mediaType: SIMPLE_SIGNING, blob: payload, annotations: signed.ociAnnotations() };
}

function sbom(component = 'pkg:golang/github.com/natrontech/pbs-exporter@v0.9.0?type=module') {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    metadata: { component: { type: 'application', name: 'pbs-exporter', version: 'v0.9.0', 'bom-ref': component, purl: component } },
    components: [{ type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.20.0', purl: 'pkg:golang/github.com/prometheus/client_golang@v1.20.0' }],
  };
}

async function attest(digest: string, predicateType: string, predicate: unknown, tlogKind: DsseTlogKind = 'dsse/0.0.1', subjectDigest = digest) {
  const statement = inTotoStatement([{ name: 'ghcr.io/natrontech/pbs-exporter', sha256: subjectDigest.slice('sha256:'.length) }], predicateType, predicate);
  return kit.signDsse(statement, 'application/vnd.in-toto+json', { tlogKind });
}

/** A Sigstore bundle referrer (cosign --new-bundle-format) plus the fallback index tag that registries without the referrers API use. */
async function pushBundleReferrers(repo: string, subject: { digest: string; size?: number }, referrers: Array<{ bundle: object; predicateType: string; subjectDigest?: string }>) {
  const empty = await pushBlob(registry.host, repo, Buffer.from('{}'));
  const descriptors = [];
  for (const r of referrers) {
    const layer = await pushBlob(registry.host, repo, Buffer.from(JSON.stringify(r.bundle)));
    const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': r.predicateType };
    const pushed = await pushJsonManifest(registry.host, repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03,
      config: { mediaType: EMPTY, ...empty },
      layers: [{ mediaType: BUNDLE_V03, ...layer }],
      subject: { mediaType: OCI_INDEX, digest: r.subjectDigest ?? subject.digest, size: 1 },
      annotations,
    });
    descriptors.push({ mediaType: OCI_MANIFEST, digest: pushed.digest, size: pushed.size, artifactType: BUNDLE_V03, annotations });
  }
  await pushJsonManifest(registry.host, repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors }, [subject.digest.replace(':', '-')]);
}

function run(command: string, ...args: string[]) {
  return cli([command, ...args, '--insecure-registry', registry.host, '--trusted-root', root]);
}

describe('tag-scheme signatures (.sig)', () => {
  test('in the image repository: passes; wrong identity, issuer or trust root fail', async () => {
    const image = await pushImage();
    await pushCosignManifest(image.repo, image.digest, 'sig', await signImage(image.ref, image.digest));
    assertPassed(await run('verify', image.ref, ...IDENTITY));
    assertPassed(await run('verify', `${registry.host}/${image.repo}@${image.digest}`, ...IDENTITY));
    assertFailed(await run('verify', image.ref, '--certificate-identity', `${KIT_IDENTITY}x`, '--certificate-oidc-issuer', KIT_ISSUER), 'identity-mismatch');
    assertFailed(await run('verify', image.ref, '--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', 'https://accounts.google.com'), 'issuer-mismatch');
    const otherKit = await SigningKit.create();
    const otherRoot = scratch.trustedRoot(otherKit);
    const result = await cli(['verify', image.ref, ...IDENTITY, '--insecure-registry', registry.host, '--trusted-root', otherRoot]);
    assertFailed(result, 'certificate-chain-invalid', 'tlog-inclusion-invalid');
  });

  test('in a separate signatures repository (COSIGN_REPOSITORY / --signatures-repository)', async () => {
    const image = await pushImage();
    const signatures = `natrontech/signatures-${repoCounter}`;
    await pushCosignManifest(signatures, image.digest, 'sig', await signImage(image.ref, image.digest));
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'evidence-missing');
    assertPassed(await run('verify', image.ref, ...IDENTITY, '--signatures-repository', `${registry.host}/${signatures}`));
    const viaEnv = await cli(['verify', image.ref, ...IDENTITY, '--insecure-registry', registry.host, '--trusted-root', root], { COSIGN_REPOSITORY: `${registry.host}/${signatures}` });
    assertPassed(viaEnv);
  });

  test('a valid signature of another digest does not sign this image', async () => {
    const image = await pushImage();
    // Signed correctly by the right identity, but the payload names the platform manifest.
    await pushCosignManifest(image.repo, image.digest, 'sig', await signImage(image.ref, image.otherDigest));
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'subject-digest-mismatch');
  });

  test('a tampered signature annotation fails', async () => {
    const image = await pushImage();
    const layer = await signImage(image.ref, image.digest);
    const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64');
    sig[sig.length - 3] ^= 0x01;
    layer.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
    await pushCosignManifest(image.repo, image.digest, 'sig', layer);
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'signature-invalid', 'tlog-entry-mismatch');
  });

  test('no signature at all is missing', async () => {
    const image = await pushImage();
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'evidence-missing');
  });
});

describe('tag-scheme attestations (.att): SBOM', () => {
  for (const tlogKind of ['dsse/0.0.1', 'intoto/0.0.2', 'intoto/0.0.1'] as const) {
    test(`a CycloneDX SBOM in a separate sbom repository passes with pbs-exporter's policy-sbom.cue (${tlogKind} entry)`, async () => {
      const image = await pushImage();
      const sbomRepo = `natrontech/sbom-${repoCounter}`;
      const signed = await attest(image.digest, CYCLONEDX, sbom(), tlogKind);
      await pushCosignManifest(sbomRepo, image.digest, 'att', { mediaType: DSSE, blob: signed.envelopeBytes, annotations: signed.ociAnnotations() });
      const result = await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, '--attestations-repository', `${registry.host}/${sbomRepo}`, ...IDENTITY, '--json');
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const verdict = JSON.parse(result.stdout);
      assert.equal(verdict.evidence.details.sbom.format, 'CycloneDX');
      assert.equal(verdict.evidence.details.sbom.componentCount, 1);
      assert.equal(verdict.evidence.details.policy, 'allowed');
    });
  }

  test('an intoto/0.0.1 entry for other envelope bytes (same content, re-serialised) fails', async () => {
    const image = await pushImage();
    const signed = await attest(image.digest, CYCLONEDX, sbom(), 'intoto/0.0.1');
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(signed.envelopeBytes.toString()), null, 1));
    await pushCosignManifest(image.repo, image.digest, 'att', { mediaType: DSSE, blob: reserialised, annotations: signed.ociAnnotations() });
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', ...IDENTITY), 'tlog-entry-mismatch');
  });

  test('an SBOM that violates the policy, one that is not CycloneDX, and one about another digest fail', async () => {
    const image = await pushImage();
    const violating = await attest(image.digest, CYCLONEDX, sbom('pkg:golang/github.com/attacker/pbs-exporter@v0.9.0?type=module'));
    await pushCosignManifest(image.repo, image.digest, 'att', { mediaType: DSSE, blob: violating.envelopeBytes, annotations: violating.ociAnnotations() });
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY), 'policy-violation');

    const image2 = await pushImage();
    const notCycloneDx = await attest(image2.digest, CYCLONEDX, { spdxVersion: 'SPDX-2.3', packages: [] });
    await pushCosignManifest(image2.repo, image2.digest, 'att', { mediaType: DSSE, blob: notCycloneDx.envelopeBytes, annotations: notCycloneDx.ociAnnotations() });
    assertFailed(await run('verify-attestation', image2.ref, '--type', 'cyclonedx', ...IDENTITY), 'sbom-invalid');

    const image3 = await pushImage();
    const otherSubject = await attest(image3.digest, CYCLONEDX, sbom(), 'dsse/0.0.1', image3.otherDigest);
    await pushCosignManifest(image3.repo, image3.digest, 'att', { mediaType: DSSE, blob: otherSubject.envelopeBytes, annotations: otherSubject.ociAnnotations() });
    assertFailed(await run('verify-attestation', image3.ref, '--type', 'cyclonedx', ...IDENTITY), 'subject-digest-mismatch');
  });
});

describe('Sigstore bundle referrers (cosign --new-bundle-format)', () => {
  test('signature and SBOM as referrers pass through the fallback tag', async () => {
    const image = await pushImage();
    const signature = await attest(image.digest, COSIGN_SIGN, {});
    const sbomAttestation = await attest(image.digest, CYCLONEDX, sbom());
    await pushBundleReferrers(image.repo, { digest: image.digest }, [
      { bundle: signature.bundle('0.3'), predicateType: COSIGN_SIGN },
      { bundle: sbomAttestation.bundle('0.3'), predicateType: CYCLONEDX },
    ]);
    assertPassed(await run('verify', image.ref, ...IDENTITY));
    assertPassed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--policy', SBOM_POLICY, ...IDENTITY));
  });

  test('wrong identity fails; a statement about another digest fails', async () => {
    const image = await pushImage();
    await pushBundleReferrers(image.repo, { digest: image.digest }, [{ bundle: (await attest(image.digest, COSIGN_SIGN, {}, 'dsse/0.0.1', image.otherDigest)).bundle('0.3'), predicateType: COSIGN_SIGN }]);
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'subject-digest-mismatch');
    assertFailed(await run('verify', image.ref, '--certificate-identity', `${KIT_IDENTITY}x`, '--certificate-oidc-issuer', KIT_ISSUER), 'identity-mismatch', 'subject-digest-mismatch');
  });

  test('a referrer whose manifest names another subject is ignored: missing', async () => {
    const image = await pushImage();
    const signature = await attest(image.digest, COSIGN_SIGN, {});
    await pushBundleReferrers(image.repo, { digest: image.digest }, [{ bundle: signature.bundle('0.3'), predicateType: COSIGN_SIGN, subjectDigest: image.otherDigest }]);
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'evidence-missing');
  });
});

