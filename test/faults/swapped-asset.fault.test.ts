import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { JOBS } from '@provwatch/jobs';
import { BINARY, type FaultWorld, eventually, faultTarget, latest, peakRssMiB, startFaultWorld, v14 } from '../support/fault-worker';

/**
 * Fault: the evidence behind a `pass` changes and can no longer be read. Before the fix, a
 * verified binary swapped for one over the size limit failed the job (`registry-too-large`), no
 * run was recorded, and API and metrics kept showing `release-assets: pass`.
 */
const POLL_SECONDS = 2;
let world: FaultWorld;

before(async () => {
  world = await startFaultWorld([faultTarget('swap', POLL_SECONDS), faultTarget('gone', POLL_SECONDS)], {
    limits: { maxAssetBytes: BINARY.length + 1024 },
    retry: { baseSeconds: 60, capSeconds: 60 },
  });
  world.gh.repos.set('fault/swap', [v14(1000)]);
  world.gh.repos.set('fault/gone', [v14(2000)]);
  await world.runtime.start();
  for (const target of ['swap', 'gone']) {
    await eventually(`${target} verified`, async () => ((await latest(world.prisma, target, 'artifact-provenance'))?.status === 'pass' ? true : undefined));
  }
});

after(async () => world?.close());

test('a verified binary swapped for an oversized one is asset-changed, from its size alone, without a download', { timeout: 60_000 }, async () => {
  const { gh, prisma } = world;
  gh.sendDigests = false; // the worst case: no GitHub digest, only the size differs
  const release = gh.repos.get('fault/swap')![0];
  release.assets[0] = { ...release.assets[0], bytes: Buffer.alloc(BINARY.length * 4, 1), updatedAt: '2025-03-02T00:00:00Z' };
  const from = gh.requests.length;
  const row = await eventually('asset-changed', async () => {
    const check = await latest(prisma, 'swap', 'release-assets');
    return check?.status === 'fail' ? check : undefined;
  });
  assert.equal(row.code, 'asset-changed');
  for (const check of ['artifact-provenance', 'checksums-signature', 'release-sbom']) {
    assert.notEqual((await latest(prisma, 'swap', check))?.status, 'pass', `${check} must not stay pass`);
  }
  const storage = gh.requests.slice(from).filter((r) => r.server === 'storage' && r.path.startsWith('/assets/1001'));
  assert.equal(storage.length, 0, 'the oversized swap was not downloaded');
  gh.sendDigests = true;
  console.log(`# oversized swap: ${gh.requests.length - from} requests until recorded; peak RSS ${peakRssMiB()} MiB`);
});

test('with GitHub\'s digest a same-size swap is asset-changed without a download', { timeout: 60_000 }, async () => {
  const { gh, prisma, runtime } = world;
  const release = gh.repos.get('fault/swap')![0];
  const swapped = Buffer.from(BINARY);
  swapped[100] ^= 0xff;
  // Same size, same update time: only GitHub's digest tells.
  release.assets[0] = { ...release.assets[0], bytes: swapped, updatedAt: '2025-02-25T21:05:00Z' };
  const before = await prisma.verificationRun.count();
  const from = gh.requests.length;
  await runtime.verifyQueue.add(JOBS.verifyRelease, { target: 'swap', tag: 'v14', releaseId: 14, trigger: 'manual' }, { jobId: 'manual-digest-swap' });
  await eventually('a new run', async () => ((await prisma.verificationRun.count()) > before ? true : undefined));
  const row = await latest(prisma, 'swap', 'release-assets');
  assert.equal(row?.status, 'fail');
  assert.equal(row?.code, 'asset-changed');
  assert.equal(gh.requests.slice(from).filter((r) => r.server === 'storage' && r.path.startsWith('/assets/1001')).length, 0);
});

test('evidence verified before that can no longer be read is a run with error, not the old pass', { timeout: 60_000 }, async () => {
  const { gh, prisma, runtime } = world;
  gh.pathFaults.push({ path: /^\/repos\/fault\/gone\/releases\/assets\/2002$/, fault: 'redirect-refused' });
  const before = await prisma.verificationRun.count({ where: { target: { name: 'gone' } } });
  await runtime.verifyQueue.add(JOBS.verifyRelease, { target: 'gone', tag: 'v14', releaseId: 14, trigger: 'manual' }, { jobId: 'manual-gone' });
  await eventually('a new run', async () => ((await prisma.verificationRun.count({ where: { target: { name: 'gone' } } })) > before ? true : undefined));
  const provenance = await latest(prisma, 'gone', 'artifact-provenance');
  assert.equal(provenance?.status, 'error');
  assert.equal(provenance?.code, 'source-unavailable');
  const result = await prisma.checkResult.findUniqueOrThrow({ where: { id: provenance!.checkResultId } });
  assert.match(result.message, /multiple\.intoto\.jsonl: registry-redirect-refused/);
  gh.pathFaults.length = 0;
});
