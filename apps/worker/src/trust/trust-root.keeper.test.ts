import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { TrustRootDocument } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../../../../test/support/vectors';
import { TrustRootKeeper } from './trust-root.keeper';

const good = readFileSync(PUBLIC_GOOD_TRUSTED_ROOT);

function keeper(answers: Array<TrustRootDocument | Error>) {
  let now = 1_000_000;
  const logs: string[] = [];
  const outcomes: boolean[] = [];
  const k = new TrustRootKeeper({
    load: async () => {
      const next = answers.shift();
      if (!next || next instanceof Error) throw next ?? new Error('no answer');
      return next;
    },
    parse: (json) => SigstoreTrustRoot.fromJSON(json),
    refreshIntervalMs: 3_600_000,
    now: () => (now += 1000),
    log: (m) => logs.push(m),
    onRefresh: (_s, ok) => outcomes.push(ok),
  });
  return { k, logs, outcomes };
}

describe('trust root refresh', () => {
  test('a failed, corrupt or seed-only refresh keeps the last good root and its age; a good one replaces it', async () => {
    const { k, logs, outcomes } = keeper([
      { json: good, origin: 'tuf' },
      new Error('getaddrinfo ENOTFOUND tuf-repo-cdn.sigstore.dev'),
      { json: Buffer.from('{"mediaType": "nonsense"'), origin: 'tuf' },
      { json: good, origin: 'embedded-seed', warning: 'TUF update failed' },
      { json: good, origin: 'tuf' },
    ]);
    await k.start();
    const first = k.current();
    const obtained = k.state!.obtainedAt;
    for (let i = 0; i < 3; i++) assert.equal(await k.refresh(), false);
    assert.equal(k.current(), first);
    assert.deepEqual(k.state, { origin: 'tuf', obtainedAt: obtained });
    assert.equal(logs.length, 3);
    assert.match(logs[0], /keeping the last good one: getaddrinfo ENOTFOUND/);
    assert.equal(await k.refresh(), true);
    assert.notEqual(k.current(), first);
    assert.ok(k.state!.obtainedAt > obtained);
    assert.deepEqual(outcomes, [true, false, false, false, true]);
    k.stop();
  });

  test('without any trust root the worker does not start', async () => {
    const { k } = keeper([new Error('offline and no seed')]);
    await assert.rejects(k.start(), /offline and no seed/);
    assert.throws(() => k.current(), /not loaded/);
  });

  test('started from the embedded seed, falling back to it again does not look like a refresh', async () => {
    const { k } = keeper([
      { json: good, origin: 'embedded-seed', warning: 'offline' },
      { json: good, origin: 'embedded-seed', warning: 'offline' },
      { json: good, origin: 'tuf' },
    ]);
    await k.start();
    const obtained = k.state!.obtainedAt;
    assert.equal(await k.refresh(), false);
    assert.equal(k.state!.obtainedAt, obtained);
    assert.equal(await k.refresh(), true);
    assert.equal(k.state!.origin, 'tuf');
    k.stop();
  });
});
