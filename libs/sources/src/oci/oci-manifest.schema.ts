import { SourceError } from '../source.error';
import { isDigest } from './image-reference';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

/** What we ask for by default: both OCI and Docker v2 forms, never Docker schema 1 (unsigned-able). */
export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
];

const KNOWN_TYPES = new Set<string>(DEFAULT_MANIFEST_ACCEPT);
const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture?: string; readonly os?: string; readonly variant?: string };
  readonly urls?: readonly string[];
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type ManifestDocument = ImageManifest | ImageIndex;

export function isIndex(doc: ManifestDocument): doc is ImageIndex {
  return Array.isArray((doc as ImageIndex).manifests);
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

/**
 * Checks the shape of a manifest or index received from a registry. The bytes are hostile until
 * checked: descriptor digests end up in URL paths and tags, sizes in limits, so each is validated
 * here and every problem is reported at once.
 */
export function parseManifestDocument(
  bytes: Buffer,
  contentType: string | undefined,
): { document: ManifestDocument; mediaType: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad(['not JSON']);
  }
  const problems: string[] = [];
  if (!isObject(doc)) throw bad(['not a JSON object']);
  // The document's own mediaType wins over a generic Content-Type (some registries send
  // application/json), but two different manifest types for one document is a confusion attempt.
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (doc.mediaType !== undefined && declared === undefined) problems.push('mediaType is not a string');
  if (declared !== undefined && contentType !== undefined && KNOWN_TYPES.has(contentType) && declared !== contentType) {
    problems.push('mediaType differs from Content-Type');
  }
  const mediaType = declared ?? contentType;
  if (mediaType === undefined || !KNOWN_TYPES.has(mediaType)) problems.push('not an OCI or Docker v2 manifest or index');
  if (doc.schemaVersion !== 2) problems.push('schemaVersion is not 2');
  checkOptionalString(doc, 'artifactType', problems, '');
  checkAnnotations(doc.annotations, 'annotations', problems);
  if (doc.subject !== undefined) checkDescriptor(doc.subject, 'subject', problems);
  if (mediaType !== undefined && isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) problems.push('manifests is not an array');
    else doc.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`, problems));
  } else {
    if (doc.config === undefined) problems.push('config is missing');
    else checkDescriptor(doc.config, 'config', problems);
    if (!Array.isArray(doc.layers)) problems.push('layers is not an array');
    else doc.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`, problems));
  }
  if (problems.length > 0 || mediaType === undefined) throw bad(problems);
  return { document: doc as unknown as ManifestDocument, mediaType };
}

/** Validates a descriptor list such as a referrers response. */
export function checkDescriptors(list: unknown, where: string): Descriptor[] {
  const problems: string[] = [];
  if (!Array.isArray(list)) throw bad([`${where} is not an array`]);
  list.forEach((d, i) => checkDescriptor(d, `${where}[${i}]`, problems));
  if (problems.length > 0) throw bad(problems);
  return list as Descriptor[];
}

function checkDescriptor(d: unknown, where: string, problems: string[]): void {
  if (!isObject(d)) {
    problems.push(`${where} is not an object`);
    return;
  }
  if (typeof d.mediaType !== 'string' || d.mediaType.length === 0) problems.push(`${where}.mediaType is missing`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) problems.push(`${where}.digest is not a canonical digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) problems.push(`${where}.size is not a size`);
  checkOptionalString(d, 'artifactType', problems, `${where}.`);
  checkAnnotations(d.annotations, `${where}.annotations`, problems);
}

function checkAnnotations(a: unknown, where: string, problems: string[]): void {
  if (a === undefined) return;
  if (!isObject(a) || !Object.values(a).every((v) => typeof v === 'string')) problems.push(`${where} is not a string map`);
}

function checkOptionalString(o: Record<string, unknown>, key: string, problems: string[], prefix: string): void {
  if (o[key] !== undefined && typeof o[key] !== 'string') problems.push(`${prefix}${key} is not a string`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(problems: string[]): SourceError {
  return new SourceError('registry-bad-response', `malformed manifest: ${problems.slice(0, 10).join('; ')}`);
}
