import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { RecordedRequest } from '../support/github-double';
import { type FaultWorld, eventually, faultTarget, latest, startFaultWorld, v14 } from '../support/fault-worker';

/**
 * Fault: GitHub says "slow down" (429, Retry-After) or fails (500). Before the fix a 429 with
 * `Retry-After: 300` was retried after 5 s, and during an outage BullMQ's job retries piled on
 * top of the scheduled polls. Now one back-off per API host, in Redis, is honoured by polls and
 * verify jobs alike: nothing is sent before it ends, and retries never add to the schedule.
 */

const api = (world: FaultWorld) => world.gh.requests.filter((r) => r.server === 'api');

async function passes(world: FaultWorld, target: string, timeoutMs: number) {
  return eventually(`${target} v14 verified`, async () => {
    const check = await latest(world.prisma, target, 'artifact-provenance');
    return check?.status === 'pass' ? check : undefined;
  }, timeoutMs);
}

/** Runs of v14 after its first sighting that ended in error. */
async function errorRuns(world: FaultWorld, target: string) {
  const runs = await world.prisma.verificationRun.findMany({ where: { subjectKey: 'v14', target: { name: target } }, include: { checks: true }, orderBy: { id: 'asc' } });
  return runs.filter((r) => r.status === 'error' && !r.checks.every((c) => c.code === 'not-yet-verified'));
}

/** The next request to the API after the given one. */
function nextAfter(requests: RecordedRequest[], answer: RecordedRequest): RecordedRequest | undefined {
  return requests[requests.indexOf(answer) + 1];
}

test('a 429 with Retry-After: 6 on the release list and on the release: nothing is sent for 6 s after each, then the release passes', { timeout: 90_000 }, async () => {
  const world = await startFaultWorld([faultTarget('limited', 2)]);
  try {
    world.gh.repos.set('fault/limited', [v14(1000)]);
    world.gh.pathFaults.push(
      { path: /^\/repos\/fault\/limited\/releases$/, fault: 'rate-limited-retry-after', retryAfterSeconds: 6, times: 1 },
      { path: /^\/repos\/fault\/limited\/releases\/14$/, fault: 'rate-limited-retry-after', retryAfterSeconds: 6, times: 1 },
    );
    const startedAt = Date.now();
    await world.runtime.start();
    await passes(world, 'limited', 60_000);
    const requests = api(world);
    const limited = requests.filter((r) => r.status === 429);
    assert.deepEqual(limited.map((r) => r.path.split('?')[0]), ['/repos/fault/limited/releases', '/repos/fault/limited/releases/14']);
    const gaps = limited.map((answer) => (nextAfter(requests, answer)?.at ?? Infinity) - answer.at);
    for (const gap of gaps) assert.ok(gap >= 5_500, `a request ${gap} ms after a 429 with Retry-After: 6`);
    // The verify job that got the 429 is on record once, not once per wake-up.
    const errors = await errorRuns(world, 'limited');
    assert.equal(errors.length, 1);
    assert.match(errors[0].checks[0].message, /rate limited/);
    console.log(`# Retry-After 6: gaps after the 429s ${gaps.join(', ')} ms; ${requests.length} API requests; passed ${Date.now() - startedAt} ms after start`);
  } finally {
    await world.close();
  }
});

test('a 429 without Retry-After is retried after the default wait; a poll in the hold sends nothing and records the limit', { timeout: 90_000 }, async () => {
  const world = await startFaultWorld([faultTarget('secondary', 2)], { backoff: { rateLimitDefaultSeconds: 5 } });
  try {
    world.gh.repos.set('fault/secondary', [v14(2000)]);
    world.gh.pathFaults.push({ path: /^\/repos\/fault\/secondary\/releases$/, fault: 'rate-limited-no-retry-after', times: 1 });
    await world.runtime.start();
    const answer = await eventually('the 429', async () => api(world).find((r) => r.status === 429));
    // A scheduled poll inside the hold: on record as rate limited until the hold's end, unsent.
    const state = await eventually('a poll during the hold', async () => {
      const row = await world.prisma.pollState.findFirst({ where: { source: 'github-releases', target: { name: 'secondary' } } });
      return row?.lastPolledAt && row.lastPolledAt.getTime() > answer.at + 500 && row.lastErrorCode === 'github-rate-limited' ? row : undefined;
    }, 10_000);
    assert.ok(state.rateLimitResetAt && state.rateLimitResetAt.getTime() >= answer.at + 4_500, `reset on record ${state.rateLimitResetAt?.toISOString()}`);
    await passes(world, 'secondary', 60_000);
    const requests = api(world);
    const gap = (nextAfter(requests, answer)?.at ?? Infinity) - answer.at;
    assert.ok(gap >= 4_500, `a request ${gap} ms after a 429 without Retry-After (default wait 5 s)`);
    console.log(`# 429 without Retry-After: next request ${gap} ms later (default 5 s)`);
  } finally {
    await world.close();
  }
});

test('a 500 outage: requests stay near one per poll interval (no job retries on top), recovery within about two intervals', { timeout: 120_000 }, async () => {
  const POLL = 3;
  const OUTAGE_SECONDS = 15;
  const world = await startFaultWorld([faultTarget('outage', POLL)], { backoff: { outageBaseSeconds: 1, outageCapSeconds: POLL } });
  try {
    const { gh } = world;
    gh.repos.set('fault/outage', [v14(3000)]);
    // The release is listed, then everything fails: the verify job meets the outage too.
    gh.pathFaults.push({ path: /^\/repos\/fault\/outage\/releases\/14$/, fault: 'error-500' });
    await world.runtime.start();
    const first = await eventually('the first 500', async () => api(world).find((r) => r.status === 500));
    gh.setFault('error-500');
    await new Promise((r) => setTimeout(r, OUTAGE_SECONDS * 1000 - (Date.now() - first.at)));
    gh.setFault(undefined);
    gh.pathFaults.length = 0;
    const endedAt = Date.now();
    const during = api(world).filter((r) => r.at >= first.at && r.at < endedAt);
    await passes(world, 'outage', 30_000);
    const recoveredIn = Date.now() - endedAt;
    const firstAfter = api(world).find((r) => r.at >= endedAt);
    const bound = Math.ceil(OUTAGE_SECONDS / POLL) + 3;
    const runs = (await errorRuns(world, 'outage')).length;
    console.log(`# 500 outage ${OUTAGE_SECONDS} s, poll ${POLL} s: ${during.length} API requests during it (bound ${bound}; ${JSON.stringify(during.map((r) => [r.path.split('?')[0].replace('/repos/fault/outage', ''), r.at - first.at]))}); first request ${firstAfter ? firstAfter.at - endedAt : '-'} ms after the end; verified ${recoveredIn} ms after the end; ${runs} error run(s)`);
    assert.ok(during.length <= bound, `${during.length} requests in a ${OUTAGE_SECONDS} s outage at a ${POLL} s poll interval`);
    assert.ok(recoveredIn <= 3 * POLL * 1000, `verified ${recoveredIn} ms after the outage ended`);
    assert.ok(runs <= 2, `${runs} error runs recorded during one outage`);
  } finally {
    await world.close();
  }
});
