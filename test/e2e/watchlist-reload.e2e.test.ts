import { strict as assert } from 'node:assert';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exampleWatchlistYaml, invalidAtLine7WatchlistYaml } from '../support/watch-targets';
import { Queue } from 'bullmq';
import { QUEUES } from '@provwatch/jobs';
import { eventually } from '../support/eventually';
import { type TestHttpServer, startHttpServer } from '../support/http-server';
import { createTestDatabase } from '../support/postgres';
import { TEST_REDIS_URL, redisConnectionOptions } from '../support/redis';
import { ServiceProcess, removeQueues } from '../support/service-process';
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../support/vectors';

/**
 * The watchlist is edited while provwatch runs (a ConfigMap update, an operator's edit). Before
 * the reload, the process kept the watchlist of its start until a restart: an added target was
 * never polled, a removed one polled for ever. Now a change of the file is picked up by itself
 * (and SIGHUP asks for it), and an invalid file is refused while the old watchlist keeps running.
 */
const POLL = 10; // seconds: the smallest poll_interval the watchlist accepts
const dir = mkdtempSync(join(tmpdir(), 'provwatch-reload-e2e-'));
const file = join(dir, 'provwatch.yaml');
const prefix = `reload-${process.pid}`;
const WEBHOOK_SECRET = 'reload-test-webhook-secret';

const watchlist = (names: string[]) => exampleWatchlistYaml(names, `${POLL}s`);
/** An unknown key (`isuer`) on line 7. */
const INVALID_AT_LINE_7 = invalidAtLine7WatchlistYaml('beta', `${POLL}s`);

/** As an editor saves: a new file renamed over the old one. */
function save(text: string): void {
  writeFileSync(`${file}.swp`, text);
  renameSync(`${file}.swp`, file);
}

describe('watchlist reload without a restart', () => {
  let github: TestHttpServer;
  let db: { url: string; drop(): Promise<void> };
  let service: ServiceProcess;
  let schedulers: Queue;

  const polls = (name: string) => github.requests.filter((r) => r.url.startsWith(`/repos/example/${name}/releases`)).length;
  const targets = async () => ((await (await fetch(`${service.origin}/api/v1/targets`)).json()) as { items: Array<{ name: string }> }).items.map((t) => t.name);
  /** A signed GitHub release delivery for example/<name>: the HTTP status. */
  const webhook = async (name: string) => {
    const body = JSON.stringify({ action: 'published', repository: { full_name: `example/${name}` } });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
    const res = await fetch(`${service.origin}/api/v1/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signature },
      body,
    });
    return res.status;
  };
  const schedulerIds = async () => (await schedulers.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key).sort();
  const metric = async (series: string) => {
    const text = await (await fetch(`${service.origin}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  before(async () => {
    github = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    db = await createTestDatabase();
    await removeQueues(prefix);
    schedulers = new Queue(QUEUES.discover, { connection: await redisConnectionOptions(), prefix });
    writeFileSync(file, watchlist(['alpha']));
    service = await ServiceProcess.start({
      PROVWATCH_CONFIG: file,
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      PROVWATCH_QUEUE_PREFIX: prefix,
      GITHUB_API_URL: github.origin,
      REKOR_URL: 'http://127.0.0.1:9',
      PROVWATCH_TRUSTED_ROOT: PUBLIC_GOOD_TRUSTED_ROOT,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
  });

  after(async () => {
    await service?.stop();
    await schedulers?.close();
    await removeQueues(prefix);
    await github?.close();
    await db?.drop();
  });

  test('added, removed, refused, SIGHUP', { timeout: 180_000 }, async () => {
    await scenario().catch((err: Error) => {
      throw new Error(`${err.message}\n--- service output (${service.exited ?? 'running'}):\n${service.log.slice(-4000)}`);
    });
  });

  async function scenario(): Promise<void> {
    const progress = async () => `polls alpha=${polls('alpha')} beta=${polls('beta')}; schedulers ${(await schedulerIds()).join(',')}; log: ${service.log.slice(-2000)}`;
    await eventually('the first poll of alpha', async () => (polls('alpha') > 0 ? true : undefined), { timeoutMs: 60_000, progress });
    assert.deepEqual(await targets(), ['alpha']);

    // (1) A target added by rewriting the file: polled at once, not after a restart.
    save(watchlist(['alpha', 'beta']));
    const savedAt = Date.now();
    await eventually('the first poll of the added target', async () => (polls('beta') > 0 ? true : undefined), { timeoutMs: POLL * 1000, progress });
    const addedPolledMs = Date.now() - savedAt;
    assert.deepEqual(await targets(), ['alpha', 'beta']);
    assert.deepEqual(await schedulerIds(), ['discover:alpha', 'discover:beta']);
    assert.equal(await metric('provwatch_watchlist_reloads_total{result="ok"}'), 1);
    assert.equal(await metric('provwatch_watchlist_reload_refused'), 0);
    assert.equal(await metric(`provwatch_poll_interval_seconds{target="beta"}`), POLL);
    assert.equal((await fetch(`${service.origin}/api/v1/targets/beta`)).status, 200);
    assert.equal((await fetch(`${service.origin}/api/v1/badges/beta`)).status, 200);
    assert.equal(await webhook('beta'), 202, 'the webhook knows the added repository');

    // (2) A target removed: its scheduler goes, it is polled no more, the API forgets it.
    save(watchlist(['beta']));
    await eventually('the scheduler of the removed target to go', async () => ((await schedulerIds()).join() === 'discover:beta' ? true : undefined), { timeoutMs: 10_000, progress });
    // A poll already running when the scheduler went may still finish.
    await new Promise((r) => setTimeout(r, 2000));
    const alphaAtRemoval = polls('alpha');
    const betaAtRemoval = polls('beta');
    assert.deepEqual(await targets(), ['beta']);
    assert.equal((await fetch(`${service.origin}/api/v1/targets/alpha`)).status, 404);
    assert.equal((await fetch(`${service.origin}/api/v1/badges/alpha`)).status, 404);
    assert.equal(await webhook('alpha'), 404, 'the webhook no longer queues the removed repository');
    assert.equal(await metric(`provwatch_poll_interval_seconds{target="alpha"}`), undefined);
    const metricsText = await (await fetch(`${service.origin}/metrics`)).text();
    assert.deepEqual(metricsText.split('\n').filter((l) => /^provwatch_(last_poll_timestamp_seconds|poll_last_success_timestamp_seconds|up)\{/.test(l) && l.includes('target="alpha"')), [], 'no poll gauge of the removed target');
    assert.equal(await metric('provwatch_targets'), 1);
    // More than one poll interval: beta is polled again, alpha not.
    await eventually('beta to be polled again', async () => (polls('beta') > betaAtRemoval ? true : undefined), { timeoutMs: 2 * POLL * 1000, progress });
    await new Promise((r) => setTimeout(r, POLL * 1000));
    assert.equal(polls('alpha'), alphaAtRemoval, 'the removed target is not polled any more');

    // (3) An invalid file: refused with its file:line, the watchlist in use keeps running.
    save(INVALID_AT_LINE_7);
    const refusal = await eventually('the refusal to be logged', async () => service.lines.find((l) => l.includes(`${file}:7:`)), { timeoutMs: 10_000, progress });
    assert.match(refusal, /watchlist not reloaded \(file changed\), the previous one stays in use: .*:7:\d+: targets\[0\]\.identity\.isuer: unknown key/);
    assert.equal(await metric('provwatch_watchlist_reloads_total{result="invalid"}'), 1);
    assert.equal(await metric('provwatch_watchlist_reload_refused'), 1);
    assert.deepEqual(await targets(), ['beta']);
    assert.deepEqual(await schedulerIds(), ['discover:beta']);
    const betaAtRefusal = polls('beta');
    await eventually('beta to be polled after the refusal', async () => (polls('beta') > betaAtRefusal ? true : undefined), { timeoutMs: 2 * POLL * 1000, progress });

    // (4) SIGHUP reloads (here: the same invalid file, refused again, and the process lives on;
    // without a handler SIGHUP ends a Node process).
    service.signal('SIGHUP');
    await eventually('the SIGHUP reload', async () => service.lines.find((l) => l.includes('watchlist not reloaded (SIGHUP)') && l.includes(`${file}:7:`)), { timeoutMs: 10_000, progress });
    assert.equal(await metric('provwatch_watchlist_reloads_total{result="invalid"}'), 2);
    assert.equal(service.exited, undefined, 'SIGHUP did not end the process');
    assert.deepEqual(await targets(), ['beta']);
    // Fixed and reloaded: the loaded timestamp moves.
    const loadedBefore = await metric('provwatch_watchlist_loaded_timestamp_seconds');
    save(watchlist(['beta', 'gamma']));
    await eventually('gamma to be polled', async () => (github.requests.some((r) => r.url.startsWith('/repos/example/gamma/releases')) ? true : undefined), { timeoutMs: POLL * 1000, progress });
    assert.ok((await metric('provwatch_watchlist_loaded_timestamp_seconds'))! > loadedBefore!);
    const info = (await (await fetch(`${service.origin}/metrics`)).text()).split('\n').filter((l) => l.startsWith('provwatch_watchlist_info{'));
    assert.equal(info.length, 1, 'one watchlist in use');
    assert.match(info[0], /^provwatch_watchlist_info\{sha256="[0-9a-f]{16}"\} 1$/);
    assert.equal(await metric('provwatch_watchlist_reload_refused'), 0);
    // A file saved again with the same content (an editor's :w) changes nothing.
    const okReloads = await metric('provwatch_watchlist_reloads_total{result="ok"}');
    save(`# saved again\n${watchlist(['beta', 'gamma'])}`);
    await eventually('the unchanged reload', async () => ((await metric('provwatch_watchlist_reloads_total{result="unchanged"}'))! > 0 ? true : undefined), { timeoutMs: 10_000, progress });
    assert.equal(await metric('provwatch_watchlist_reloads_total{result="ok"}'), okReloads);
    assert.deepEqual(service.stackLines(), [], 'no stack trace');
    process.stdout.write(`# added target first polled ${addedPolledMs} ms after the file was saved; removed target: ${polls('alpha') - alphaAtRemoval} polls after removal\n`);
  }
});
