import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { BINARY, type FaultWorld, eventually, faultTarget, latest, peakRssMiB, startFaultWorld, v14 } from '../support/fault-worker';

/**
 * Fault: the FIRST verification of a release hits an error that used to be final (garbage JSON,
 * a 429 without Retry-After, a refused redirect, an asset over the size limit). Before the fix
 * no release row existed, the content-derived job id sat in BullMQ's failed set, and the release
 * was never verified again. Now: the release is on record from its first sighting, the failure
 * is a run with `error`, and it is retried on its back-off until the double heals.
 */
const POLL_SECONDS = 2;
const TARGETS = ['json', 'ratelimit', 'redirect', 'oversized'];
let world: FaultWorld;

before(async () => {
  world = await startFaultWorld(
    TARGETS.map((t) => faultTarget(t, POLL_SECONDS)),
    // The 429 of one repository holds the whole API host (one back-off per host): a short
    // default wait keeps the other targets of this test moving.
    { limits: { maxAssetBytes: BINARY.length + 1024 }, retry: { baseSeconds: 1, capSeconds: 2 }, backoff: { rateLimitDefaultSeconds: 1 } },
  );
  TARGETS.forEach((t, i) => world.gh.repos.set(`fault/${t}`, [v14(1000 * (i + 1))]));
  world.gh.pathFaults.push(
    { path: /^\/repos\/fault\/json\/releases\/14$/, fault: 'invalid-json' },
    { path: /^\/repos\/fault\/ratelimit\/releases\/14$/, fault: 'rate-limited-no-retry-after' },
    { path: /^\/repos\/fault\/redirect\/releases\/assets\/\d+$/, fault: 'redirect-refused' },
  );
  const oversized = world.gh.repos.get('fault/oversized')![0];
  oversized.assets[0] = { ...oversized.assets[0], bytes: Buffer.alloc(BINARY.length * 2, 7) };
});

after(async () => world?.close());

test('a release whose first verification fails is on record with error, and verified once the upstream heals', { timeout: 90_000 }, async () => {
  const { prisma, gh, runtime } = world;
  await runtime.start();
  const expected: Record<string, RegExp> = {
    json: /invalid JSON/,
    ratelimit: /rate limited/,
    redirect: /github-redirect-refused|registry-redirect-refused/,
    oversized: /registry-too-large/,
  };
  for (const target of TARGETS) {
    // The run naming this target's own fault. Another repository's 429 holds the whole API host
    // (one back-off per host), so a run refused by that hold ("no request sent") may come first:
    // also an error on record, never a pass.
    const seen: string[] = [];
    await eventually(`the failure of ${target} on record, naming its fault`, async () => {
      const check = await latest(prisma, target, 'artifact-provenance');
      if (!check || check.code === 'not-yet-verified') return undefined;
      assert.equal(check.status, 'error', `${target}: ${check.code}`);
      const { message } = await prisma.checkResult.findUniqueOrThrow({ where: { id: check.checkResultId } });
      seen.push(message);
      return expected[target].test(message) ? check : undefined;
    }, 30_000).catch((err: Error) => assert.fail(`${err.message}; the runs said: ${seen.slice(-3).join(' | ')}`));
    // The first run of every release is the sighting itself, before any evidence was read.
    const first = await prisma.verificationRun.findFirstOrThrow({ where: { subjectKey: 'v14', target: { name: target } }, orderBy: { id: 'asc' }, include: { checks: true } });
    assert.equal(first.status, 'error');
    assert.deepEqual([...new Set(first.checks.map((c) => c.code))], ['not-yet-verified']);
    // Never shown as passing while undecided.
    for (const check of ['release-assets', 'artifact-provenance']) assert.notEqual((await latest(prisma, target, check))?.status, 'pass');
  }
  // Let the faults last a few poll intervals: the back-off retries, without piling up.
  await new Promise((r) => setTimeout(r, 3 * POLL_SECONDS * 1000));
  const outage = gh.requests.length;
  const perTarget = Object.fromEntries(TARGETS.map((t) => [t, gh.requests.filter((r) => r.path.startsWith(`/repos/fault/${t}/`)).length]));

  gh.pathFaults.length = 0;
  const oversized = gh.repos.get('fault/oversized')![0];
  oversized.assets[0] = { ...oversized.assets[0], bytes: BINARY, updatedAt: '2025-02-26T00:00:00Z' };
  const healedAt = Date.now();
  for (const target of TARGETS) {
    const row = await eventually(`${target} verified after the heal`, async () => {
      const check = await latest(prisma, target, 'artifact-provenance');
      return check?.status === 'pass' ? check : undefined;
    }, 45_000);
    assert.equal(row.code, 'verified');
  }
  console.log(`# first verification faults: recovered in ${Date.now() - healedAt} ms after the heal; requests to the double during the faults ${outage} (${JSON.stringify(perTarget)}); peak RSS ${peakRssMiB()} MiB`);
});
