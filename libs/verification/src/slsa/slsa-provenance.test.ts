import { strict as assert } from 'node:assert';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { vector } from '../../../../test/support/vectors';
import { type Statement, assertSubjectDigest, parseStatement } from '../intoto';
import { type SignerEvidence, VerificationError } from '../verdict';
import { BUILD_TYPES } from './build-types';
import { type SlsaExpectations, verifySlsaProvenance } from './slsa-provenance';
import { IMAGE_TRUSTED_BUILDERS } from './trusted-builders';
import { versionedTagMatches } from './versioned-tag';

const DIR = vector('slsa-github-generator', 'generic-v2.1.0');
const SOURCE = 'github.com/slsa-framework/example-package';
const GENERATOR = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
const GENERATOR_ID = `${GENERATOR}@refs/tags/v2.1.0`;
const COMMIT = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';
const ISSUER = 'https://token.actions.githubusercontent.com';

/** Reads a real generator v2.1.0 bundle: the statement bytes the bundle verifier would hand over, and its leaf certificate. */
function load(file: string): { statement: Statement; certificate: X509Certificate } {
  const bundle = JSON.parse(readFileSync(`${DIR}/${file}`, 'utf8'));
  const envelope = bundle.dsseEnvelope;
  return {
    statement: parseStatement(Buffer.from(envelope.payload, 'base64'), envelope.payloadType),
    certificate: new X509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64')),
  };
}

/**
 * The SignerEvidence the Sigstore verifier builds from each bundle's leaf certificate, written out
 * by hand from `openssl x509 -inform DER -noout -text` on verificationMaterial.certificate.rawBytes
 * (Fulcio OIDs 1.3.6.1.4.1.57264.1.1-.22). Only the SAN is re-read in a test below; the rest is copied.
 */
function signerFor(ref: string, trigger: string, run: string): SignerEvidence {
  const repo = 'https://github.com/slsa-framework/example-package';
  const config = `${repo}/.github/workflows/verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml@${ref}`;
  return {
    identity: GENERATOR_ID,
    identityKind: 'uri',
    issuer: ISSUER,
    extensions: {
      issuer: ISSUER, // .1 and .8
      githubWorkflowTrigger: trigger, // .2
      githubWorkflowSHA: COMMIT, // .3
      githubWorkflowName: '.github/workflows/verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml', // .4
      githubWorkflowRepository: 'slsa-framework/example-package', // .5
      githubWorkflowRef: ref, // .6
      buildSignerURI: GENERATOR_ID, // .9
      buildSignerDigest: 'f7dd8c54c2067bafc12ca7a55595d5ee9b75204a', // .10
      runnerEnvironment: 'github-hosted', // .11
      sourceRepositoryURI: repo, // .12
      sourceRepositoryDigest: COMMIT, // .13
      sourceRepositoryRef: ref, // .14
      sourceRepositoryIdentifier: '486325809', // .15
      sourceRepositoryOwnerURI: 'https://github.com/slsa-framework', // .16
      sourceRepositoryOwnerIdentifier: '80431187', // .17
      buildConfigURI: config, // .18
      buildConfigDigest: COMMIT, // .19
      buildTrigger: trigger, // .20
      runInvocationURI: `${repo}/actions/runs/${run}/attempts/1`, // .21
      sourceRepositoryVisibilityAtSigning: 'public', // .22
    },
  };
}

const PUSH = { ...load('binary-linux-amd64-push-v14.intoto.jsonl'), signer: signerFor('refs/tags/v14', 'push', '13530999509') };
const DISPATCH = { ...load('binary-linux-amd64-workflow_dispatch.intoto.jsonl'), signer: signerFor('refs/heads/main', 'workflow_dispatch', '13531731005') };
const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function failsWith(code: string, fn: () => unknown, message?: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const verify = (v: { statement: Statement; signer: SignerEvidence }, e: Partial<SlsaExpectations> = {}) => verifySlsaProvenance(v.statement, v.signer, { sourceUri: SOURCE, ...e });
const clone = <T>(v: T): T => structuredClone(v);

describe('SLSA rules on real slsa-github-generator v2.1.0 provenance (v0.2)', () => {
  test('the hand-written signer matches the certificate it was read from', () => {
    assert.equal(PUSH.certificate.subjectAltName, `URI:${GENERATOR_ID}`);
    assert.equal(DISPATCH.certificate.subjectAltName, `URI:${GENERATOR_ID}`);
  });

  test('tag build: the artifact is a subject, and v14 of example-package was built by the generic generator', () => {
    const artifact = readFileSync(`${DIR}/binary-linux-amd64-push-v14`);
    assertSubjectDigest(PUSH.statement, { sha256: sha256Of(artifact) }, 'binary-linux-amd64-push-v14');
    assert.deepEqual(verify(PUSH, { sourceTag: 'v14' }), {
      predicateType: 'https://slsa.dev/provenance/v0.2',
      builderId: GENERATOR_ID,
      buildType: BUILD_TYPES.genericGenerator,
      sourceUri: 'https://github.com/slsa-framework/example-package',
      sourceRef: 'refs/tags/v14',
      sourceDigest: COMMIT,
    });
  });

  test('branch build: workflow_dispatch on main', () => {
    assert.equal(verify(DISPATCH, { sourceBranch: 'main' }).sourceRef, 'refs/heads/main');
  });

  test('the source URI may be written with https://, git+https:// or .git', () => {
    for (const uri of [SOURCE, `https://${SOURCE}`, `git+https://${SOURCE}`, `${SOURCE}.git`]) verify(PUSH, { sourceUri: uri });
    failsWith('source-mismatch', () => verify(PUSH, { sourceUri: 'gitlab.com/slsa-framework/example-package' }), /not github.com\/OWNER\/REPO/);
  });

  test('wrong repository', () => {
    failsWith('source-mismatch', () => verify(PUSH, { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v14' }),
      /ran in https:\/\/github.com\/slsa-framework\/example-package, expected https:\/\/github.com\/natrontech\/pbs-exporter/);
  });

  test('wrong tag, and a tag asked of a branch build', () => {
    failsWith('source-tag-mismatch', () => verify(PUSH, { sourceTag: 'v13' }), /expected tag v13 .*built from refs\/tags\/v14/);
    failsWith('source-tag-mismatch', () => verify(DISPATCH, { sourceTag: 'v14' }), /built from refs\/heads\/main/);
    failsWith('source-branch-mismatch', () => verify(DISPATCH, { sourceBranch: 'release' }), /expected branch release .*built from refs\/heads\/main/);
  });

  test('a branch asked of a tag build: the push base_ref names it (slsa-verifier "valid main branch set"); another branch fails', () => {
    // The push event payload of v14 says base_ref refs/heads/main: v14 was pushed from main.
    assert.equal(verify(PUSH, { sourceBranch: 'main' }).sourceRef, 'refs/tags/v14');
    failsWith('source-branch-mismatch', () => verify(PUSH, { sourceBranch: 'master' }), /built from refs\/tags\/v14, pushed from branch main/);
  });

  test('provenance of the other artifact: same bytes, so the ref tells them apart', () => {
    // Both binaries of this vector are byte-identical (sha256 376e7e01...), so the dispatch
    // provenance does list the push binary's digest; what fails is the tag the user asked for.
    const pushBinary = sha256Of(readFileSync(`${DIR}/binary-linux-amd64-push-v14`));
    assertSubjectDigest(DISPATCH.statement, { sha256: pushBinary });
    failsWith('source-tag-mismatch', () => verify(DISPATCH, { sourceTag: 'v14' }));
    // A statement that really is another artifact's (another digest) fails on the subject.
    const other = clone(DISPATCH.statement);
    other.subject[0].digest.sha256 = 'e'.repeat(64);
    failsWith('subject-digest-mismatch', () => assertSubjectDigest(other, { sha256: pushBinary }, 'binary-linux-amd64-push-v14'));
  });

  test('builder id: by name, by name@ref, by name@short tag; another builder or version is untrusted', () => {
    for (const builderId of [GENERATOR, GENERATOR_ID, `${GENERATOR}@v2.1.0`]) assert.equal(verify(PUSH, { builderId }).builderId, GENERATOR_ID);
    failsWith('builder-untrusted', () => verify(PUSH, { builderId: `${GENERATOR}@refs/tags/v2.0.0` }), /expected builder .*v2\.0\.0/);
    const container = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml';
    failsWith('builder-untrusted', () => verify(PUSH, { builderId: container }), /signed by .*generator_generic_slsa3\.yml@refs\/tags\/v2\.1\.0, expected builder .*generator_container/);
    failsWith('builder-untrusted', () => verify(PUSH, { trustedBuilders: [{ id: container }] }), /not a trusted builder/);
  });

  test('a generator at a branch or a non-release tag is untrusted', () => {
    for (const ref of ['refs/heads/main', 'refs/tags/v2', 'refs/tags/v2.1.0-rc.1', 'refs/tags/v2.1.0+build', 'refs/tags/2.1.0']) {
      const signer = clone(PUSH.signer);
      signer.identity = `${GENERATOR}@${ref}`;
      delete signer.extensions!.buildSignerURI;
      failsWith('builder-untrusted', () => verify({ statement: PUSH.statement, signer }), /only at a release tag/);
    }
  });

  test('the certificate must be from GitHub Actions and name a workflow', () => {
    failsWith('issuer-mismatch', () => verify({ statement: PUSH.statement, signer: { ...PUSH.signer, issuer: 'https://accounts.google.com' } }));
    failsWith('builder-untrusted', () => verify({ statement: PUSH.statement, signer: { ...PUSH.signer, identity: 'someone@example.com' } }));
    // A project's own workflow signing generator-shaped provenance is not the generator.
    const own = 'https://github.com/slsa-framework/example-package/.github/workflows/release.yml@refs/tags/v1.0.0';
    const self: SignerEvidence = { ...PUSH.signer, identity: own, extensions: { ...PUSH.signer.extensions, buildSignerURI: own } };
    failsWith('builder-untrusted', () => verify({ statement: PUSH.statement, signer: self }), /not a trusted builder/);
  });

  test('the provenance must name the signing builder', () => {
    const other = clone(PUSH.statement) as any;
    other.predicate.builder.id = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';
    failsWith('builder-untrusted', () => verify({ statement: other, signer: PUSH.signer }), /names builder .*generator_container.*signed by .*generator_generic/);
    const buildType = clone(PUSH.statement) as any;
    buildType.predicate.buildType = BUILD_TYPES.containerGenerator;
    failsWith('provenance-invalid', () => verify({ statement: buildType, signer: PUSH.signer }), /buildType/);
  });

  test('certificate and provenance must tell the same story (repository, ref, commit)', () => {
    const ref = clone(PUSH.statement) as any;
    const v15 = 'git+https://github.com/slsa-framework/example-package@refs/tags/v15';
    ref.predicate.invocation.configSource.uri = v15;
    ref.predicate.materials[0].uri = v15;
    ref.predicate.invocation.environment.github_ref = 'refs/tags/v15';
    failsWith('source-mismatch', () => verify({ statement: ref, signer: PUSH.signer }), /certificate says .*refs\/tags\/v14, the provenance says refs\/tags\/v15/);

    const commit = clone(PUSH.statement) as any;
    commit.predicate.invocation.configSource.digest.sha1 = 'f'.repeat(40);
    commit.predicate.materials[0].digest.sha1 = 'f'.repeat(40);
    failsWith('source-mismatch', () => verify({ statement: commit, signer: PUSH.signer }), new RegExp(`commit ${COMMIT}, the provenance says f{40}`));

    const fork = clone(PUSH.signer);
    fork.extensions!.sourceRepositoryURI = 'https://github.com/attacker/example-package';
    fork.extensions!.githubWorkflowRepository = 'attacker/example-package';
    failsWith('source-mismatch', () => verify({ statement: PUSH.statement, signer: fork }), /ran in https:\/\/github.com\/attacker/);

    const legacyDisagrees = clone(PUSH.signer);
    legacyDisagrees.extensions!.githubWorkflowRef = 'refs/tags/v13';
    failsWith('source-mismatch', () => verify({ statement: PUSH.statement, signer: legacyDisagrees }), /legacy/);

    const materials = clone(PUSH.statement) as any;
    materials.predicate.materials[0].uri = 'git+https://github.com/attacker/example-package@refs/tags/v14';
    failsWith('source-mismatch', () => verify({ statement: materials, signer: PUSH.signer }), /built https:\/\/github.com\/attacker/);

    const env = clone(PUSH.statement) as any;
    env.predicate.invocation.environment.github_ref = 'refs/heads/main';
    failsWith('provenance-invalid', () => verify({ statement: env, signer: PUSH.signer }), /environment says ref refs\/heads\/main/);
  });

  test('a legacy certificate (v1 extensions only) still works', () => {
    const legacy = clone(PUSH.signer);
    for (const key of ['sourceRepositoryURI', 'sourceRepositoryRef', 'sourceRepositoryDigest']) delete legacy.extensions![key];
    verify({ statement: PUSH.statement, signer: legacy }, { sourceTag: 'v14' });
  });

  test('malformed provenance is provenance-invalid; another predicate is predicate-type-mismatch', () => {
    const noMaterials = clone(PUSH.statement) as any;
    delete noMaterials.predicate.materials;
    failsWith('provenance-invalid', () => verify({ statement: noMaterials, signer: PUSH.signer }), /materials\[0\]\.uri/);
    const inherited = clone(PUSH.statement) as any;
    inherited.predicate.builder = Object.create({ id: GENERATOR_ID });
    failsWith('provenance-invalid', () => verify({ statement: inherited, signer: PUSH.signer }), /builder\.id is missing/);
    failsWith('predicate-type-mismatch', () => verify({ statement: { ...PUSH.statement, predicateType: 'https://cyclonedx.org/bom' }, signer: PUSH.signer }));
  });

  test('versioned tag: v14 is a semantic version (v14.0.0) for slsa-verifier, so v14 and v14.0 match it', () => {
    verify(PUSH, { sourceVersionedTag: 'v14' });
    verify(PUSH, { sourceVersionedTag: 'v14.0' });
    verify(PUSH, { sourceVersionedTag: 'v14.0.0' });
    failsWith('source-versioned-tag-mismatch', () => verify(PUSH, { sourceVersionedTag: 'v13' }), /version v13, built from refs\/tags\/v14/);
    failsWith('source-versioned-tag-mismatch', () => verify(PUSH, { sourceVersionedTag: 'v14.1' }));
    failsWith('source-versioned-tag-mismatch', () => verify(DISPATCH, { sourceVersionedTag: 'v14' }), /refs\/heads\/main/);
    failsWith('source-versioned-tag-mismatch', () => verify(PUSH, { sourceVersionedTag: '14' }), /not a semantic version/);
  });
});

describe('SLSA v1 provenance', () => {
  const REPO = 'https://github.com/natrontech/pbs-exporter';
  const COMMIT_V1 = 'c'.repeat(40);
  const DELEGATOR_ID = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v2.1.0';
  const NODEJS_ID = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v2.1.0';
  const signer = (identity: string, ref = 'refs/tags/v0.9.0'): SignerEvidence => ({
    identity,
    identityKind: 'uri',
    issuer: ISSUER,
    extensions: { buildSignerURI: identity, sourceRepositoryURI: REPO, sourceRepositoryRef: ref, sourceRepositoryDigest: COMMIT_V1 },
  });

  /**
   * A delegated (BYOB) build in the shape slsa-github-generator's delegators write (modelled on
   * slsa-verifier's testdata gha_delegator/v1.10.0): signed by the delegator, builder.id is the
   * builder that called it, the trigger in internalParameters.GITHUB_WORKFLOW_REF.
   */
  function byob(builderId = NODEJS_ID, sourceUri: string = `git+${REPO}@refs/tags/v0.9.0`): Statement {
    return {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'pbs-exporter-0.9.0.tgz', digest: { sha256: 'ab'.repeat(32) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: BUILD_TYPES.byob,
          externalParameters: { inputs: { 'run-scripts': 'build' }, vars: {} },
          internalParameters: {
            GITHUB_EVENT_NAME: 'push',
            GITHUB_REF: 'refs/tags/v0.9.0',
            GITHUB_REF_TYPE: 'tag',
            GITHUB_REPOSITORY: 'natrontech/pbs-exporter',
            GITHUB_SHA: COMMIT_V1,
            GITHUB_WORKFLOW_REF: 'natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v0.9.0',
          },
          resolvedDependencies: [{ uri: sourceUri, digest: { gitCommit: COMMIT_V1 } }],
        },
        runDetails: { builder: { id: builderId }, metadata: { invocationId: `${REPO}/actions/runs/1/attempts/1` } },
      },
    };
  }

  test('delegated build: trust goes to the builder behind the delegator', () => {
    const facts = verifySlsaProvenance(byob(), signer(DELEGATOR_ID), { sourceUri: 'github.com/natrontech/pbs-exporter', sourceVersionedTag: 'v0.9' });
    assert.equal(facts.builderId, NODEJS_ID);
    assert.equal(facts.sourceRef, 'refs/tags/v0.9.0');
    assert.equal(facts.buildType, BUILD_TYPES.byob);
    failsWith('source-tag-mismatch', () => verifySlsaProvenance(byob(), signer(DELEGATOR_ID), { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.8.0' }));
  });

  test('delegated build: an unknown builder behind the delegator needs --builder-id; the builder must be at a release tag', () => {
    const thirdParty = 'https://github.com/example/trw/.github/workflows/builder_slsa3.yml@refs/tags/v1.0.0';
    const e = { sourceUri: 'github.com/natrontech/pbs-exporter' };
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(thirdParty), signer(DELEGATOR_ID), e), /delegated by .*not a trusted builder/);
    verifySlsaProvenance(byob(thirdParty), signer(DELEGATOR_ID), { ...e, builderId: 'https://github.com/example/trw/.github/workflows/builder_slsa3.yml' });
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(`${NODEJS_ID.split('@')[0]}@refs/heads/main`), signer(DELEGATOR_ID), e), /release tag/);
    // slsa-verifier's JReleaser exception: vX.Y.Z-java, for that delegated builder only.
    const jreleaser = 'https://github.com/jreleaser/release-action/.github/workflows/builder_slsa3.yml';
    verifySlsaProvenance(byob(`${jreleaser}@refs/tags/v1.0.0-java`), signer(DELEGATOR_ID), { ...e, builderId: jreleaser });
  });

  test('forged: a delegator at a branch or a pre-release tag signs for nothing, --builder-id or not', () => {
    const e = { sourceUri: 'github.com/natrontech/pbs-exporter' };
    const delegators = [DELEGATOR_ID.split('@')[0], 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml'];
    for (const delegator of delegators) {
      for (const ref of ['refs/heads/main', 'refs/heads/feature', 'refs/tags/v2.1.0-rc.1', 'refs/tags/v2', 'refs/tags/v2.1.0+meta']) {
        for (const builderId of [undefined, NODEJS_ID.split('@')[0], NODEJS_ID]) {
          failsWith('builder-untrusted', () => verifySlsaProvenance(byob(), signer(`${delegator}@${ref}`), { ...e, builderId }), /signed by .*delegator.*only at a release tag/);
        }
      }
      // At a release tag the same build passes.
      verifySlsaProvenance(byob(), signer(`${delegator}@refs/tags/v2.1.0`), e);
    }
  });

  test('forged: builders that only build through a delegator never sign themselves, even when named', () => {
    const e = { sourceUri: 'github.com/natrontech/pbs-exporter' };
    for (const file of ['builder_nodejs_slsa3.yml', 'builder_maven_slsa3.yml', 'builder_gradle_slsa3.yml']) {
      const name = `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/${file}`;
      const direct = byob(`${name}@refs/tags/v2.1.0`);
      for (const builderId of [undefined, name, `${name}@refs/tags/v2.1.0`]) {
        failsWith('builder-untrusted', () => verifySlsaProvenance(direct, signer(`${name}@refs/tags/v2.1.0`), { ...e, builderId }), /signed by .*(expected builder|not a trusted builder|delegat)/);
      }
    }
    const jreleaser = 'https://github.com/jreleaser/release-action/.github/workflows/builder_slsa3.yml';
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(`${jreleaser}@refs/tags/v1.0.0-java`), signer(`${jreleaser}@refs/tags/v1.0.0-java`), { ...e, builderId: jreleaser }), /signed by .*(expected builder|not a trusted builder|delegat)/);
  });

  test('forged: behind a delegator only a BYOB builder is trusted by default; a generator or another repository needs naming', () => {
    const e = { sourceUri: 'github.com/natrontech/pbs-exporter' };
    for (const builder of [GENERATOR_ID, 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0', 'https://github.com/slsa-framework-evil/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v2.1.0']) {
      failsWith('builder-untrusted', () => verifySlsaProvenance(byob(builder), signer(DELEGATOR_ID), e), /delegated by .*not a trusted builder/);
    }
    // --builder-id names the builder behind the delegator; a different one is refused.
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(), signer(DELEGATOR_ID), { ...e, builderId: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_maven_slsa3.yml' }), /expected builder/);
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(), signer(DELEGATOR_ID), { ...e, builderId: `${NODEJS_ID.split('@')[0]}@refs/tags/v2.0.0` }), /expected builder/);
  });

  test('images trust the container generator alone: a delegator signing image provenance is untrusted', () => {
    failsWith('builder-untrusted', () => verifySlsaProvenance(byob(), signer(DELEGATOR_ID), { sourceUri: 'github.com/natrontech/pbs-exporter', trustedBuilders: IMAGE_TRUSTED_BUILDERS }), /not a trusted builder/);
  });

  test('delegated build of a commit outside any ref: accepted, but no tag can be claimed', () => {
    const refless = byob(NODEJS_ID, `git+${REPO}`);
    verifySlsaProvenance(refless, signer(DELEGATOR_ID), { sourceUri: 'github.com/natrontech/pbs-exporter' });
    failsWith('source-tag-mismatch', () => verifySlsaProvenance(refless, signer(DELEGATOR_ID), { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.9.0' }), /outside any ref/);
  });

  /** GitHub's attestation (actions/attest-build-provenance v1), shaped like slsa-verifier's testdata bcr/rules_lint. */
  function githubAttestation(workflowRef = 'refs/tags/v0.9.0'): { statement: Statement; signer: SignerEvidence; builder: string } {
    const builder = `${REPO}/.github/workflows/release.yml`;
    return {
      builder,
      signer: signer(`${builder}@${workflowRef}`, workflowRef),
      statement: {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'pbs-exporter_0.9.0_linux_amd64.tar.gz', digest: { sha256: 'cd'.repeat(32) } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {
          buildDefinition: {
            buildType: BUILD_TYPES.githubActionsWorkflow,
            externalParameters: { workflow: { ref: workflowRef, repository: REPO, path: '.github/workflows/release.yml' } },
            internalParameters: { github: { event_name: 'push', repository_id: '614342349', repository_owner_id: '72906237', runner_environment: 'github-hosted' } },
            resolvedDependencies: [{ uri: `git+${REPO}@${workflowRef}`, digest: { gitCommit: COMMIT_V1 } }],
          },
          runDetails: { builder: { id: `${builder}@${workflowRef}` }, metadata: { invocationId: `${REPO}/actions/runs/1/attempts/1` } },
        },
      },
    };
  }

  test("GitHub attestations: the project's own workflow is the builder, trusted only when named with --builder-id", () => {
    const { statement, signer: s, builder } = githubAttestation();
    const e = { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.9.0' };
    failsWith('builder-untrusted', () => verifySlsaProvenance(statement, s, e), /not a trusted builder/);
    assert.equal(verifySlsaProvenance(statement, s, { ...e, builderId: builder }).builderId, `${builder}@refs/tags/v0.9.0`);
    // Same rule as for generators: a workflow run from a branch is no fixed builder.
    const branch = githubAttestation('refs/heads/main');
    failsWith('builder-untrusted', () => verifySlsaProvenance(branch.statement, branch.signer, { sourceUri: e.sourceUri, builderId: builder }), /release tag/);
    // A trusted generator does not write this buildType: the shape is bound to the signer.
    const generatorSigned = { ...s, identity: GENERATOR_ID, extensions: { ...s.extensions, buildSignerURI: GENERATOR_ID } };
    const claimed = clone(statement) as any;
    claimed.predicate.runDetails.builder.id = GENERATOR_ID;
    failsWith('provenance-invalid', () => verifySlsaProvenance(claimed, generatorSigned, { sourceUri: e.sourceUri }), /buildType/);
  });
});

describe('versioned tags (slsa-verifier --source-versioned-tag)', () => {
  test('matches', () => {
    for (const [expected, tag] of [
      ['v1', 'v1.2.3'],
      ['v1', 'v1.2.3-rc.1'],
      ['v1.2', 'v1.2.9'],
      ['v1.2.3', 'v1.2.3'],
      ['v1.2.3', 'v1.2.3+build.7'],
      ['v1.2.3-rc.1', 'v1.2.3-rc.1'],
      ['v14', 'v14'],
      ['v14.0.0', 'v14'],
    ]) assert.ok(versionedTagMatches(expected, tag), `${expected} should match ${tag}`);
  });
  test('does not match', () => {
    for (const [expected, tag] of [
      ['v1', 'v2.0.0'],
      ['v1.2', 'v1.3.0'],
      ['v1.2.3', 'v1.2.4'],
      ['v1.2.3', 'v1.2.3-rc.1'],
      ['v1.2.3-rc.1', 'v1.2.3-rc.2'], // slsa-verifier accepts this one (see versioned-tag.ts)
      ['v1', 'release-1'],
      ['v1', '1.2.3'],
      ['v1', 'v01.2.3'],
      ['1.2.3', 'v1.2.3'],
      ['v1.2-rc.1', 'v1.2.0-rc.1'],
    ]) assert.ok(!versionedTagMatches(expected, tag), `${expected} should not match ${tag}`);
  });
});
