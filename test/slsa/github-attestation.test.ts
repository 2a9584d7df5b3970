import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  type GitHubAttestationPolicy,
  type SignerEvidence,
  type Statement,
  SigstoreTrustRoot,
  exactly,
  matching,
  parseStatement,
  verifyArtifactProvenance,
  verifyBundle,
  verifyGitHubAttestation,
} from '@provwatch/verification';
import { type GithubClaims, SigningKit, inTotoStatement } from '../kit/signing-kit';
import { cli } from '../support/run-cli';
import { Scratch, assertFailed, assertPassed } from '../formats/format-fixtures';
import { assertVerificationError } from '../support/verification-assert';

/**
 * GitHub artifact attestations (actions/attest-build-provenance) verified as `gh attestation verify`
 * does. The statement is shaped as GitHub writes it: builder.id is GitHub's runner, not the workflow.
 */
const REPO = 'https://github.com/natrontech/pbs-exporter';
const WORKFLOW = `${REPO}/.github/workflows/release.yml`;
const REF = 'refs/tags/v0.8.0';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const ARTIFACT = Buffer.from('pbs-exporter 0.8.0 linux amd64');
const DIGEST = createHash('sha256').update(ARTIFACT).digest('hex');
const RUNNER = 'https://github.com/actions/runner/github-hosted';

function predicate(over: { ref?: string; repository?: string; commit?: string } = {}) {
  const ref = over.ref ?? REF;
  return {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref, repository: over.repository ?? REPO, path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', repository_id: '614342349', repository_owner_id: '72906237', runner_environment: 'github-hosted' } },
      resolvedDependencies: [{ uri: `git+${REPO}@${ref}`, digest: { gitCommit: over.commit ?? SHA } }],
    },
    runDetails: { builder: { id: RUNNER }, metadata: { invocationId: `${REPO}/actions/runs/1/attempts/1` } },
  };
}

let kit: SigningKit;
let trustRoot: SigstoreTrustRoot;
before(async () => {
  kit = await SigningKit.create();
  trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
});

interface Signed {
  bundle: object;
  statement: Statement;
  signer: SignerEvidence;
}

async function sign(cert: { workflowUri?: string; email?: string; github?: Partial<GithubClaims> } = {}, pred: unknown = predicate(), predicateType = 'https://slsa.dev/provenance/v1'): Promise<Signed> {
  const payload = inTotoStatement([{ name: 'pbs-exporter_linux_amd64', sha256: DIGEST }], predicateType, pred);
  const signed = await kit.signDsse(payload, 'application/vnd.in-toto+json', { workflowUri: cert.email ? undefined : `${WORKFLOW}@${REF}`, ...cert, github: { ref: REF, sha: SHA, ...cert.github } });
  const bundle = signed.bundle('0.3');
  const verified = verifyBundle(bundle, { trustRoot, identity: { issuer: exactly('https://token.actions.githubusercontent.com'), subject: matching('.*') } });
  return { bundle, statement: parseStatement(verified.dsse!.payload, verified.dsse!.payloadType), signer: verified.signer };
}

const verify = (s: Signed, policy: GitHubAttestationPolicy) => verifyGitHubAttestation(s.statement, s.signer, policy);

const rejects = (code: string, fn: () => unknown, message?: RegExp) => assertVerificationError(fn, code, message);

describe('GitHub attestations as gh attestation verify checks them', () => {
  test('--repo alone: the signer is a workflow of the repository; the facts come from the certificate', async () => {
    const s = await sign();
    const facts = verify(s, { repo: 'natrontech/pbs-exporter', sourceTag: 'v0.8.0' });
    assert.equal(facts.builderId, `${WORKFLOW}@${REF}`);
    assert.equal(facts.sourceRef, REF);
    assert.equal(facts.sourceDigest, SHA);
    verify(s, { repo: 'NatronTech/PBS-Exporter' }); // GitHub names are case-insensitive, as gh compares them
    verify(s, { owner: 'natrontech' });
  });

  test('forged: another repository\'s workflow signing for this one => builder-untrusted; its own run => source-mismatch', async () => {
    const attacker = await sign({ workflowUri: 'https://github.com/attacker/pbs-exporter/.github/workflows/release.yml@refs/tags/v0.8.0', github: { repository: 'attacker/pbs-exporter' } });
    rejects('builder-untrusted', () => verify(attacker, { repo: 'natrontech/pbs-exporter' }), /not a workflow of natrontech\/pbs-exporter/);
    rejects('builder-untrusted', () => verify(attacker, { owner: 'natrontech' }));
    // The attacker names its own workflow as signer: the certificate still says whose run it was.
    rejects('source-mismatch', () => verify(attacker, { repo: 'natrontech/pbs-exporter', signerWorkflow: 'attacker/pbs-exporter/.github/workflows/release.yml' }), /owner/);
    // A reusable workflow of this repository called from another repository's run.
    const called = await sign({ github: { repository: 'natrontech/other' } }, predicate({ repository: 'https://github.com/natrontech/other' }));
    rejects('source-mismatch', () => verify(called, { repo: 'natrontech/pbs-exporter' }), /source repository is/);
    verify(called, { owner: 'natrontech', signerWorkflow: 'natrontech/pbs-exporter/.github/workflows/release.yml' });
  });

  test('--signer-workflow: exact path (optional host and ref); look-alike workflow names are refused', async () => {
    const s = await sign();
    for (const w of ['natrontech/pbs-exporter/.github/workflows/release.yml', 'github.com/natrontech/pbs-exporter/.github/workflows/release.yml', `${WORKFLOW}@${REF}`, `${WORKFLOW}@v0.8.0`]) {
      verify(s, { repo: 'natrontech/pbs-exporter', signerWorkflow: w });
    }
    for (const w of ['natrontech/pbs-exporter/.github/workflows/release.y', 'natrontech/pbs-exporter/.github/workflows/other.yml', `${WORKFLOW}@refs/tags/v0.9.0`]) {
      rejects('builder-untrusted', () => verify(s, { repo: 'natrontech/pbs-exporter', signerWorkflow: w }), /expected signer workflow/);
    }
    // gh reads the flag as an unanchored regexp: `release.yml` would match `release.yml.evil.yml` and `releaseXyml.yml`.
    for (const file of ['release.yml.evil.yml', 'releaseXyml.yml']) {
      const lookalike = await sign({ workflowUri: `${REPO}/.github/workflows/${file}@${REF}` });
      rejects('builder-untrusted', () => verify(lookalike, { repo: 'natrontech/pbs-exporter', signerWorkflow: 'natrontech/pbs-exporter/.github/workflows/release.yml' }));
    }
  });

  test('--cert-identity: the exact SAN', async () => {
    const s = await sign();
    verify(s, { repo: 'natrontech/pbs-exporter', certIdentity: `${WORKFLOW}@${REF}` });
    rejects('identity-mismatch', () => verify(s, { repo: 'natrontech/pbs-exporter', certIdentity: WORKFLOW }));
    rejects('identity-mismatch', () => verify(s, { repo: 'natrontech/pbs-exporter', certIdentity: `${WORKFLOW}@refs/tags/v0.8.1` }));
  });

  test('forged: e-mail SAN with the workflow text, another issuer, a self-hosted runner when denied, another predicate, contradicting provenance', async () => {
    const email = await sign({ email: `${WORKFLOW}@${REF}`, github: {} });
    rejects('identity-mismatch', () => verify(email, { repo: 'natrontech/pbs-exporter' }), /URI SAN/);
    const s = await sign();
    rejects('issuer-mismatch', () => verifyGitHubAttestation(s.statement, { ...s.signer, issuer: 'https://accounts.google.com' }, { repo: 'natrontech/pbs-exporter' }));
    const selfHosted = await sign({ github: { runnerEnvironment: 'self-hosted' } });
    verify(selfHosted, { repo: 'natrontech/pbs-exporter' });
    rejects('builder-untrusted', () => verify(selfHosted, { repo: 'natrontech/pbs-exporter', denySelfHostedRunners: true }), /self-hosted/);
    rejects('predicate-type-mismatch', () => verify({ ...s, statement: { ...s.statement, predicateType: 'https://slsa.dev/provenance/v0.2' } }, { repo: 'natrontech/pbs-exporter' }));
    rejects('source-mismatch', () => verify({ ...s, statement: { ...s.statement, predicate: predicate({ ref: 'refs/tags/v9.9.9' }) } }, { repo: 'natrontech/pbs-exporter' }), /provenance says/);
    rejects('source-mismatch', () => verify({ ...s, statement: { ...s.statement, predicate: predicate({ commit: 'f'.repeat(40) }) } }, { repo: 'natrontech/pbs-exporter' }), /commit/);
    rejects('source-tag-mismatch', () => verify(s, { repo: 'natrontech/pbs-exporter', sourceTag: 'v0.9.0' }));
    rejects('source-branch-mismatch', () => verify(s, { repo: 'natrontech/pbs-exporter', sourceBranch: 'main' }));
  });

  test('verify-artifact library path: --builder-id on a GitHub attestation names the signing workflow', async () => {
    const s = await sign();
    const input = (builderId?: string) => ({
      trustRoot,
      document: { kind: 'bundle' as const, bundle: s.bundle },
      artifacts: [{ name: 'pbs-exporter_linux_amd64', sha256: Buffer.from(DIGEST, 'hex') }],
      expectations: { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.8.0', builderId },
    });
    const pass = verifyArtifactProvenance(input(WORKFLOW));
    assert.equal(pass.status, 'pass', pass.message);
    assert.equal(pass.evidence.builderId, `${WORKFLOW}@${REF}`);
    assert.equal(verifyArtifactProvenance(input(`${REPO}/.github/workflows/other.yml`)).code, 'builder-untrusted');
    // Without a named signer the slsa-github-generator rules apply, and no generator signed this.
    assert.equal(verifyArtifactProvenance(input()).code, 'identity-mismatch');
  });
});

describe('provwatch verify-artifact with gh attestation verify flags', () => {
  test('--repo / --owner / --signer-workflow / --cert-identity, and usage errors', async () => {
    const scratch = new Scratch();
    const s = await sign();
    const root = scratch.trustedRoot(kit);
    const artifact = scratch.file('pbs-exporter_linux_amd64', ARTIFACT);
    const bundle = scratch.file('attestation.sigstore.json', s.bundle);
    const run = (...flags: string[]) => cli(['verify-artifact', artifact, '--provenance-path', bundle, '--trusted-root', root, ...flags]);
    assertPassed(await run('--repo', 'natrontech/pbs-exporter'));
    assertPassed(await run('--owner', 'natrontech', '--source-tag', 'v0.8.0'));
    assertPassed(await run('--source-uri', 'github.com/natrontech/pbs-exporter', '--builder-id', WORKFLOW));
    assertPassed(await run('--repo', 'natrontech/pbs-exporter', '--signer-workflow', 'natrontech/pbs-exporter/.github/workflows/release.yml'));
    assertPassed(await run('--repo', 'natrontech/pbs-exporter', '--cert-identity', `${WORKFLOW}@${REF}`));
    assertFailed(await run('--repo', 'attacker/pbs-exporter'), 'builder-untrusted');
    assertFailed(await run('--repo', 'natrontech/pbs-exporter', '--signer-workflow', 'natrontech/pbs-exporter/.github/workflows/other.yml'), 'builder-untrusted');
    assertFailed(await run('--repo', 'natrontech/pbs-exporter', '--source-tag', 'v0.9.0'), 'source-tag-mismatch');
    for (const flags of [
      ['--repo', 'natrontech'],
      ['--repo', ''],
      ['--repo', 'a/b', '--owner', 'a'],
      ['--repo', 'natrontech/pbs-exporter', '--signer-workflow', 'x/y/z.yml', '--cert-identity', 'x'],
      ['--repo', 'natrontech/pbs-exporter', '--source-uri', 'github.com/other/repo'],
      ['--signer-workflow', 'natrontech/pbs-exporter/.github/workflows/release.yml'],
    ]) {
      assert.equal((await run(...flags)).code, 2, flags.join(' '));
    }
  });
});
