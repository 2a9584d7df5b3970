import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { type FaultWorld, eventually, faultTarget, startFaultWorld, v14 } from '../support/fault-worker';

/**
 * Fault: none. 40 releases seen at once, two verifications at a time: most wait in the queue for
 * longer than the retry back-off of their first-seen run (`not-yet-verified`, status error). The
 * next poll (a 304, nothing new) then queued `retry:<runId>` for each of them, a job id of its
 * own: 12 releases of 40 were verified twice, one run right after the other, for nothing. Each
 * release must have exactly two runs: its sighting and one verification.
 */
const RELEASES = 40;
const POLL_SECONDS = 2;
let world: FaultWorld;
const names = Array.from({ length: RELEASES }, (_, i) => `dup-${String(i).padStart(2, '0')}`);

before(async () => {
  world = await startFaultWorld(
    names.map((n) => faultTarget(n, POLL_SECONDS)),
    // A retry back-off much shorter than the queue's wait: the shape that made duplicates.
    { retry: { baseSeconds: 1, capSeconds: 2 } },
  );
  names.forEach((n, i) => world.gh.repos.set(`fault/${n}`, [v14(1000 * (i + 1))]));
});

after(async () => world?.close());

test('40 releases verified with no fault: exactly one verification run each besides the sighting', { timeout: 180_000 }, async () => {
  const { prisma, runtime } = world;
  const started = Date.now();
  await runtime.start();
  const runsPerRelease = async () => {
    const runs = await prisma.verificationRun.findMany({ where: { subjectKind: 'release' }, include: { target: true, checks: true } });
    const byTarget = new Map<string, typeof runs>();
    for (const run of runs) byTarget.set(run.target.name, [...(byTarget.get(run.target.name) ?? []), run]);
    return byTarget;
  };
  await eventually('every release verified', async () => {
    const byTarget = await runsPerRelease();
    // A verdict (the double has no tag ref, so `tag-moved` makes it fail; no error, so no retry is due).
    return names.every((n) => (byTarget.get(n) ?? []).some((r) => r.checks.every((c) => c.code !== 'not-yet-verified'))) ? true : undefined;
  }, 150_000).catch(async (err: Error) => {
    const byTarget = await runsPerRelease();
    const seen = names.map((n) => `${n}: ${(byTarget.get(n) ?? []).map((r) => `${r.status}[${[...new Set(r.checks.map((c) => c.code))].join(',')}]`).join(' ')}`);
    throw new Error(`${err.message}\n${seen.join('\n')}\nlogs:\n${world.logs.slice(-20).join('\n')}`);
  });
  const verifiedAfterMs = Date.now() - started;
  // Several more polls (304s) and retry/re-verify passes: nothing may queue a second run now.
  await new Promise((r) => setTimeout(r, 4 * POLL_SECONDS * 1000));
  const byTarget = await runsPerRelease();
  const counts = Object.fromEntries(names.map((n) => [n, (byTarget.get(n) ?? []).length]));
  const duplicates = names.filter((n) => counts[n] !== 2);
  for (const n of names) {
    assert.ok((byTarget.get(n) ?? []).every((r) => r.status !== 'error' || r.checks.every((c) => c.code === 'not-yet-verified')), `${n}: no undecided verification (that would be retried legitimately)`);
    const runs = (byTarget.get(n) ?? []).sort((a, b) => Number(a.id - b.id));
    assert.deepEqual([...new Set(runs[0].checks.map((c) => c.code))], ['not-yet-verified'], `${n}: the first run is the sighting`);
  }
  const skipped = (await runtime.verifyQueue.getCompleted(0, -1)).filter((j) => (j.returnvalue as { skipped?: string } | null)?.skipped).length;
  console.log(`# ${RELEASES} releases verified in ${verifiedAfterMs} ms; runs per release ${JSON.stringify(Object.values(counts).reduce<Record<number, number>>((acc, c) => ((acc[c] = (acc[c] ?? 0) + 1), acc), {}))}; scheduled jobs skipped as already done ${skipped}`);
  assert.deepEqual(duplicates, [], `releases with other than 2 runs: ${duplicates.map((n) => `${n}=${counts[n]}`).join(', ')}`);
});
