import {
  CONTAINER_BASED_BUILDER,
  CONTAINER_GENERATOR,
  GENERIC_DELEGATOR,
  GENERIC_GENERATOR,
  GO_BUILDER,
  JRELEASER_REPOSITORY,
  LOW_PERMS_DELEGATOR,
  SLSA_GITHUB_GENERATOR_WORKFLOWS,
} from './trusted-builders';

/** buildType values of the provenance slsa-verifier knows how to read. */
export const BUILD_TYPES = {
  genericGenerator: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
  containerGenerator: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
  goBuilder: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
  legacyGoBuilder: 'https://github.com/slsa-framework/slsa-github-generator-go@v1',
  legacyBuilder: 'https://github.com/slsa-framework/slsa-github-generator@v1',
  containerBased: 'https://slsa.dev/container-based-build/v0.1?draft',
  byob: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
  /** GitHub's attestations (actions/attest-build-provenance, `gh attestation`). */
  githubActionsWorkflow: 'https://actions.github.io/buildtypes/workflow/v1',
} as const;

const V02 = 'https://slsa.dev/provenance/v0.2';
const V1 = 'https://slsa.dev/provenance/v1';

/**
 * Which (predicate type, buildType) each signing workflow writes, as slsa-verifier's two tables
 * (slsaprovenance/v0.2 and v1.0) pair them. A trusted builder vouches only for the shape it
 * writes: the same workflow name with another buildType is not its output.
 */
type ByPredicate = Readonly<Record<string, readonly string[]>>;
const KNOWN: ReadonlyMap<string, ByPredicate> = new Map<string, ByPredicate>([
  [GENERIC_GENERATOR, { [V02]: [BUILD_TYPES.genericGenerator] }],
  [CONTAINER_GENERATOR, { [V02]: [BUILD_TYPES.containerGenerator] }],
  [GO_BUILDER, { [V02]: [BUILD_TYPES.goBuilder, BUILD_TYPES.legacyBuilder, BUILD_TYPES.legacyGoBuilder] }],
  [CONTAINER_BASED_BUILDER, { [V1]: [BUILD_TYPES.containerBased] }],
  [GENERIC_DELEGATOR, { [V02]: [BUILD_TYPES.byob], [V1]: [BUILD_TYPES.byob] }],
  [LOW_PERMS_DELEGATOR, { [V02]: [BUILD_TYPES.byob], [V1]: [BUILD_TYPES.byob] }],
]);

/**
 * Any other workflow is one the user trusted by name (--builder-id): it can only have signed
 * GitHub's own attestation format. slsa-verifier lists two such workflows (Bazel's BCR release
 * workflows); here any named one qualifies, since the user chose to trust it.
 */
const ATTESTATION: ByPredicate = { [V1]: [BUILD_TYPES.githubActionsWorkflow] };

export function allowedBuildTypes(signingWorkflow: string, predicateType: string): readonly string[] {
  // slsa-github-generator's other workflows (nodejs, maven, gradle builders: delegated only) and
  // JReleaser's write no provenance of their own: signed directly by them, no shape is theirs.
  if (!KNOWN.has(signingWorkflow) && (signingWorkflow.startsWith(`${SLSA_GITHUB_GENERATOR_WORKFLOWS}`) || signingWorkflow.startsWith(`${JRELEASER_REPOSITORY}/`))) return [];
  const table = KNOWN.get(signingWorkflow) ?? ATTESTATION;
  return Object.hasOwn(table, predicateType) ? table[predicateType] : [];
}
