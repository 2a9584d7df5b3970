import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import {
  ARTIFACT_TRUSTED_BUILDERS,
  IMAGE_TRUSTED_BUILDERS,
  type SignerEvidence,
  type SlsaExpectations,
  type Statement,
  SigstoreTrustRoot,
  VerificationError,
  exactly,
  matching,
  parseStatement,
  verifyArtifactProvenance,
  verifyBundle,
  verifySlsaProvenance,
} from '@provwatch/verification';
import { type GithubClaims, SigningKit, inTotoStatement } from '../kit/signing-kit';
import { assertVerificationError } from '../support/verification-assert';

/**
 * Builder trust as slsa-verifier has it, attacked with certificates and statements the private
 * Sigstore signs on request: every case is a real signature chain, so only the rules stand between
 * the forgery and a pass.
 */
const GEN = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/';
const GENERIC = `${GEN}generator_generic_slsa3.yml`;
const CONTAINER = `${GEN}generator_container_slsa3.yml`;
const GO = `${GEN}builder_go_slsa3.yml`;
const CONTAINER_BASED = `${GEN}builder_container-based_slsa3.yml`;
const NODEJS = `${GEN}builder_nodejs_slsa3.yml`;
const MAVEN = `${GEN}builder_maven_slsa3.yml`;
const GRADLE = `${GEN}builder_gradle_slsa3.yml`;
const DELEGATOR = `${GEN}delegator_generic_slsa3.yml`;
const LOWPERMS = `${GEN}delegator_lowperms-generic_slsa3.yml`;
const JRELEASER = 'https://github.com/jreleaser/release-action/.github/workflows/builder_slsa3.yml';
const REPO = 'https://github.com/natrontech/pbs-exporter';
const SOURCE = 'github.com/natrontech/pbs-exporter';
const REF = 'refs/tags/v0.8.0';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const SUBJECT = { name: 'pbs-exporter_linux_amd64', sha256: 'ab'.repeat(32) };

let kit: SigningKit;
let trustRoot: SigstoreTrustRoot;
before(async () => {
  kit = await SigningKit.create();
  trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
});

/** v0.2 provenance as the generic generator writes it (lowercase environment). */
function v02(builderId: string, buildType = 'https://github.com/slsa-framework/slsa-github-generator/generic@v1', env: Record<string, unknown> = {}) {
  const uri = `git+${REPO}@${REF}`;
  return {
    builder: { id: builderId },
    buildType,
    invocation: {
      configSource: { uri, digest: { sha1: SHA }, entryPoint: '.github/workflows/release.yml' },
      environment: { github_ref: REF, github_ref_type: 'tag', github_event_name: 'push', github_base_ref: '', github_event_payload: { base_ref: 'refs/heads/main', ref: REF }, ...env },
    },
    materials: [{ uri, digest: { sha1: SHA } }],
  };
}

/** v1 provenance as a delegator writes it: builder.id is the builder that called the delegator. */
function byobV1(builderId: string, internal: Record<string, unknown> = {}) {
  return {
    buildDefinition: {
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
      externalParameters: { inputs: {}, vars: {} },
      internalParameters: {
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: REF,
        GITHUB_REF_TYPE: 'tag',
        GITHUB_REPOSITORY: 'natrontech/pbs-exporter',
        GITHUB_SHA: SHA,
        GITHUB_WORKFLOW_REF: `natrontech/pbs-exporter/.github/workflows/release.yml@${REF}`,
        GITHUB_BASE_REF: '',
        GITHUB_EVENT_PAYLOAD: { base_ref: 'refs/heads/main', ref: REF },
        ...internal,
      },
      resolvedDependencies: [{ uri: `git+${REPO}@${REF}`, digest: { gitCommit: SHA } }],
    },
    runDetails: { builder: { id: builderId }, metadata: { invocationId: `${REPO}/actions/runs/1/attempts/1` } },
  };
}

interface Signed {
  bundle: object;
  statement: Statement;
  signer: SignerEvidence;
}

interface CertOptions {
  workflowUri?: string;
  email?: string;
  github?: Partial<GithubClaims>;
  extensionBytes?: Record<string, Buffer | null>;
}

/** Signs the statement with a certificate for `cert`, and verifies the chain as the bundle verifier does (any identity). */
async function sign(predicateType: string, predicate: unknown, cert: CertOptions): Promise<Signed> {
  const payload = inTotoStatement([SUBJECT], predicateType, predicate);
  const signed = await kit.signDsse(payload, 'application/vnd.in-toto+json', { ...cert, github: { ref: REF, sha: SHA, ...cert.github } });
  const bundle = signed.bundle('0.3');
  const verified = verifyBundle(bundle, { trustRoot, identity: { issuer: exactly('https://token.actions.githubusercontent.com'), subject: matching('.*') } });
  return { bundle, statement: parseStatement(verified.dsse!.payload, verified.dsse!.payloadType), signer: verified.signer };
}

const V02 = 'https://slsa.dev/provenance/v0.2';
const V1 = 'https://slsa.dev/provenance/v1';
const direct = (workflow: string, ref = 'refs/tags/v2.1.0', buildType?: string) => sign(V02, v02(`${workflow}@${ref}`, buildType), { workflowUri: `${workflow}@${ref}` });
const delegated = (delegator: string, delegatorRef: string, builder: string, internal?: Record<string, unknown>) =>
  sign(V1, byobV1(builder, internal), { workflowUri: `${delegator}@${delegatorRef}` });

function check(s: Signed, e: Partial<SlsaExpectations> = {}) {
  return verifySlsaProvenance(s.statement, s.signer, { sourceUri: SOURCE, trustedBuilders: ARTIFACT_TRUSTED_BUILDERS, ...e });
}

const rejects = (code: string, fn: () => unknown, message?: RegExp) => assertVerificationError(fn, code, message);

describe('delegated builders (BYOB): the delegator that signed is at a release tag too', () => {
  test('delegator at v2.1.0 naming nodejs@v2.1.0: pass, the builder is nodejs', async () => {
    for (const d of [DELEGATOR, LOWPERMS]) {
      const s = await delegated(d, 'refs/tags/v2.1.0', `${NODEJS}@refs/tags/v2.1.0`);
      assert.equal(check(s, { sourceTag: 'v0.8.0' }).builderId, `${NODEJS}@refs/tags/v2.1.0`);
      assert.equal(check(s, { builderId: NODEJS }).builderId, `${NODEJS}@refs/tags/v2.1.0`);
      assert.equal(check(s, { builderId: `${NODEJS}@v2.1.0` }).builderId, `${NODEJS}@refs/tags/v2.1.0`);
    }
    for (const b of [MAVEN, GRADLE]) check(await delegated(DELEGATOR, 'refs/tags/v2.1.0', `${b}@refs/tags/v2.1.0`));
  });

  test('forged: delegator at main, another branch, a prerelease or build-metadata tag => builder-untrusted, with or without --builder-id', async () => {
    for (const d of [DELEGATOR, LOWPERMS]) {
      for (const ref of ['refs/heads/main', 'refs/heads/attacker', 'refs/tags/v2.1.0-rc.1', 'refs/tags/v2.1.0+meta', 'refs/tags/v2']) {
        const s = await delegated(d, ref, `${NODEJS}@refs/tags/v2.1.0`);
        rejects('builder-untrusted', () => check(s), /release tag/);
        rejects('builder-untrusted', () => check(s, { builderId: NODEJS }), /release tag/);
        rejects('builder-untrusted', () => check(s, { builderId: `${NODEJS}@refs/tags/v2.1.0` }), /release tag/);
      }
    }
  });

  test('forged: builder.id at a branch or prerelease => builder-untrusted', async () => {
    for (const ref of ['refs/heads/main', 'refs/tags/v2.1.0-rc.1']) {
      const s = await delegated(DELEGATOR, 'refs/tags/v2.1.0', `${NODEJS}@${ref}`);
      rejects('builder-untrusted', () => check(s), /release tag/);
      rejects('builder-untrusted', () => check(s, { builderId: NODEJS }), /release tag/);
    }
  });

  test('forged: without --builder-id only nodejs, maven and gradle (not any generator-repository workflow, not a third party)', async () => {
    for (const b of [`${GEN}not-trusted.yml`, `${GEN}builder_bazel_slsa3.yml`, GENERIC, 'https://github.com/attacker/trw/.github/workflows/builder.yml']) {
      const s = await delegated(DELEGATOR, 'refs/tags/v2.1.0', `${b}@refs/tags/v1.0.0`);
      rejects('builder-untrusted', () => check(s), /not a trusted builder/);
    }
    const third = await delegated(DELEGATOR, 'refs/tags/v2.1.0', 'https://github.com/example/trw/.github/workflows/builder.yml@refs/tags/v1.0.0');
    check(third, { builderId: 'https://github.com/example/trw/.github/workflows/builder.yml' });
    rejects('builder-untrusted', () => check(third, { builderId: NODEJS }), /expected builder/);
    rejects('builder-untrusted', () => check(third, { builderId: 'https://github.com/example/trw/.github/workflows/builder.yml@v1.0.1' }), /expected builder/);
  });

  test("JReleaser's vX.Y.Z-java tag: accepted behind a delegator for that repository only", async () => {
    check(await delegated(DELEGATOR, 'refs/tags/v2.1.0', `${JRELEASER}@refs/tags/v1.0.0-java`), { builderId: JRELEASER });
    const other = await delegated(DELEGATOR, 'refs/tags/v2.1.0', 'https://github.com/example/trw/.github/workflows/builder.yml@refs/tags/v1.0.0-java');
    rejects('builder-untrusted', () => check(other, { builderId: 'https://github.com/example/trw/.github/workflows/builder.yml' }), /release tag/);
    // A delegator at a -java tag is no exception.
    const javaDelegator = await delegated(DELEGATOR, 'refs/tags/v2.1.0-java', `${JRELEASER}@refs/tags/v1.0.0-java`);
    rejects('builder-untrusted', () => check(javaDelegator, { builderId: JRELEASER }), /release tag/);
  });
});

describe('direct signers per artifact kind (slsa-verifier verify-artifact / verify-image tables)', () => {
  test('artifacts: the generic generator, the Go builder and the container-based builder sign directly', async () => {
    check(await direct(GENERIC));
    check(await direct(GO, 'refs/tags/v2.1.0', 'https://github.com/slsa-framework/slsa-github-generator/go@v1'));
    const cb = await sign(V1, { ...byobV1(`${CONTAINER_BASED}@refs/tags/v2.1.0`), buildDefinition: { ...byobV1('x').buildDefinition, buildType: 'https://slsa.dev/container-based-build/v0.1?draft' } }, { workflowUri: `${CONTAINER_BASED}@refs/tags/v2.1.0` });
    check(cb);
  });

  test('forged: nodejs, maven, gradle or JReleaser signing directly => builder-untrusted, whatever buildType they claim, even when named', async () => {
    for (const b of [NODEJS, MAVEN, GRADLE]) {
      for (const bt of ['https://github.com/slsa-framework/slsa-github-generator/generic@v1', 'https://actions.github.io/buildtypes/workflow/v1']) {
        const s = await direct(b, 'refs/tags/v2.1.0', bt);
        rejects('builder-untrusted', () => check(s), /never signs itself/);
        // Even when the user names the builder: it has no provenance of its own to sign.
        rejects('builder-untrusted', () => check(s, { builderId: b }), /never signs itself/);
      }
    }
    for (const ref of ['refs/tags/v1.0.0-java', 'refs/tags/v1.0.0']) {
      const jr = await direct(JRELEASER, ref, 'https://actions.github.io/buildtypes/workflow/v1');
      rejects('builder-untrusted', () => check(jr), /never signs itself/);
      rejects('builder-untrusted', () => check(jr, { builderId: JRELEASER }), /never signs itself/);
    }
  });

  test('artifacts do not accept the container generator; images accept only it', async () => {
    const container = await direct(CONTAINER, 'refs/tags/v2.1.0', 'https://github.com/slsa-framework/slsa-github-generator/container@v1');
    rejects('builder-untrusted', () => check(container), /not a trusted builder/);
    verifySlsaProvenance(container.statement, container.signer, { sourceUri: SOURCE, trustedBuilders: IMAGE_TRUSTED_BUILDERS });
    const generic = await direct(GENERIC);
    rejects('builder-untrusted', () => verifySlsaProvenance(generic.statement, generic.signer, { sourceUri: SOURCE, trustedBuilders: IMAGE_TRUSTED_BUILDERS }));
    const byob = await delegated(DELEGATOR, 'refs/tags/v2.1.0', `${NODEJS}@refs/tags/v2.1.0`);
    rejects('builder-untrusted', () => verifySlsaProvenance(byob.statement, byob.signer, { sourceUri: SOURCE, trustedBuilders: IMAGE_TRUSTED_BUILDERS }));
    // The library default (no list) is the artifact signers, not a union of every builder.
    rejects('builder-untrusted', () => verifySlsaProvenance(container.statement, container.signer, { sourceUri: SOURCE }));
    const nodejs = await direct(NODEJS);
    rejects('builder-untrusted', () => verifySlsaProvenance(nodejs.statement, nodejs.signer, { sourceUri: SOURCE }));
  });

  test('verify-artifact end to end: a nodejs-signed bundle fails, a generic-generator one passes', async () => {
    const ok = await direct(GENERIC);
    const pass = verifyArtifactProvenance({ trustRoot, document: { kind: 'bundle', bundle: ok.bundle }, artifacts: [{ name: SUBJECT.name, sha256: Buffer.from(SUBJECT.sha256, 'hex') }], expectations: { sourceUri: SOURCE } });
    assert.equal(pass.status, 'pass', pass.message);
    const bad = await direct(NODEJS);
    const fail = verifyArtifactProvenance({ trustRoot, document: { kind: 'bundle', bundle: bad.bundle }, artifacts: [{ name: SUBJECT.name, sha256: Buffer.from(SUBJECT.sha256, 'hex') }], expectations: { sourceUri: SOURCE } });
    assert.equal(fail.code, 'builder-untrusted', fail.message);
  });
});

describe('the workflow identity comes from the URI SAN only', () => {
  test('URI SAN: recorded as such, and trusted', async () => {
    const s = await direct(GENERIC);
    assert.equal(s.signer.identityKind, 'uri');
    check(s);
  });

  test('forged: an e-mail SAN whose text is the generator workflow URI, with every GitHub extension => builder-untrusted', async () => {
    const id = `${GENERIC}@refs/tags/v2.1.0`;
    const s = await sign(V02, v02(id), { email: id, github: {} });
    assert.equal(s.signer.identity, id);
    assert.equal(s.signer.identityKind, 'email');
    rejects('builder-untrusted', () => check(s), /e-mail SAN/);
    rejects('builder-untrusted', () => check(s, { builderId: GENERIC }), /e-mail SAN/);
  });
});

describe('Fulcio v2 extensions: present means well-formed', () => {
  const der = (s: string) => Buffer.concat([Buffer.from([0x0c, Buffer.byteLength(s)]), Buffer.from(s)]);
  const ISSUER = 'https://token.actions.githubusercontent.com';

  test('forged: a v2 issuer that is raw bytes (not DER) => certificate-invalid, no fallback to the v1 issuer', async () => {
    await assert.rejects(sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { '8': Buffer.from(ISSUER) } }), (err: unknown) => err instanceof VerificationError && err.code === 'certificate-invalid' && /57264\.1\.8/.test(err.message));
  });

  test('forged: a v2 issuer with trailing bytes, another string type, or a constructed value => certificate-invalid', async () => {
    const bad = [
      Buffer.concat([der(ISSUER), Buffer.from([0x00])]),
      Buffer.concat([Buffer.from([0x13, ISSUER.length]), Buffer.from(ISSUER)]), // PrintableString
      Buffer.concat([Buffer.from([0x30, ISSUER.length + 2]), der(ISSUER)]),
    ];
    for (const bytes of bad) {
      await assert.rejects(sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { '8': bytes } }), (err: unknown) => err instanceof VerificationError && err.code === 'certificate-invalid');
    }
  });

  test('forged: malformed v2 source-repository, ref, digest and build-signer extensions => certificate-invalid (not "absent")', async () => {
    for (const arc of ['9', '12', '13', '14']) {
      await assert.rejects(sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { [arc]: Buffer.from('https://github.com/natrontech/pbs-exporter') } }), (err: unknown) => err instanceof VerificationError && err.code === 'certificate-invalid', `extension .${arc}`);
    }
  });

  test('forged: v1 and v2 issuers that disagree => certificate-invalid; v2 alone or v1 alone still work', async () => {
    await assert.rejects(sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { '1': Buffer.from('https://accounts.google.com') } }), (err: unknown) => err instanceof VerificationError && err.code === 'certificate-invalid' && /disagree/.test(err.message));
    check(await sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { '1': null } }));
    check(await sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`), { workflowUri: `${GENERIC}@refs/tags/v2.1.0`, extensionBytes: { '8': null } }));
  });
});

describe('--source-branch for a tag push: the event payload base_ref (slsa-verifier VerifyBranch)', () => {
  const generic = (env: Record<string, unknown>) => sign(V02, v02(`${GENERIC}@refs/tags/v2.1.0`, undefined, env), { workflowUri: `${GENERIC}@refs/tags/v2.1.0` });
  const byob = (internal: Record<string, unknown>) => delegated(DELEGATOR, 'refs/tags/v2.1.0', `${NODEJS}@refs/tags/v2.1.0`, internal);

  test('pushed from main: --source-branch main passes (v0.2 generator and v1 delegator)', async () => {
    assert.equal(check(await generic({}), { sourceBranch: 'main' }).sourceRef, REF);
    assert.equal(check(await byob({}), { sourceBranch: 'main' }).sourceRef, REF);
  });

  test('forged: another branch, no base_ref, null, garbage, not a push, a pull-request base_ref, a payload for another ref => source-branch-mismatch', async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['other branch', { github_event_payload: { base_ref: 'refs/heads/dev', ref: REF } }],
      ['no base_ref', { github_event_payload: { ref: REF } }],
      ['null base_ref', { github_event_payload: { base_ref: null, ref: REF } }],
      ['garbage base_ref', { github_event_payload: { base_ref: 'main', ref: REF } }],
      ['tag base_ref', { github_event_payload: { base_ref: 'refs/tags/main', ref: REF } }],
      ['no payload', { github_event_payload: 'refs/heads/main' }],
      ['release event', { github_event_name: 'release', github_event_payload: { release: { target_commitish: 'main' } } }],
      ['not a tag', { github_ref_type: 'branch' }],
      ['context base_ref', { github_base_ref: 'refs/heads/main', github_event_payload: { base_ref: 'refs/heads/main', ref: REF } }],
      ['payload of another tag', { github_event_payload: { base_ref: 'refs/heads/main', ref: 'refs/tags/v9.9.9' } }],
    ];
    for (const [name, env] of cases) {
      const s = await generic(env);
      assert.throws(() => check(s, { sourceBranch: 'main' }), (err: unknown) => err instanceof VerificationError && err.code === 'source-branch-mismatch', name);
    }
    const upper = await byob({ GITHUB_EVENT_PAYLOAD: { base_ref: 'refs/heads/dev', ref: REF } });
    rejects('source-branch-mismatch', () => check(upper, { sourceBranch: 'main' }), /pushed from branch dev/);
    // A delegator writes upper-case keys: lower-case ones in its output are not its context.
    const lower = await byob({ GITHUB_EVENT_PAYLOAD: undefined, github_event_payload: { base_ref: 'refs/heads/main', ref: REF } });
    rejects('source-branch-mismatch', () => check(lower, { sourceBranch: 'main' }));
  });
});
