export const SLSA_GITHUB_GENERATOR_REPOSITORY = 'https://github.com/slsa-framework/slsa-github-generator';
export const SLSA_GITHUB_GENERATOR_WORKFLOWS = `${SLSA_GITHUB_GENERATOR_REPOSITORY}/.github/workflows/`;
export const JRELEASER_REPOSITORY = 'https://github.com/jreleaser/release-action';

/** A builder the caller trusts: a GitHub Actions workflow, named without its `@ref`. */
export interface TrustedBuilder {
  /** e.g. https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml */
  id: string;
}

const workflow = (file: string) => `${SLSA_GITHUB_GENERATOR_WORKFLOWS}${file}`;

export const GENERIC_GENERATOR = workflow('generator_generic_slsa3.yml');
export const CONTAINER_GENERATOR = workflow('generator_container_slsa3.yml');
export const GO_BUILDER = workflow('builder_go_slsa3.yml');
export const CONTAINER_BASED_BUILDER = workflow('builder_container-based_slsa3.yml');
export const NODEJS_BUILDER = workflow('builder_nodejs_slsa3.yml');
export const MAVEN_BUILDER = workflow('builder_maven_slsa3.yml');
export const GRADLE_BUILDER = workflow('builder_gradle_slsa3.yml');
export const GENERIC_DELEGATOR = workflow('delegator_generic_slsa3.yml');
export const LOW_PERMS_DELEGATOR = workflow('delegator_lowperms-generic_slsa3.yml');

/**
 * Delegators sign for "bring your own builder" (BYOB) workflows: the certificate names the
 * delegator, and the provenance's builder.id names the builder that called it (nodejs, maven,
 * gradle, or a third party's). That is a property of the workflow, not a setting, so it is fixed
 * here as in slsa-verifier.
 */
export const DELEGATOR_WORKFLOWS: readonly string[] = [GENERIC_DELEGATOR, LOW_PERMS_DELEGATOR];

/**
 * Who may sign provenance for each artifact kind, as slsa-verifier's tables
 * (verifiers/internal/gha/builder.go) have it. Release artifacts: the generic generator, the Go
 * builder, the container-based builder, and the two delegators (BYOB). Images: the container
 * generator only. The nodejs, maven and gradle builders (and JReleaser's) never sign: they call a
 * delegator, and appear only as the provenance's builder.id behind it (DELEGATED_BUILDERS).
 */
export const ARTIFACT_TRUSTED_BUILDERS: readonly TrustedBuilder[] = [
  GENERIC_GENERATOR,
  GO_BUILDER,
  CONTAINER_BASED_BUILDER,
  GENERIC_DELEGATOR,
  LOW_PERMS_DELEGATOR,
].map((id) => ({ id }));
export const IMAGE_TRUSTED_BUILDERS: readonly TrustedBuilder[] = [{ id: CONTAINER_GENERATOR }];

/**
 * The default when a caller names no list: slsa-verifier verify-artifact's signers. (It used to be
 * the union of every builder, which let builders that may only be delegated sign directly.)
 */
export const DEFAULT_TRUSTED_BUILDERS: readonly TrustedBuilder[] = ARTIFACT_TRUSTED_BUILDERS;

/**
 * Builders a delegator may name as builder.id when the user gives no --builder-id.
 * Stricter than slsa-verifier, which accepts any workflow path of the slsa-github-generator
 * repository there: only its released BYOB builders are listed (a new workflow file in that
 * repository, or one of its test workflows, is not trusted by default).
 */
export const DELEGATED_BUILDERS: readonly string[] = [NODEJS_BUILDER, MAVEN_BUILDER, GRADLE_BUILDER];

/** A workflow identity split at its ref, as Fulcio writes it into the SAN. */
export interface WorkflowId {
  /** https://github.com/OWNER/REPO/.github/workflows/FILE.yml */
  name: string;
  /** refs/tags/v2.1.0 */
  ref: string;
}

const WORKFLOW_NAME = /^https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/\.github\/workflows\/[A-Za-z0-9_.-]+\.ya?ml$/;

/** `https://github.com/OWNER/REPO/.github/workflows/FILE.yml@REF`, or undefined. */
export function parseWorkflowId(id: string): WorkflowId | undefined {
  const at = id.indexOf('@');
  if (at < 0 || id.indexOf('@', at + 1) >= 0) return undefined;
  const name = id.slice(0, at);
  const ref = id.slice(at + 1);
  if (!WORKFLOW_NAME.test(name) || !/^refs\/[^\s]+$/.test(ref)) return undefined;
  return { name, ref };
}

/**
 * slsa-verifier's `--builder-id` matching ("loose"): the name must be equal; a version, if the
 * user gave one, must be the builder's ref or its short form (`v2.1.0` for `refs/tags/v2.1.0`).
 */
export function builderIdMatches(expected: string, actual: WorkflowId): boolean {
  const parts = expected.split('@');
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') return false;
  const [name, version] = parts;
  if (name !== actual.name) return false;
  return version === undefined || version === actual.ref || `refs/tags/${version}` === actual.ref;
}

/**
 * The trusted list as names. An entry that is not a workflow URL without ref is a configuration
 * bug, not evidence: it throws a plain error (the verdict becomes `error`, never `fail`).
 */
export function trustedBuilderNames(builders: readonly TrustedBuilder[]): ReadonlySet<string> {
  for (const b of builders) {
    if (!WORKFLOW_NAME.test(b.id)) throw new TypeError(`trusted builder ${JSON.stringify(b.id)} is not https://github.com/OWNER/REPO/.github/workflows/FILE.yml`);
  }
  return new Set(builders.map((b) => b.id));
}
