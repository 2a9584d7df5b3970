import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { InMemoryHostHoldStore, UpstreamBackoff, UpstreamBackoffPolicy, parseRetryAfter } from './upstream-backoff';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const nowSeconds = Math.floor(NOW / 1000);
const policy = new UpstreamBackoffPolicy();

test('a 429 waits Retry-After, else the reset of a spent window, else the default minute', () => {
  assert.deepEqual(policy.classify({ status: 429, retryAfter: '6' }, NOW), { kind: 'rate-limited', waitSeconds: 6 });
  assert.deepEqual(policy.classify({ status: 429, rateLimitRemaining: 0, rateLimitReset: nowSeconds + 120 }, NOW), { kind: 'rate-limited', waitSeconds: 120 });
  assert.deepEqual(policy.classify({ status: 429 }, NOW), { kind: 'rate-limited', waitSeconds: 60 });
  // A reset with requests left is not a reason to wait until it.
  assert.deepEqual(policy.classify({ status: 429, rateLimitRemaining: 10, rateLimitReset: nowSeconds + 900 }, NOW), { kind: 'rate-limited', waitSeconds: 60 });
  assert.deepEqual(new UpstreamBackoffPolicy({ rateLimitDefaultSeconds: 3 }).classify({ status: 429 }, NOW), { kind: 'rate-limited', waitSeconds: 3 });
});

test('a 403 is a rate limit when the window is spent, Retry-After is given or the body says so; else it is no hold', () => {
  assert.deepEqual(policy.classify({ status: 403, rateLimitRemaining: 0, rateLimitReset: nowSeconds + 30 }, NOW), { kind: 'rate-limited', waitSeconds: 30 });
  assert.deepEqual(policy.classify({ status: 403, retryAfter: '45' }, NOW), { kind: 'rate-limited', waitSeconds: 45 });
  assert.deepEqual(policy.classify({ status: 403, bodySaysRateLimited: true }, NOW), { kind: 'rate-limited', waitSeconds: 60 });
  assert.deepEqual(policy.classify({ status: 403, rateLimitRemaining: 4000 }, NOW), { kind: 'other' });
  assert.deepEqual(policy.classify({ status: 404 }, NOW), { kind: 'other' });
});

test('a successful answer that spent the window holds until its reset; other successes hold nothing', () => {
  assert.deepEqual(policy.classify({ status: 200, rateLimitRemaining: 0, rateLimitReset: nowSeconds + 90 }, NOW), { kind: 'rate-limited', waitSeconds: 90 });
  assert.deepEqual(policy.classify({ status: 200, rateLimitRemaining: 1, rateLimitReset: nowSeconds + 90 }, NOW), { kind: 'ok' });
  assert.deepEqual(policy.classify({ status: 304 }, NOW), { kind: 'ok' });
});

test('waits are capped: a hostile Retry-After cannot silence polling for days', () => {
  assert.deepEqual(policy.classify({ status: 429, retryAfter: '999999999' }, NOW), { kind: 'rate-limited', waitSeconds: 3600 });
  assert.deepEqual(policy.classify({ status: 429, retryAfter: '0' }, NOW), { kind: 'rate-limited', waitSeconds: 1 });
});

test('outages (5xx, timeouts, refused connections) wait short, doubling, capped', () => {
  for (const status of [500, 502, 'timeout', 'network'] as const) assert.equal(policy.classify({ status }, NOW).kind, 'unavailable');
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((n) => policy.outageWait(n)), [5, 10, 20, 40, 60, 60, 60]);
  // A 503 that says when to come back is believed, within the rate-limit cap.
  assert.deepEqual(policy.classify({ status: 503, retryAfter: '30' }, NOW), { kind: 'unavailable', retryAfterSeconds: 30 });
  assert.equal(policy.outageWait(1, 30), 30);
  assert.equal(policy.outageWait(5, 30), 60);
});

test('Retry-After as an HTTP date; garbage is no header', () => {
  assert.equal(parseRetryAfter(new Date(NOW + 20_000).toUTCString(), NOW), 20);
  assert.equal(parseRetryAfter('soon', NOW), undefined);
  assert.equal(parseRetryAfter('-5', NOW), undefined);
  assert.equal(parseRetryAfter(null, NOW), undefined);
});

test('UpstreamBackoff: one hold per host, the later one wins, success resets the outage count', async () => {
  let now = NOW;
  const holds: number[] = [];
  const backoff = new UpstreamBackoff(new InMemoryHostHoldStore(), new UpstreamBackoffPolicy({ outageBaseSeconds: 2, outageCapSeconds: 8 }), { now: () => now, onHold: (_h, _hold, s) => holds.push(s) });
  // (heldUntil only peeks; admit, which a request uses, would also claim the probe after a hold.)
  assert.equal(await backoff.heldUntil('api.github.com'), undefined);
  await backoff.observe('api.github.com', { status: 429, retryAfter: '6' });
  assert.deepEqual(await backoff.heldUntil('api.github.com'), { untilMs: NOW + 6000, reason: 'rate-limited' });
  assert.equal(await backoff.heldUntil('registry.example'), undefined, 'another host is not held');
  // A shorter hold does not shorten the one in force.
  await backoff.observe('api.github.com', { status: 500 });
  assert.equal((await backoff.heldUntil('api.github.com'))?.untilMs, NOW + 6000);
  now += 6000;
  assert.equal(await backoff.heldUntil('api.github.com'), undefined, 'free again once the hold ends');
  await backoff.observe('api.github.com', { status: 500 });
  await backoff.observe('api.github.com', { status: 'timeout' });
  assert.deepEqual(holds, [6, 2, 4, 8]);
  await backoff.heldUntil('api.github.com');
  await backoff.observe('api.github.com', { status: 200 });
  await backoff.observe('api.github.com', { status: 502 });
  assert.deepEqual(holds.at(-1), 2, 'a success starts the outage count again');
});

test('a store that fails holds nothing (the request goes ahead) and is reported', async () => {
  const errors: unknown[] = [];
  const down = async () => Promise.reject(new Error('down'));
  const broken = { peek: down, admit: down, hold: down, countFailure: down, clear: down };
  const backoff = new UpstreamBackoff(broken, policy, { onStoreError: (e) => errors.push(e) });
  assert.equal(await backoff.heldUntil('h'), undefined);
  assert.equal(await backoff.admit('h'), undefined);
  assert.equal(await backoff.observe('h', { status: 429 }), undefined);
  assert.equal(errors.length, 3);
});

test('after a hold ends, one caller probes and the others wait for its answer', async () => {
  let now = NOW;
  const backoff = new UpstreamBackoff(new InMemoryHostHoldStore(), new UpstreamBackoffPolicy({ outageBaseSeconds: 2 }), { now: () => now, probeMs: 30_000, probeWaitMs: 1000 });
  const host = 'api.github.com';
  await backoff.observe(host, { status: 500 });
  assert.equal((await backoff.admit(host))?.untilMs, NOW + 2000, 'held');
  now += 2000;
  assert.equal(await backoff.heldUntil(host), undefined, 'a peek claims nothing');
  assert.equal(await backoff.admit(host), undefined, 'the first caller may probe');
  assert.deepEqual(await backoff.admit(host), { untilMs: now + 1000, reason: 'unavailable' }, 'the next waits a little for the probe');
  assert.deepEqual(await backoff.heldUntil(host), { untilMs: now + 1000, reason: 'unavailable' });
  // The probe fails: a longer hold; then it succeeds: the host is free for everyone.
  await backoff.observe(host, { status: 503 });
  assert.equal((await backoff.admit(host))?.untilMs, now + 4000);
  now += 4000;
  assert.equal(await backoff.admit(host), undefined);
  await backoff.observe(host, { status: 304 });
  assert.equal(await backoff.admit(host), undefined);
  assert.equal(await backoff.admit(host), undefined, 'no probe gating once the host answered');
  // A probe that never answers blocks the others only for probeMs.
  await backoff.observe(host, { status: 500 });
  now += 2000;
  assert.equal(await backoff.admit(host), undefined);
  now += 30_000;
  assert.equal(await backoff.admit(host), undefined, 'a lost probe is taken over');
});
