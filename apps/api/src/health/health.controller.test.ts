import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pbsExporterWatchlistFile } from '../../../../test/support/watch-targets';
import { Queue } from 'bullmq';
import { QUEUES } from '@provwatch/jobs';
import { createTestDatabase } from '../../../../test/support/postgres';
import { TEST_REDIS_URL, ensureRedis, redisConnectionOptions } from '../../../../test/support/redis';
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../../../../test/support/vectors';
import { eventually } from '../../../../test/support/eventually';
import { bootstrap } from '../main';

const watchlist = pbsExporterWatchlistFile();
const baseEnv = { PROVWATCH_CONFIG: watchlist, PORT: '0', PROVWATCH_ROLES: 'api', REDIS_URL: TEST_REDIS_URL };
type App = { close(): Promise<void>; port: number };
const url = (app: App, path: string) => `http://127.0.0.1:${app.port}${path}`;

describe('health endpoints of a running api role', () => {
  let db: { url: string; drop(): Promise<void> };
  let ready: App;
  let broken: App;
  before(async () => {
    await ensureRedis();
    // A database of its own: readiness migrates it, and that must not touch the admin database.
    db = await createTestDatabase();
    ready = await bootstrap({ ...baseEnv, DATABASE_URL: db.url });
    // Port 9 (discard) on loopback: nothing answers there.
    broken = await bootstrap({ ...baseEnv, DATABASE_URL: 'postgresql://postgres:secret-password@127.0.0.1:9/provwatch' });
  });
  after(async () => {
    await ready?.close();
    await broken?.close();
    await db?.drop();
  });

  test('liveness answers', async () => {
    const res = await fetch(url(ready, '/healthz'));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('readiness checks Postgres and Redis for real', async () => {
    const res = await fetch(url(ready, '/readyz'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', schema: 'ok' } });
  });

  test('an unreachable database makes the service not ready, without leaking the URL', async () => {
    const res = await fetch(url(broken, '/readyz'));
    assert.equal(res.status, 503);
    const body = await res.text();
    assert.match(body, /"postgres":"unavailable/);
    assert.doesNotMatch(body, /secret-password/);
    // Liveness does not depend on the database: restarting the process would not bring it back.
    assert.equal((await fetch(url(broken, '/healthz'))).status, 200);
  });

  test('an unreachable Redis makes the service not ready', async () => {
    const noRedis = await bootstrap({ ...baseEnv, DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:9' });
    try {
      const res = await fetch(url(noRedis, '/readyz'));
      assert.equal(res.status, 503);
      const body = (await res.json()) as { status: string; checks: Record<string, string> };
      assert.equal(body.status, 'not-ready');
      assert.equal(body.checks.postgres, 'ok');
      assert.match(body.checks.redis, /^unavailable/);
    } finally {
      await noRedis.close();
    }
  });
});

describe('health endpoints of a worker-only process', () => {
  let db: { url: string; drop(): Promise<void> };
  let worker: App;
  const prefix = `health-${randomUUID().slice(0, 8)}`;

  before(async () => {
    await ensureRedis();
    db = await createTestDatabase();
    worker = await bootstrap({
      ...baseEnv,
      PROVWATCH_ROLES: 'worker',
      DATABASE_URL: db.url,
      PROVWATCH_QUEUE_PREFIX: prefix,
      // Nothing answers on port 9: the worker's first poll fails quietly, which is not the point here.
      GITHUB_API_URL: 'http://127.0.0.1:9',
      REKOR_URL: 'http://127.0.0.1:9',
      PROVWATCH_TRUSTED_ROOT: PUBLIC_GOOD_TRUSTED_ROOT,
    });
  });
  after(async () => {
    await worker?.close();
    const connection = await redisConnectionOptions();
    for (const name of [QUEUES.discover, QUEUES.verify]) {
      const queue = new Queue(name, { connection, prefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await db?.drop();
  });

  test('liveness and readiness are served without the api role', async () => {
    const live = await fetch(url(worker, '/healthz'));
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    // The worker starts in the background: ready once it runs, with a check of its own.
    const res = await eventually('the worker to run', async () => {
      const r = await fetch(url(worker, '/readyz'));
      return r.status === 200 ? r : undefined;
    });
    assert.deepEqual(await res.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', schema: 'ok', worker: 'ok' } });
  });

  test('the status API, the webhook and the OpenAPI document belong to the api role only', async () => {
    for (const path of ['/api/v1/targets', '/api/v1/badges/pbs-exporter', '/api/docs/openapi.json']) {
      const res = await fetch(url(worker, path));
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not-found');
    }
    const hook = await fetch(url(worker, '/api/v1/webhooks/github'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(hook.status, 404);
  });
});

test('a bad watchlist stops the start with file, line and field', async () => {
  const bad = join(dirname(watchlist), 'bad.yaml');
  writeFileSync(bad, 'targets:\n  - name: x\n    github: a/b\n    identity: {}\n');
  await assert.rejects(bootstrap({ ...baseEnv, PROVWATCH_CONFIG: bad, DATABASE_URL: 'postgresql://x@127.0.0.1/x' }), (err: Error) =>
    err.message.includes(`${bad}:4`) && /identity\.issuer/.test(err.message));
});
