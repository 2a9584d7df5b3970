import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASE_URL, ensurePostgres } from '../../../../test/support/postgres';
import { ensureRedis } from '../../../../test/support/redis';
import { bootstrap } from '../main';

const dir = mkdtempSync(join(tmpdir(), 'provwatch-api-'));
const watchlist = join(dir, 'provwatch.yaml');
writeFileSync(
  watchlist,
  `targets:
  - name: pbs-exporter
    github: natrontech/pbs-exporter
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$'
`,
);
const baseEnv = { PROVWATCH_CONFIG: watchlist, PORT: '0', PROVWATCH_ROLES: 'api', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('health endpoints of a running api role', () => {
  let ready: { close(): Promise<void>; port: number };
  let broken: { close(): Promise<void>; port: number };
  before(async () => {
    await Promise.all([ensureRedis(), ensurePostgres()]);
    ready = await bootstrap({ ...baseEnv, DATABASE_URL: TEST_DATABASE_URL });
    // Port 9 (discard) on loopback: nothing answers there.
    broken = await bootstrap({ ...baseEnv, DATABASE_URL: 'postgresql://postgres:secret-password@127.0.0.1:9/provwatch' });
  });
  after(async () => {
    await ready?.close();
    await broken?.close();
  });

  test('liveness answers', async () => {
    const res = await fetch(`http://127.0.0.1:${ready.port}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('readiness checks Postgres and Redis for real', async () => {
    const res = await fetch(`http://127.0.0.1:${ready.port}/readyz`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', schema: 'ok' } });
  });

  test('an unreachable database makes the service not ready, without leaking the URL', async () => {
    const res = await fetch(`http://127.0.0.1:${broken.port}/readyz`);
    assert.equal(res.status, 503);
    const body = await res.text();
    assert.match(body, /"postgres":"unavailable/);
    assert.doesNotMatch(body, /secret-password/);
  });
});

test('a bad watchlist stops the start with file, line and field', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'targets:\n  - name: x\n    github: a/b\n    identity: {}\n');
  await assert.rejects(bootstrap({ ...baseEnv, PROVWATCH_CONFIG: bad, DATABASE_URL: 'postgresql://x@127.0.0.1/x' }), (err: Error) =>
    err.message.includes(`${bad}:4`) && /identity\.issuer/.test(err.message));
});
