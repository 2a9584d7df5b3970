/**
 * The worker against GitHub as it really answers (the double speaking GitHub's shapes): release
 * provenance given only as attestation `bundle_url`s on blob storage (API 2026-03-10 drops the
 * inline bundle), a forged blob at such a URL, and the token: with GITHUB_TOKEN set, the API host
 * sees it on every request and the storage host (asset downloads and bundles) never does.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { WatchTarget } from '@provwatch/config';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { SigningKit, inTotoStatement } from '../kit/signing-kit';
import type { DoubleRelease } from '../support/github-double';
import { type FaultWorld, eventually, startFaultWorld } from '../support/fault-worker';
import { exampleTarget } from '../support/watch-targets';

const TOKEN = 'ghp_e2e-token-that-must-stay-on-the-api-host';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const REF = 'refs/tags/v1.0.0';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A project releasing with actions/attest-build-provenance: no provenance asset, attestations only. */
function attestedTarget(name: string, repo: string): WatchTarget {
  const escaped = repo.replace(/[.\-/]/g, (c) => `\\${c}`);
  return exampleTarget({
    name,
    github: repo,
    sourceUri: `github.com/${repo}`,
    identity: { issuer: 'https://token.actions.githubusercontent.com', subjectRegexp: `^https://github\\.com/${escaped}/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$` },
    artifacts: {},
    pollIntervalSeconds: 2,
    gracePeriodSeconds: 60,
  });
}

function release(id: number, archive: { name: string; bytes: Buffer }): DoubleRelease {
  return { id: 1, tag: 'v1.0.0', publishedAt: '2026-11-30T10:00:00Z', commit: SHA, assets: [{ id, name: archive.name, bytes: archive.bytes, updatedAt: '2026-11-30T10:05:00Z' }] };
}

describe('GitHub shapes through the worker', { timeout: 120_000 }, () => {
  let kit: SigningKit;
  let world: FaultWorld;
  const good = { name: 'tool_1.0.0_linux_amd64.tar.gz', bytes: Buffer.from('a release archive signed by its own workflow') };
  const forged = { name: 'tool_1.0.0_linux_amd64.tar.gz', bytes: Buffer.from('the archive an attacker put in its place') };

  /** GitHub's attest-build-provenance statement for `digest`, signed by `repo`'s release workflow. */
  async function attestation(repo: string, digest: string, name: string): Promise<object> {
    const url = `https://github.com/${repo}`;
    const statement = inTotoStatement([{ name, sha256: digest }], 'https://slsa.dev/provenance/v1', {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: { workflow: { ref: REF, repository: url, path: '.github/workflows/release.yml' } },
        internalParameters: { github: { event_name: 'push', repository_id: '1', repository_owner_id: '2', runner_environment: 'github-hosted' } },
        resolvedDependencies: [{ uri: `git+${url}@${REF}`, digest: { gitCommit: SHA } }],
      },
      runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: { invocationId: `${url}/actions/runs/1/attempts/1` } },
    });
    const signed = await kit.signDsse(statement, 'application/vnd.in-toto+json', { workflowUri: `${url}/.github/workflows/release.yml@${REF}`, github: { repository: repo, ref: REF, sha: SHA } });
    return signed.bundle('0.3') as object;
  }

  before(async () => {
    kit = await SigningKit.create();
    const trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    world = await startFaultWorld([attestedTarget('attested', 'acme/tool'), attestedTarget('forged', 'acme/forged'), attestedTarget('paged', 'acme/paged')], { trustRoot: () => trustRoot }, { GITHUB_TOKEN: TOKEN });
    const { gh } = world;
    // API 2026-03-10: items carry only bundle_url; the bundles live on the storage host.
    gh.attestationShape = 'url-only';
    gh.repos.set('acme/tool', [release(5001, good)]);
    gh.attestations.set(sha256(good.bytes), [await attestation('acme/tool', sha256(good.bytes), good.name)]);
    // Forged: the listing for the swapped archive's digest points at a blob that attests other bytes.
    gh.repos.set('acme/forged', [release(6001, forged)]);
    gh.attestations.set(sha256(forged.bytes), [await attestation('acme/forged', sha256(forged.bytes), forged.name)]);
    gh.bundleOverrides.set(`${sha256(forged.bytes)}/0`, await attestation('acme/forged', sha256(good.bytes), forged.name));
    // Five releases two to a page: pages 2 and 3 come by /repositories/<id> links, as GitHub links them.
    gh.releasesMaxPerPage = 2;
    gh.repos.set('acme/paged', Array.from({ length: 5 }, (_, i) => ({ ...release(7001 + i, good), id: 70 + i, tag: `v1.0.${i}`, publishedAt: `2026-11-2${i}T10:00:00Z` })));
    await world.runtime.start();
  });
  after(async () => world?.close());

  const provenanceOf = async (target: string) => {
    const row = await world.prisma.target.findUnique({ where: { name: target } });
    const latest = row ? await world.prisma.latestCheckStatus.findFirst({ where: { check: 'artifact-provenance', subjectKey: 'v1.0.0', targetId: row.id, NOT: { code: 'not-yet-verified' } } }) : null;
    if (!latest) return undefined;
    const result = await world.prisma.checkResult.findUniqueOrThrow({ where: { id: latest.checkResultId } });
    return { status: latest.status, code: latest.code, message: result.message };
  };

  test('provenance given only by bundle_url attestations passes', async () => {
    const verdict = await eventually('attested verified', () => provenanceOf('attested'), 60_000);
    assert.equal(verdict.status, 'pass', `${verdict.code}: ${verdict.message}`);
    const fetched = world.gh.requests.filter((r) => r.server === 'storage' && r.path.startsWith(`/attestation-bundles/${sha256(good.bytes)}/`));
    assert.ok(fetched.length >= 1, 'the bundle came from its bundle_url');
  });

  test('forged: a bundle_url blob attesting another digest does not pass', async () => {
    const verdict = await eventually('forged verified', () => provenanceOf('forged'), 60_000);
    assert.equal(verdict.status, 'fail', `${verdict.code}: ${verdict.message}`);
    assert.equal(verdict.code, 'subject-digest-mismatch');
  });

  test('with GITHUB_TOKEN set, every API request carries it and no storage request ever does', async () => {
    await eventually('both verified', async () => ((await provenanceOf('attested')) && (await provenanceOf('forged')) ? true : undefined), 60_000);
    const api = world.gh.requests.filter((r) => r.server === 'api');
    const storage = world.gh.requests.filter((r) => r.server === 'storage');
    assert.ok(storage.some((r) => r.path.startsWith('/assets/')), 'assets were downloaded through the storage redirect');
    assert.ok(storage.some((r) => r.path.startsWith('/attestation-bundles/')), 'bundles were fetched from storage');
    assert.ok(api.length > 0);
    for (const r of api) assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, `${r.method} ${r.path}`);
    for (const r of storage) {
      assert.equal(r.headers.authorization, undefined, `${r.method} ${r.path.split('?')[0]}`);
      assert.ok(!JSON.stringify(r.headers).includes(TOKEN));
    }
  });

  test('releases over three pages linked by repository id are all discovered and on record', async () => {
    const recorded = await eventually('five releases of acme/paged on record', async () => {
      const rows = await world.prisma.release.findMany({ where: { target: { name: 'paged' } }, select: { tag: true } });
      return rows.length === 5 ? rows.map((r) => r.tag).sort() : undefined;
    }, 60_000);
    assert.deepEqual(recorded, ['v1.0.0', 'v1.0.1', 'v1.0.2', 'v1.0.3', 'v1.0.4']);
    const id = world.gh.repoId('acme/paged');
    const pages = world.gh.requests.filter((r) => r.server === 'api' && r.path.startsWith(`/repositories/${id}/releases`));
    assert.ok(pages.some((r) => /[?&]page=2\b/.test(r.path)) && pages.some((r) => /[?&]page=3\b/.test(r.path)), `pages followed: ${pages.map((r) => r.path).join(', ')}`);
  });
});
