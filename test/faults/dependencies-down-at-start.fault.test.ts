import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { pbsExporterWatchlistFile } from '../support/watch-targets';
import { Client } from 'pg';
import { eventually } from '../support/eventually';
import { type TestHttpServer, startHttpServer } from '../support/http-server';
import { OwnRedis, freePort } from '../support/own-redis';
import { TEST_DATABASE_URL, createTestDatabase, ensurePostgres } from '../support/postgres';
import { ServiceProcess, TcpForwarder } from '../support/service-process';
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../support/vectors';

/**
 * Fault: Redis and Postgres are not there when the service starts (a host reboot, a compose file
 * without depends_on). Before the fix the worker role awaited both inside Nest's start: the
 * process never listened (no /healthz for the orchestrator), printed one stack trace per ioredis
 * reconnect, and a missing database crashed it with a raw pg stack. Now it must listen at once,
 * report not-ready naming the dependency, log one line per retry, and start the worker by
 * itself once the dependencies answer.
 */
const watchlist = pbsExporterWatchlistFile();
const RETRY_MAX_SECONDS = 2;

type Readiness = { status: number; body: { status: string; checks: Record<string, string> } };
async function readyz(port: number): Promise<Readiness> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

function serviceEnv(port: number, redisUrl: string, databaseUrl: string, github: TestHttpServer): Record<string, string> {
  return {
    PROVWATCH_CONFIG: watchlist,
    PORT: String(port),
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    PROVWATCH_QUEUE_PREFIX: `deps-down-${process.pid}`,
    GITHUB_API_URL: github.origin,
    REKOR_URL: 'http://127.0.0.1:9',
    PROVWATCH_TRUSTED_ROOT: PUBLIC_GOOD_TRUSTED_ROOT,
    PROVWATCH_START_RETRY_MAX: String(RETRY_MAX_SECONDS),
  };
}

const releasePolls = (github: TestHttpServer) => github.requests.filter((r) => r.url.startsWith('/repos/natrontech/pbs-exporter/releases')).length;

describe('the service started while Redis and Postgres are down', () => {
  let redis: OwnRedis;
  let db: { url: string; drop(): Promise<void> };
  let postgres: TcpForwarder;
  let github: TestHttpServer;
  let service: ServiceProcess;
  let port: number;

  before(async () => {
    await ensurePostgres();
    redis = await OwnRedis.reserve();
    db = await createTestDatabase();
    const real = new URL(db.url);
    // Nothing listens on this port until the forwarder to the real cluster opens it.
    postgres = new TcpForwarder(await freePort(), { host: real.hostname, port: Number(real.port || 5432) });
    const databaseUrl = new URL(db.url);
    databaseUrl.port = String(postgres.port);
    github = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    port = await freePort();
    service = await ServiceProcess.start(serviceEnv(port, redis.url, databaseUrl.toString(), github));
  });

  after(async () => {
    await service?.stop();
    await postgres?.close();
    await redis?.kill();
    await github?.close();
    await db?.drop();
  });

  test('listens, is live, not ready naming both; one line per retry, no stack trace; ready once they are back', { timeout: 120_000 }, async () => {
    const first = await eventually('the service to listen', async () => readyz(port).catch(() => undefined), { timeoutMs: 30_000 });
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal(first.status, 503);
    assert.match(first.body.checks.redis, /^unavailable/);
    assert.match(first.body.checks.postgres, /^unavailable/);
    assert.match(first.body.checks.worker, /^unavailable: not started: redis 127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\)/);

    // Ten seconds of both being down: the retries are capped at RETRY_MAX_SECONDS.
    await new Promise((r) => setTimeout(r, 10_000));
    const retries = service.messages.filter((l) => /worker not started, retrying in/.test(l));
    assert.ok(retries.length >= 3, `the worker retries (${retries.length} retry lines)`);
    assert.match(retries[0], /redis 127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\); worker not started, retrying in 1 s/);
    assert.deepEqual(service.stackLines(), [], 'no stack trace');
    const startupLines = service.lines.filter((l) => !/InstanceLoader|RoutesResolver|RouterExplorer|NestFactory|NestApplication/.test(l)).length;
    // Start-up lines (a watchlist warning, "listening on") plus the retries and at most one schema line per distinct reason.
    assert.ok(startupLines <= retries.length + 6, `bounded output: ${startupLines} lines for ${retries.length} retries:\n${service.lines.join('\n')}`);
    assert.equal((await readyz(port)).status, 503);

    // Postgres comes back: the schema is migrated, but without Redis the service stays not ready.
    await postgres.listen();
    const migrated = await eventually('the schema to be migrated', async () => {
      const r = await readyz(port);
      return r.body.checks.schema === 'ok' ? r : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(migrated.status, 503);
    assert.match(migrated.body.checks.worker, /not started: redis/);

    // Redis comes back: the worker starts by itself and polls.
    await redis.up();
    const back = Date.now();
    const ready = await eventually('the service to be ready', async () => {
      const r = await readyz(port);
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 30_000 });
    const readyAfterMs = Date.now() - back;
    assert.deepEqual(ready.body, { status: 'ready', checks: { postgres: 'ok', redis: 'ok', schema: 'ok', worker: 'ok' } });
    await eventually('the first release poll', async () => (releasePolls(github) > 0 ? true : undefined), { timeoutMs: 30_000 });
    assert.deepEqual(service.stackLines(), [], 'no stack trace after the dependencies came back');
    assert.ok(readyAfterMs < (RETRY_MAX_SECONDS + 10) * 1000, `ready ${readyAfterMs} ms after Redis came back`);
    process.stdout.write(`# ${retries.length} retry lines in ~10 s with both down (cap ${RETRY_MAX_SECONDS} s); ready ${readyAfterMs} ms after Redis came back\n`);
  });
});

describe('the service started with a DATABASE_URL naming a database that does not exist', () => {
  let redis: OwnRedis;
  let github: TestHttpServer;
  let service: ServiceProcess;
  let port: number;
  const name = `provwatch_missing_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    await ensurePostgres();
    redis = await OwnRedis.start();
    github = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    port = await freePort();
    service = await ServiceProcess.start(serviceEnv(port, redis.url, url.toString(), github));
  });

  after(async () => {
    await service?.stop();
    await redis?.kill();
    await github?.close();
    const admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  test('stays up and not ready with one line naming the database, and starts once it is created', { timeout: 90_000 }, async () => {
    const first = await eventually('the service to listen', async () => readyz(port).catch(() => undefined), { timeoutMs: 30_000 });
    assert.equal(first.status, 503);
    assert.equal(first.body.checks.postgres, 'ok', 'the server answers; the database is what is missing');
    assert.match(first.body.checks.schema, new RegExp(`database "${name}" does not exist`));
    await eventually('a retry line naming the database', async () =>
      service.messages.some((l) => l.includes(`database "${name}" does not exist`) && l.includes('worker not started, retrying in')) ? true : undefined,
    );
    assert.equal(service.exitCode, null, 'the process is still running');
    assert.deepEqual(service.stackLines(), [], 'no stack trace');

    const admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const ready = await eventually('the service to be ready', async () => {
      const r = await readyz(port);
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(ready.body.checks.worker, 'ok');
    await eventually('the first release poll', async () => (releasePolls(github) > 0 ? true : undefined), { timeoutMs: 30_000 });
    assert.deepEqual(service.stackLines(), []);
  });
});
