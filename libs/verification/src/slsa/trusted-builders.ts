/** slsa-github-generator's reusable workflows that produce SLSA level 3 provenance. */
export const SLSA_GITHUB_GENERATOR_REPOSITORY = 'https://github.com/slsa-framework/slsa-github-generator';
export const TRUSTED_GENERATOR_WORKFLOWS = [
  'generator_generic_slsa3.yml',
  'generator_container_slsa3.yml',
  'builder_go_slsa3.yml',
  'builder_nodejs_slsa3.yml',
  'builder_maven_slsa3.yml',
  'builder_gradle_slsa3.yml',
  'builder_container-based_slsa3.yml',
  'builder_docker-based_slsa3.yml',
  'delegator_generic_slsa3.yml',
  'delegator_lowperms-generic_slsa3.yml',
] as const;

export interface BuilderIdentity {
  /** The workflow URL without ref, e.g. https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml */
  path: string;
  /** `refs/tags/vX.Y.Z` */
  ref: string;
}

const WORKFLOW_URI = /^(https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/\.github\/workflows\/[A-Za-z0-9_.-]+\.ya?ml)@(refs\/[^\s]+)$/;
const VERSION_TAG_REF = /^refs\/tags\/v[0-9]+\.[0-9]+\.[0-9]+(-rc\.[0-9]+)?$/;

export function parseBuilderId(id: string): BuilderIdentity | undefined {
  const m = WORKFLOW_URI.exec(id);
  return m ? { path: m[1], ref: m[2] } : undefined;
}

/**
 * Trusted when it is one of the generator's workflows at a release tag. A branch or an odd tag
 * could be anything pushed to the generator repository, so it is not trusted (like
 * slsa-verifier, which only accepts semver release tags of its builders).
 */
export function isTrustedBuilder(builder: BuilderIdentity, trustedPaths: readonly string[] = defaultTrustedBuilderPaths()): boolean {
  return trustedPaths.includes(builder.path) && VERSION_TAG_REF.test(builder.ref);
}

export function defaultTrustedBuilderPaths(): string[] {
  return TRUSTED_GENERATOR_WORKFLOWS.map((w) => `${SLSA_GITHUB_GENERATOR_REPOSITORY}/.github/workflows/${w}`);
}
