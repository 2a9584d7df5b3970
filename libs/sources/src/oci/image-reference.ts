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
 * gets neither: the caller decides whether `latest` is meant. A malformed one is
 * `invalid-reference` with a message saying which part is wrong.
 */
export function parseImageReference(input: string): ImageReference {
  let rest = input.trim();
  if (rest.length === 0) throw invalid(input, 'it is empty');
  if (rest.length > 512) throw invalid(input, 'it is longer than 512 characters');
  if (/\s/.test(rest)) throw invalid(input, 'it contains white space');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, digestProblem(digest));
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, tagProblem(tag));
  }
  const name = parseName(rest, input);
  return { ...name, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** `ghcr.io/org/repo` or `org/repo` (Docker Hub) without tag or digest. */
export function parseRepositoryName(input: string): RepositoryName {
  return parseName(input, input);
}

function parseName(input: string, whole: string): RepositoryName {
  if (input.length === 0) throw invalid(whole, 'the repository name is empty');
  const parts = input.split('/');
  let registry = 'docker.io';
  // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift() as string;
    if (!HOST.test(registry)) throw invalid(whole, `the registry ${JSON.stringify(registry)} is not a host name or host:port`);
  }
  if (DOCKER_HUB_NAMES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB_REGISTRY;
    if (parts.length === 1) parts.unshift('library');
  }
  if (parts.length === 0) throw invalid(whole, 'it names a registry but no repository');
  const bad = parts.find((p) => !PATH_COMPONENT.test(p));
  if (bad !== undefined) throw invalid(whole, pathComponentProblem(bad));
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(whole, 'the repository path is longer than 255 characters');
  return { registry: registry.toLowerCase(), repository };
}

/** Validates a name built elsewhere (config, API input) with the same grammar as the parser. */
export function checkRepositoryName(name: RepositoryName): RepositoryName {
  const registry = name.registry.toLowerCase();
  const whole = `${name.registry}/${name.repository}`;
  if (!HOST.test(registry)) throw invalid(whole, `the registry ${JSON.stringify(name.registry)} is not a host name or host:port`);
  if (name.repository.length > 255) throw invalid(whole, 'the repository path is longer than 255 characters');
  const bad = name.repository.split('/').find((p) => !PATH_COMPONENT.test(p));
  if (bad !== undefined) throw invalid(whole, pathComponentProblem(bad));
  return { registry: DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_REGISTRY : registry, repository: name.repository };
}

function digestProblem(digest: string): string {
  if (digest.length === 0) return 'the digest after @ is empty';
  if (digest.includes('@')) return 'it has more than one @';
  return `the digest ${JSON.stringify(digest.slice(0, 140))} is not sha256:<64 lower-case hex> or sha512:<128 lower-case hex>`;
}

function tagProblem(tag: string): string {
  if (tag.length === 0) return 'the tag after : is empty';
  if (tag.length > 128) return 'the tag is longer than 128 characters';
  return `the tag ${JSON.stringify(tag)} may only have letters, digits, _ . - and must not start with . or -`;
}

function pathComponentProblem(part: string): string {
  if (part.length === 0) return 'the repository path has an empty component (a leading, trailing or double /)';
  if (/[A-Z]/.test(part)) return `the repository path component ${JSON.stringify(part)} must be lower case`;
  return `the repository path component ${JSON.stringify(part)} may only have a-z, 0-9 and single ., _, __ or - between them`;
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function invalid(input: string, problem: string): SourceError {
  // The input is echoed only in a bounded form: watchlists are ours, but keep logs tidy.
  return new SourceError('invalid-reference', `invalid image reference ${JSON.stringify(input.slice(0, 200))}: ${problem}`);
}
