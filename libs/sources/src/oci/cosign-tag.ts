import { assertDigest } from './image-reference';

export type CosignArtifactKind = 'sig' | 'att' | 'sbom';

/**
 * cosign's tag scheme: `sha256:<hex>` becomes `sha256-<hex>.sig` (signatures), `.att`
 * (attestations), `.sbom` (attached SBOMs), in the image repository or in `COSIGN_REPOSITORY`.
 */
export function cosignTag(digest: string, kind: CosignArtifactKind): string {
  return `${digestTag(digest)}.${kind}`;
}

/** The OCI 1.1 referrers fallback tag: `sha256-<hex>`, pointing to an index of referrers. */
export function referrersTag(digest: string): string {
  return digestTag(digest);
}

function digestTag(digest: string): string {
  // Validated so that a hostile `subject` digest cannot turn into an arbitrary tag or path.
  return assertDigest(digest).replace(':', '-');
}
