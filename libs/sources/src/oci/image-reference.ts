import { SourceError } from '../source.error';

/** A repository on a registry. `registry` is the API host (with port when not the default). */
export interface RepositoryName {
  readonly registry: string;
  readonly repository: string;
}

export interface ImageReference extends RepositoryName {
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** Docker Hub's API lives on another host than the name people write. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

// The distribution spec's grammar, anchored; references come from watchlists and from
// attacker-influenced documents (subjects, annotations), so nothing loose gets into a URL path.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

export function assertDigest(value: string): string {
  if (!DIGEST.test(value)) throw new SourceError('invalid-reference', 'not a sha256 or sha512 digest in canonical form');
  return value;
}

/**
 * Parses `ghcr.io/org/repo:tag`, `...@sha256:<hex>`, `localhost:5000/x/y:tag`, `nginx`
 * (Docker Hub: `registry-1.docker.io/library/nginx`). A reference with neither tag nor digest
 * gets neither: the caller decides whether `latest` is meant.
 */
export function parseImageReference(input: string): ImageReference {
  let rest = input.trim();
  if (rest.length === 0 || rest.length > 512) throw invalid(input);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input);
  }
  const name = parseRepositoryName(rest);
  return { ...name, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** `ghcr.io/org/repo` or `org/repo` (Docker Hub) without tag or digest. */
export function parseRepositoryName(input: string): RepositoryName {
  const parts = input.split('/');
  let registry = 'docker.io';
  // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift() as string;
    if (!HOST.test(registry)) throw invalid(input);
  }
  if (DOCKER_HUB_NAMES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB_REGISTRY;
    if (parts.length === 1) parts.unshift('library');
  }
  if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) throw invalid(input);
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(input);
  return { registry: registry.toLowerCase(), repository };
}

/** Validates a name built elsewhere (config, API input) with the same grammar as the parser. */
export function checkRepositoryName(name: RepositoryName): RepositoryName {
  const registry = name.registry.toLowerCase();
  if (!HOST.test(registry) || name.repository.length > 255 || !name.repository.split('/').every((p) => PATH_COMPONENT.test(p))) {
    throw invalid(`${name.registry}/${name.repository}`);
  }
  return { registry: DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_REGISTRY : registry, repository: name.repository };
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function invalid(input: string): SourceError {
  // The input is echoed only in a bounded form: watchlists are ours, but keep logs tidy.
  return new SourceError('invalid-reference', `invalid image reference: ${JSON.stringify(input.slice(0, 200))}`);
}
