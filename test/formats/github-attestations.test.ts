import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { type ReleaseAssetInput, SigstoreTrustRoot, checkReleaseAttestations, exactly, matching } from '@provwatch/verification';
import { SigningKit, inTotoStatement } from '../kit/signing-kit';

/**
 * Release provenance from GitHub's attestations API (actions/attest-build-provenance): a SLSA v1
 * statement signed by the project's own release workflow, as pbs-exporter would get it without
 * slsa-github-generator. Signed here by the test kit with a GitHub Actions certificate.
 */
const REPO = 'https://github.com/natrontech/pbs-exporter';
const WORKFLOW = `${REPO}/.github/workflows/release.yml`;
const REF = 'refs/tags/v0.8.0';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const TARBALL = Buffer.from('pbs-exporter 0.8.0 linux amd64 tarball');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function predicate(ref = REF) {
  return {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref, repository: REPO, path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', repository_id: '614342349', repository_owner_id: '72906237', runner_environment: 'github-hosted' } },
      resolvedDependencies: [{ uri: `git+${REPO}@${ref}`, digest: { gitCommit: SHA } }],
    },
    // What actions/attest-build-provenance writes: GitHub's runner, not the workflow that signed.
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: { invocationId: `${REPO}/actions/runs/8123456789/attempts/1` } },
  };
}

let kit: SigningKit;
let trustRoot: SigstoreTrustRoot;
before(async () => {
  kit = await SigningKit.create();
  trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
});

const identity = { issuer: exactly('https://token.actions.githubusercontent.com'), subject: matching('^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$') };
const assets: ReleaseAssetInput[] = [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', sha256: sha(TARBALL) }, { name: 'README.md', sha256: sha(Buffer.from('readme')) }];
const input = () => ({ trustRoot, assets, identity, expectations: { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.8.0' } });

async function attestation(subjectDigest = sha(TARBALL), ref = REF) {
  const statement = inTotoStatement([{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', sha256: subjectDigest }], 'https://slsa.dev/provenance/v1', predicate(ref));
  const signed = await kit.signDsse(statement, 'application/vnd.in-toto+json', { workflowUri: `${WORKFLOW}@${ref}`, github: { ref, sha: SHA } });
  return signed.bundle('0.3');
}

describe('GitHub attestations as release provenance', () => {
  test('the project workflow signed provenance for the asset: pass, with the uncovered assets listed', async () => {
    const verdict = checkReleaseAttestations(input(), new Map([['pbs-exporter_0.8.0_linux_amd64.tar.gz', [await attestation()]]]));
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.equal(verdict.evidence.builderId, `${WORKFLOW}@${REF}`);
    assert.deepEqual((verdict.evidence.details as any).uncoveredAssets, ['README.md']);
  });

  test('no attestation at all is missing', () => {
    assert.equal(checkReleaseAttestations(input(), new Map()).status, 'missing');
  });

  test('an attestation for other bytes, or from a branch run, or by another identity fails', async () => {
    const other = checkReleaseAttestations(input(), new Map([['pbs-exporter_0.8.0_linux_amd64.tar.gz', [await attestation('ab'.repeat(32))]]]));
    assert.equal(other.code, 'subject-digest-mismatch');
    const branch = checkReleaseAttestations(
      { ...input(), identity: { ...identity, subject: matching('^https://github\\.com/natrontech/pbs-exporter/') } },
      new Map([['pbs-exporter_0.8.0_linux_amd64.tar.gz', [await attestation(sha(TARBALL), 'refs/heads/main')]]]),
    );
    assert.equal(branch.status, 'fail');
    const stranger = checkReleaseAttestations(
      { ...input(), identity: { ...identity, subject: exactly('https://github.com/someone/else/.github/workflows/release.yml@refs/tags/v0.8.0') } },
      new Map([['pbs-exporter_0.8.0_linux_amd64.tar.gz', [await attestation()]]]),
    );
    assert.equal(stranger.code, 'identity-mismatch');
  });

  test('verified for the watched repository, as gh attestation verify --repo: another repository fails', async () => {
    const bundles = new Map([['pbs-exporter_0.8.0_linux_amd64.tar.gz', [await attestation()]]]);
    assert.equal(checkReleaseAttestations(input(), bundles, 'natrontech/pbs-exporter').status, 'pass');
    const other = checkReleaseAttestations(input(), bundles, 'natrontech/other');
    assert.equal(other.status, 'fail');
    assert.equal(other.code, 'builder-untrusted', other.message);
  });
});
