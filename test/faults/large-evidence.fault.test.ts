import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { type FaultWorld, eventually, faultTarget, latest, peakRssMiB, startFaultWorld, v14 } from '../support/fault-worker';

/**
 * Fault: a release carries many large files that look like evidence (`.json`). Each was held in
 * memory whole, up to 64 MiB apiece and without a limit per release: twenty of them took the
 * worker from about 240 MiB to over 1.4 GiB. Now only the files the checks read are held, within
 * a per-release budget (PROVWATCH_EVIDENCE_BUDGET); the rest is hashed while streaming.
 *
 * The double serves every large asset from one shared Buffer, so this process (double and worker
 * in one) grows only by what the worker holds.
 */
const POLL_SECONDS = 2;
const MiB = 1024 * 1024;
const LARGE = Buffer.alloc(40 * MiB, '{"padding": "x"}\n');
let world: FaultWorld;

before(async () => {
  world = await startFaultWorld([faultTarget('many', POLL_SECONDS), faultTarget('sboms', POLL_SECONDS)], { retry: { baseSeconds: 60, capSeconds: 60 } });
});

after(async () => world?.close());

async function verdictOf(target: string, check: string) {
  return eventually(
    `${check} of ${target}`,
    async () => {
      const row = await latest(world.prisma, target, check);
      return row && row.code !== 'not-yet-verified' ? row : undefined;
    },
    120_000,
  );
}

test('20 large .json assets the checks never read are hashed, not held: peak RSS stays bounded', { timeout: 180_000 }, async () => {
  const release = v14(1000);
  for (let i = 0; i < 20; i++) release.assets.push({ id: 1100 + i, name: `data-${i}.json`, bytes: LARGE, updatedAt: '2025-02-25T21:07:00Z' });
  world.gh.repos.set('fault/many', [release]);
  const before = peakRssMiB();
  const started = Date.now();
  await world.runtime.start();
  const provenance = await verdictOf('many', 'artifact-provenance');
  const after = peakRssMiB();
  assert.equal(provenance.status, 'pass', 'the evidence the checks read was still read');
  const assets = await verdictOf('many', 'release-assets');
  assert.equal(assets.status, 'pass');
  const downloads = world.gh.requests.filter((r) => r.server === 'storage' && /^\/assets\/11\d\d/.test(r.path));
  assert.equal(downloads.length, 20, 'every large asset was downloaded (and hashed) once');
  console.log(`# 20 x 40 MiB .json assets: peak RSS ${before} MiB before, ${after} MiB after (+${after - before} MiB), recorded in ${Date.now() - started} ms`);
  // Holding them would be +800 MiB; the budget alone allows +64 MiB. Generous headroom for GC.
  assert.ok(after - before < 250, `peak RSS grew by ${after - before} MiB`);
});

test('SBOMs beyond the per-release budget make the SBOM check error/evidence-over-budget, not pass, not skipped', { timeout: 180_000 }, async () => {
  const release = v14(3000);
  for (let i = 0; i < 3; i++) release.assets.push({ id: 3100 + i, name: `part-${i}.sbom.json`, bytes: LARGE, updatedAt: '2025-02-25T21:07:00Z' });
  world.gh.repos.set('fault/sboms', [release]);
  const sbom = await verdictOf('sboms', 'release-sbom');
  assert.equal(sbom.status, 'error');
  assert.equal(sbom.code, 'evidence-over-budget');
  const result = await world.prisma.checkResult.findUniqueOrThrow({ where: { id: sbom.checkResultId } });
  assert.match(result.message, /part-\d\.sbom\.json/);
  // The other checks are decided as usual: one file over budget is not the whole run falling over.
  assert.equal((await verdictOf('sboms', 'artifact-provenance')).status, 'pass');
  console.log(`# 3 x 40 MiB SBOMs against a 64 MiB budget: release-sbom ${sbom.status}/${sbom.code}; peak RSS ${peakRssMiB()} MiB`);
});
