/**
 * The running service's logs, as a log pipeline sees them: the real entry point in a child
 * process (stdout a pipe, not a terminal), a release verified and a repository failing on the
 * GitHub double (another repository missing), requests with tokens in headers and query strings, credentials in every URL of
 * the environment. Every line must be one JSON object with a UTC timestamp; requests and jobs
 * must be lines with their fields; no secret may appear in any line; Nest's route mapping is
 * not info.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually';
import { v14 } from '../support/fault-worker';
import { GitHubDouble } from '../support/github-double';
import { createTestDatabase } from '../support/postgres';
import { ensureRedis } from '../support/redis';
import { ServiceProcess, doubleServiceEnv, faultWatchlistYaml, removeQueues } from '../support/service-process';
import { EXAMPLE_PACKAGE_V14_COMMIT } from '../support/watch-targets';

const SECRETS = {
  database: 'pg-SECRET-7c1e',
  githubToken: 'ghp_SECRETabcdefghijklmnopqrstuvwxyz0123',
  apiToken: 'api-SECRET-token-5d2f9a',
  webhook: 'hook-SECRET-81b3',
  alertmanager: 'am-SECRET-44e0',
  query: 'query-SECRET-9a7d',
};
const prefix = `logs-${randomUUID().slice(0, 8)}`;
let gh: GitHubDouble;
let db: { url: string; drop(): Promise<void> };
let dir: string;
let service: ServiceProcess;

before(async () => {
  await ensureRedis();
  gh = await GitHubDouble.start();
  gh.repos.set('fault/logged', [{ ...v14(5000), commit: EXAMPLE_PACKAGE_V14_COMMIT }]);
  // fault/failing does not exist on the double: its polls fail (404), each a job line.
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'provwatch-logs-'));
  writeFileSync(join(dir, 'provwatch.yaml'), faultWatchlistYaml(['logged', 'failing'], '10s'));
  // Postgres here trusts loopback, so the password is never asked for: it is only in the environment.
  const databaseUrl = new URL(db.url);
  databaseUrl.password = SECRETS.database;
  service = await ServiceProcess.start(
    doubleServiceEnv(
      { config: join(dir, 'provwatch.yaml'), databaseUrl: databaseUrl.toString(), prefix, gh },
      { GITHUB_TOKEN: SECRETS.githubToken, PROVWATCH_API_TOKEN: SECRETS.apiToken, GITHUB_WEBHOOK_SECRET: SECRETS.webhook, ALERTMANAGER_URLS: `http://alerts:${SECRETS.alertmanager}@127.0.0.1:9` },
    ),
  );
});

after(async () => {
  await service?.stop();
  await removeQueues(prefix);
  await db?.drop().catch(() => undefined);
  await gh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const events = () => service.lines.map((line) => ({ line, event: JSON.parse(line) as Record<string, unknown> }));

test('every line is JSON with fields, requests and jobs are lines of their own, and no secret is written', { timeout: 120_000 }, async () => {
  const origin = service.origin;
  assert.equal((await fetch(`${origin}/healthz?token=${SECRETS.query}`)).status, 200);
  assert.equal((await fetch(`${origin}/api/v1/targets`, { headers: { authorization: `Bearer ${SECRETS.apiToken}` } })).status, 200);
  const hook = await fetch(`${origin}/api/v1/webhooks/github`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    body: JSON.stringify({ action: 'published', release: { tag_name: 'v14' }, repository: { full_name: 'fault/logged' } }),
  });
  assert.equal(hook.status, 401);

  const verified = await eventually('the verification of fault/logged v14 logged as completed', async () =>
    events().find(({ event }) => event.job === 'verify-release' && event.target === 'logged' && event.release === 'v14' && /completed/.test(String(event.msg)))?.event,
  { timeoutMs: 90_000 });
  assert.ok(Array.isArray(verified.checks) && (verified.checks as string[]).includes('artifact-provenance=pass'), JSON.stringify(verified));
  assert.ok(verified.jobId);
  const failed = await eventually('the failing poll logged with its target and job id', async () =>
    events().find(({ event }) => event.job === 'discover-target' && event.target === 'failing' && event.level === 'warn')?.event,
  );
  assert.ok(failed.jobId);
  assert.match(String(failed.reason), /github-not-found/);

  for (const { line, event } of events()) {
    assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(String(event.level)), line);
    assert.equal(typeof event.msg, 'string', line);
    for (const secret of Object.values(SECRETS)) assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
    assert.ok(!/^(RoutesResolver|RouterExplorer|InstanceLoader)$/.test(String(event.context)), `route mapping at ${event.level}: ${line}`);
    assert.doesNotMatch(line, /\\n\s+at /, 'no stack trace');
  }
  const requests = events().filter(({ event }) => event.context === 'http').map(({ event }) => event);
  for (const route of ['/healthz', '/api/v1/targets', '/api/v1/webhooks/github']) {
    const request = requests.find((r) => r.route === route);
    assert.ok(request, `no request line for ${route}: ${JSON.stringify(requests)}`);
    assert.equal(typeof request.durationMs, 'number');
    assert.equal(typeof request.status, 'number');
    assert.ok(request.method);
  }
  // The token was really used: GitHub saw it, the log did not.
  assert.ok(gh.requests.some((r) => r.server === 'api' && String(r.headers.authorization).includes(SECRETS.githubToken)));
});
