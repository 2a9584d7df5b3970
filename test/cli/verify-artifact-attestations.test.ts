import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SigningKit, inTotoStatement } from '../kit/signing-kit';
import { Scratch, assertFailed, assertPassed } from '../formats/format-fixtures';
import { GitHubDouble } from '../support/github-double';
import { cli } from '../support/run-cli';

/**
 * `provwatch verify-artifact ARTIFACT --repo OWNER/REPO` with no --provenance-path fetches the
 * attestations GitHub stores for the artifact's digest, as `gh attestation verify` does: from
 * GITHUB_API_URL with GITHUB_TOKEN, the bundle from its bundle_url on storage without the token.
 * Kit-signed attestations (actions/attest-build-provenance's shape) on the GitHub double.
 */
const REPO = 'natrontech/pbs-exporter';
const WORKFLOW = `https://github.com/${REPO}/.github/workflows/release.yml`;
const REF = 'refs/tags/v0.8.0';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const TOKEN = 'ghp_cliTokenForTheApiHostOnly0123456789';
const TARBALL = Buffer.from('pbs-exporter 0.8.0 linux amd64 tarball, for the CLI');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const scratch = new Scratch();
let kit: SigningKit;
let gh: GitHubDouble;
let root: string;

async function attestation(subjectDigest: string, workflowRef = REF) {
  const predicate = {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: workflowRef, repository: `https://github.com/${REPO}`, path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', runner_environment: 'github-hosted' } },
      resolvedDependencies: [{ uri: `git+https://github.com/${REPO}@${workflowRef}`, digest: { gitCommit: SHA } }],
    },
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: {} },
  };
  const statement = inTotoStatement([{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', sha256: subjectDigest }], 'https://slsa.dev/provenance/v1', predicate);
  return (await kit.signDsse(statement, 'application/vnd.in-toto+json', { workflowUri: `${WORKFLOW}@${workflowRef}`, github: { ref: workflowRef, sha: SHA } })).bundle('0.3');
}

function verify(file: string, ...flags: string[]) {
  return cli(['verify-artifact', file, '--repo', REPO, '--trusted-root', root, ...flags], { GITHUB_API_URL: gh.url, GITHUB_TOKEN: TOKEN, PROVWATCH_INSECURE_REGISTRIES: gh.storageHost });
}

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  gh = await GitHubDouble.start();
});
after(() => gh?.close());

describe('verify-artifact --repo without --provenance-path: attestations fetched from GitHub', () => {
  test("the project's attestation for the artifact verifies; the token reaches the API host and never storage", async () => {
    const file = scratch.file('pbs-exporter_0.8.0_linux_amd64.tar.gz', TARBALL);
    gh.attestations.set(sha(TARBALL), [await attestation('ab'.repeat(32)), await attestation(sha(TARBALL))]);
    gh.attestationShape = 'url-only';
    gh.requests.length = 0;
    const result = await verify(file, '--source-tag', 'v0.8.0');
    assertPassed(result);
    assert.match(result.stdout, /^PASSED: Verified SLSA provenance\n/);
    const api = gh.requests.filter((r) => r.server === 'api');
    const storage = gh.requests.filter((r) => r.server === 'storage');
    assert.ok(api.length > 0 && api.every((r) => r.headers.authorization === `Bearer ${TOKEN}`), 'every API request carries the token');
    assert.ok(storage.length > 0 && storage.every((r) => r.headers.authorization === undefined), 'no storage request carries it');
  });

  test('no attestation is evidence-missing; one for other bytes or from a branch run fails', async () => {
    const none = scratch.file('pbs-exporter_0.8.0_linux_amd64.tar.gz', Buffer.from('never attested'));
    assertFailed(await verify(none), 'evidence-missing');
    const other = Buffer.from('attested under another digest');
    gh.attestations.set(sha(other), [await attestation('cd'.repeat(32))]);
    assertFailed(await verify(scratch.file('pbs-exporter_0.8.0_linux_amd64.tar.gz', other)), 'subject-digest-mismatch');
    const branchBuilt = Buffer.from('built on a branch');
    gh.attestations.set(sha(branchBuilt), [await attestation(sha(branchBuilt), 'refs/heads/main')]);
    const branch = await verify(scratch.file('pbs-exporter_0.8.0_linux_amd64.tar.gz', branchBuilt), '--source-tag', 'v0.8.0');
    assert.equal(branch.code, 1, branch.stdout + branch.stderr);
  });

  test('without --provenance-path and without --repo it is a usage error', async () => {
    const result = await cli(['verify-artifact', scratch.file('a', 'x'), '--source-uri', `github.com/${REPO}`]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--provenance-path is required \(or --repo OWNER\/REPO/);
  });
});
