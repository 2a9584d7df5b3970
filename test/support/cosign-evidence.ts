// Media types, predicate types, flags and push helpers shared by the tests that put kit-signed
// cosign evidence into a real registry (test/images/*.test.ts, test/e2e).
import { resolve } from 'node:path';
import { KIT_IDENTITY, KIT_ISSUER } from '../formats/format-fixtures';
import { pushBlob, pushJsonManifest } from './registry';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE = 'application/vnd.dsse.envelope.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const EMPTY = 'application/vnd.oci.empty.v1+json';
export const CYCLONEDX = 'https://cyclonedx.org/bom';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
export const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
/** pbs-exporter's SBOM policy, as committed under test/fixtures. */
export const SBOM_POLICY = resolve(__dirname, '../../../test/fixtures/policies/pbs-exporter/policy-sbom.cue');
/** cosign's identity flags for the signing kit's certificates. */
export const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];

/** One layer of a cosign tag-scheme manifest: its blob and cosign's annotations. */
export interface CosignLayerInput {
  mediaType: string;
  blob: Buffer;
  annotations: Record<string, string>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A cosign tag-scheme manifest (`sha256-<hex>.sig|.att`) for `digest` in `host/repo`, with these layers in order. */
export async function pushCosignManifest(host: string, repo: string, digest: string, suffix: 'sig' | 'att', layers: CosignLayerInput[]): Promise<void> {
  const config = await pushBlob(host, repo, Buffer.from('{}'));
  const descriptors = [];
  for (const layer of layers) descriptors.push({ mediaType: layer.mediaType, ...(await pushBlob(host, repo, layer.blob)), annotations: layer.annotations });
  await pushJsonManifest(
    host,
    repo,
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descriptors },
    [`${digest.replace(':', '-')}.${suffix}`],
  );
}

export interface BundleReferrer {
  bundle: object;
  /** the dev.sigstore.bundle.predicateType annotation; undefined: none */
  annotation?: string;
  /** the referrer manifest's subject; default the image given */
  subject?: Descriptor;
}

/**
 * cosign --new-bundle-format output on a registry without the referrers API: each bundle in a
 * referrer manifest pushed by digest, and the `sha256-<hex>` fallback index listing them.
 */
export async function pushBundleReferrers(host: string, repo: string, image: Descriptor, referrers: BundleReferrer[]): Promise<void> {
  const empty = await pushBlob(host, repo, Buffer.from('{}'));
  const descriptors = [];
  for (const r of referrers) {
    const layer = await pushBlob(host, repo, Buffer.from(JSON.stringify(r.bundle)));
    const annotations: Record<string, string> = { 'dev.sigstore.bundle.content': 'dsse-envelope' };
    if (r.annotation !== undefined) annotations['dev.sigstore.bundle.predicateType'] = r.annotation;
    const pushed = await pushJsonManifest(host, repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03,
      config: { mediaType: EMPTY, ...empty },
      layers: [{ mediaType: BUNDLE_V03, ...layer }],
      subject: r.subject ?? image,
      annotations,
    });
    descriptors.push({ mediaType: OCI_MANIFEST, digest: pushed.digest, size: pushed.size, artifactType: BUNDLE_V03, annotations });
  }
  await pushJsonManifest(host, repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors }, [image.digest.replace(':', '-')]);
}

export interface PushedIndex {
  /** The index: what a multi-arch image is signed at. */
  index: Descriptor;
  /** Platform manifests under it, in the order given. */
  platforms: Array<{ platform: string; digest: string }>;
}

/**
 * A multi-arch image as ko pushes it: per platform a config blob, one layer and an OCI manifest,
 * under an OCI index put under each of `tags`. `seed` makes the bytes (and digests) distinct.
 */
export async function pushMultiArchImage(host: string, repo: string, tags: readonly string[], seed: string, platforms: readonly string[] = ['linux/amd64']): Promise<PushedIndex> {
  const manifests = [];
  const pushedPlatforms = [];
  for (const platform of platforms) {
    const [os, architecture, variant] = platform.split('/');
    const config = await pushBlob(host, repo, Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, seed })));
    const layer = await pushBlob(host, repo, Buffer.from(`${seed} ${platform} layer`));
    const manifest = await pushJsonManifest(host, repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    });
    manifests.push({ mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size, platform: { architecture, os, ...(variant ? { variant } : {}) } });
    pushedPlatforms.push({ platform, digest: manifest.digest });
  }
  const index = await pushJsonManifest(host, repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, tags);
  return { index: { mediaType: OCI_INDEX, digest: index.digest, size: index.size }, platforms: pushedPlatforms };
}
