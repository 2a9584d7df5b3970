// Provenance as slsa-github-generator's generic and container generators write it (SLSA v0.2 in
// an in-toto v0.1 statement, same fields as the real v2.1.0 vectors in test/vectors), and the
// signing options that make the kit sign it as the generator's reusable workflow does: the
// certificate's SAN is the generator workflow at its release tag, its GitHub claims are those of
// the caller's run (repository, tag, commit), and the builder id is the signing workflow.
import type { DsseSignOptions, DsseTlogKind, GithubClaims } from '../kit/signing-kit';

export type GeneratorKind = 'generic' | 'container';
export type GeneratorVersion = 'v2.0.0' | 'v2.1.0';

const GENERATOR_WORKFLOWS: Record<GeneratorKind, string> = {
  generic: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml',
  container: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml',
};
const BUILD_TYPES: Record<GeneratorKind, string> = {
  generic: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
  container: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
};
/** The generator's own commit at each release (the certificate's build signer digest). */
export const GENERATOR_COMMITS: Record<GeneratorVersion, string> = {
  'v2.0.0': '5a775b367a56d5bd118a224a811bba288150a563',
  'v2.1.0': 'f7dd8c54c2067bafc12ca7a55595d5ee9b75204a',
};

/** `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_<kind>_slsa3.yml@refs/tags/<version>` */
export function generatorWorkflow(kind: GeneratorKind, version: GeneratorVersion): string {
  return `${GENERATOR_WORKFLOWS[kind]}@refs/tags/${version}`;
}

/** The caller's GitHub Actions run that invoked the generator. */
export interface CallerRun {
  /** owner/name */
  repository: string;
  /** the release tag the workflow ran for (push of refs/tags/<tag>) */
  tag: string;
  /** the commit the tag points to */
  sha: string;
  runId: string;
  runNumber?: string;
  /** the caller's workflow file, `.github/workflows/release.yml` */
  workflowPath?: string;
  repositoryId?: string;
  ownerId?: string;
  actor?: string;
  actorId?: string;
}

export interface StatementOverrides {
  /** another repository in the source and trigger (a forged claim) */
  repo?: string;
  /** another ref in the source and trigger */
  ref?: string;
  builderId?: string;
}

/** The generator's statement about `subjects` (sha256 hex), built from the caller's run. */
export function generatorStatement(
  kind: GeneratorKind,
  version: GeneratorVersion,
  run: CallerRun,
  subjects: ReadonlyArray<{ name: string; sha256: string }>,
  overrides: StatementOverrides = {},
): Buffer {
  const repo = overrides.repo ?? run.repository;
  const ref = overrides.ref ?? `refs/tags/${run.tag}`;
  const source = `git+https://github.com/${repo}@${ref}`;
  const workflowPath = run.workflowPath ?? '.github/workflows/release.yml';
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
      predicate: {
        builder: { id: overrides.builderId ?? generatorWorkflow(kind, version) },
        buildType: BUILD_TYPES[kind],
        invocation: {
          configSource: { uri: source, digest: { sha1: run.sha }, entryPoint: workflowPath },
          parameters: {},
          environment: {
            github_actor: run.actor ?? 'janfuhrer',
            github_actor_id: run.actorId ?? '43584447',
            github_base_ref: '',
            github_event_name: 'push',
            github_event_payload: { after: run.sha, ref, repository: { full_name: repo } },
            github_head_ref: '',
            github_ref: ref,
            github_ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
            github_repository_id: run.repositoryId ?? '614342349',
            github_repository_owner: repo.split('/')[0],
            github_repository_owner_id: run.ownerId ?? '72906237',
            github_run_attempt: '1',
            github_run_id: run.runId,
            github_run_number: run.runNumber ?? '42',
            github_sha1: run.sha,
          },
        },
        metadata: {
          buildInvocationID: `${run.runId}-1`,
          completeness: { parameters: true, environment: false, materials: false },
          reproducible: false,
        },
        materials: [{ uri: source, digest: { sha1: run.sha } }],
      },
    }),
  );
}

/** The caller run's claims as Fulcio copies them into the certificate (GithubClaims of the kit). */
export function callerClaims(run: CallerRun, signerSha: string): Partial<GithubClaims> {
  return {
    repository: run.repository,
    repositoryId: run.repositoryId ?? '614342349',
    ownerId: run.ownerId ?? '72906237',
    ref: `refs/tags/${run.tag}`,
    sha: run.sha,
    eventName: 'push',
    workflowPath: run.workflowPath ?? '.github/workflows/release.yml',
    runId: run.runId,
    runAttempt: '1',
    signerSha,
  };
}

/** Kit options that sign as the generator's reusable workflow called from `run`. */
export function generatorSignOptions(kind: GeneratorKind, version: GeneratorVersion, run: CallerRun, tlogKind: DsseTlogKind, github: Partial<GithubClaims> = {}): DsseSignOptions {
  return { tlogKind, workflowUri: generatorWorkflow(kind, version), github: { ...callerClaims(run, GENERATOR_COMMITS[version]), ...github } };
}

/** Kit options that sign as the caller's own workflow (cosign in release.yml): SAN release.yml@refs/tags/<tag>. */
export function callerSignOptions(run: CallerRun, tlogKind?: DsseTlogKind): DsseSignOptions {
  return { ...(tlogKind ? { tlogKind } : {}), github: callerClaims(run, run.sha) };
}
