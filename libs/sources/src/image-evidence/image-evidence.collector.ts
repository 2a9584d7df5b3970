import type { CosignLayer, ImageEvidence } from '@provwatch/verification';
import { type Descriptor, type ImageManifest, isIndex } from '../oci/oci-manifest.schema';
import { type RepositoryName, parseImageReference, parseRepositoryName } from '../oci/image-reference';
import type { OciRegistryClient } from '../oci/oci-registry.client';
import { SourceError } from '../source.error';

export const SIGSTORE_BUNDLE_ARTIFACT_TYPES = ['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle+json;version=0.3'];
const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
const MAX_LAYERS_PER_MANIFEST = 32;
const MAX_REFERRERS = 64;

export interface ImageEvidenceQuery {
  /** `registry/repo:tag` or `registry/repo@sha256:...`. */
  image: string;
  /** Extra repositories cosign may have written to (COSIGN_REPOSITORY, separate SBOM repository). */
  signatureRepositories?: string[];
  attestationRepositories?: string[];
}

export interface CollectedImageEvidence {
  repository: RepositoryName;
  /** The digest that is verified: given, or resolved from the tag (checked against the bytes). */
  digest: string;
  tag?: string;
  signatures: ImageEvidence[];
  attestations: ImageEvidence[];
}

/**
 * Gathers, from the registry, every signature and attestation cosign may have attached to an
 * image, in both generations: the tag scheme (`sha256-<hex>.sig` / `.att`, in the image's
 * repository or in separate ones) and Sigstore bundles as OCI 1.1 referrers (API or fallback
 * tag). Nothing here is trusted: it only fetches, with digests checked; verification decides.
 */
export class ImageEvidenceCollector {
  constructor(private readonly registry: OciRegistryClient) {}

  async collect(query: ImageEvidenceQuery): Promise<CollectedImageEvidence> {
    const ref = parseImageReference(query.image);
    const repository: RepositoryName = { registry: ref.registry, repository: ref.repository };
    let digest = ref.digest;
    if (!digest) {
      if (!ref.tag) throw new SourceError('invalid-reference', `${query.image} names neither a tag nor a digest`);
      digest = (await this.registry.getManifest(repository, ref.tag)).digest;
    }
    const sigRepos = uniqueRepos([repository, ...(query.signatureRepositories ?? []).map(parseRepositoryName)]);
    const attRepos = uniqueRepos([repository, ...[...(query.attestationRepositories ?? []), ...(query.signatureRepositories ?? [])].map(parseRepositoryName)]);

    const signatures: ImageEvidence[] = [];
    const attestations: ImageEvidence[] = [];
    for (const repo of sigRepos) signatures.push(...(await this.tagSchemeLayers(repository, repo, digest, 'sig')));
    for (const repo of attRepos) attestations.push(...(await this.tagSchemeLayers(repository, repo, digest, 'att')));
    for (const referrer of await this.bundleReferrers(repository, digest)) {
      // The annotation is unauthenticated; it only sorts. The verifier checks the signed statement.
      const predicate = referrer.predicateType;
      if (predicate === undefined || predicate === 'https://sigstore.dev/cosign/sign/v1') signatures.push(referrer.evidence);
      if (predicate !== 'https://sigstore.dev/cosign/sign/v1') attestations.push(referrer.evidence);
    }
    return { repository, digest, tag: ref.tag, signatures, attestations };
  }

  private async tagSchemeLayers(image: RepositoryName, repo: RepositoryName, digest: string, kind: 'sig' | 'att'): Promise<ImageEvidence[]> {
    const manifest = await this.registry.findCosignArtifact(image, digest, kind, { repository: repo });
    if (!manifest) return [];
    if (isIndex(manifest.json)) throw new SourceError('registry-bad-response', `cosign ${kind} artifact of ${digest} is an index, not a manifest`);
    const layers = (manifest.json as ImageManifest).layers ?? [];
    if (layers.length > MAX_LAYERS_PER_MANIFEST) throw new SourceError('registry-too-large', `cosign ${kind} manifest has ${layers.length} layers`);
    const evidence: ImageEvidence[] = [];
    for (const layer of layers) {
      const blob = await this.registry.getBlob(repo, layer.digest, { expectedSize: layer.size });
      const cosignLayer: CosignLayer = { mediaType: layer.mediaType, digest: layer.digest, annotations: { ...(layer.annotations ?? {}) }, blob };
      evidence.push({ format: 'cosign-layer', layer: cosignLayer, location: `${repo.registry}/${repo.repository}@${manifest.digest}#${layer.digest}` });
    }
    return evidence;
  }

  private async bundleReferrers(repo: RepositoryName, digest: string): Promise<Array<{ evidence: ImageEvidence; predicateType?: string }>> {
    const { manifests } = await this.registry.getReferrers(repo, digest);
    const candidates = manifests.filter((d: Descriptor) => d.artifactType !== undefined && SIGSTORE_BUNDLE_ARTIFACT_TYPES.includes(d.artifactType));
    if (candidates.length > MAX_REFERRERS) throw new SourceError('registry-too-large', `${candidates.length} bundle referrers for ${digest}`);
    const found: Array<{ evidence: ImageEvidence; predicateType?: string }> = [];
    for (const descriptor of candidates) {
      const manifest = await this.registry.getManifest(repo, descriptor.digest);
      const doc = manifest.json as ImageManifest & { subject?: Descriptor };
      // A referrer only counts for the image its manifest names as subject.
      if (isIndex(manifest.json) || doc.subject?.digest !== digest) continue;
      const layer = (doc.layers ?? []).find((l) => SIGSTORE_BUNDLE_ARTIFACT_TYPES.includes(l.mediaType));
      if (!layer) continue;
      const bundle = await this.registry.getBlob(repo, layer.digest, { expectedSize: layer.size });
      found.push({
        evidence: { format: 'sigstore-bundle', bundle, location: `${repo.registry}/${repo.repository}@${manifest.digest}` },
        predicateType: doc.annotations?.[BUNDLE_PREDICATE_ANNOTATION] ?? descriptor.annotations?.[BUNDLE_PREDICATE_ANNOTATION],
      });
    }
    return found;
  }
}

function uniqueRepos(repos: RepositoryName[]): RepositoryName[] {
  const seen = new Set<string>();
  return repos.filter((r) => {
    const key = `${r.registry}/${r.repository}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

