export { type CosignArtifactKind, cosignTag, referrersTag } from './cosign-tag';
export {
  DOCKER_HUB_REGISTRY,
  type ImageReference,
  type RepositoryName,
  assertDigest,
  checkRepositoryName,
  formatImageReference,
  isDigest,
  isTag,
  parseImageReference,
  parseRepositoryName,
} from './image-reference';
export {
  DEFAULT_MANIFEST_ACCEPT,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type ManifestDocument,
  MediaTypes,
  isIndex,
} from './oci-manifest.schema';
export {
  type BlobOptions,
  type ManifestHead,
  type ManifestResult,
  OciRegistryClient,
  type OciRegistryClientOptions,
  type ReferrersResult,
  type RepositoryInput,
} from './oci-registry.client';
export { type CredentialsProvider, type RegistryCredentials } from './registry-auth';
export { type RequestOutcome, Watchdog, type WatchdogOptions, type WatchdogReason } from './registry-http';
