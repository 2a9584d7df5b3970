import { strict as assert } from 'node:assert';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUES } from '@provwatch/jobs';
import { type CheckToRecord, ImageRepository, PollStateRepository, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient, type PrismaClient } from '@provwatch/persistence';
import { createTestDatabase } from '../../../../test/support/postgres';
import { TEST_REDIS_URL, ensureRedis, redisConnectionOptions } from '../../../../test/support/redis';
import { bootstrap } from '../main';

/**
 * The REST status API on a real Postgres and Redis: every endpoint, its auth, its input checks
 * (nothing written or queued on bad input), the webhook's signature, the error shape, OpenAPI.
 */
const MIGRATIONS = join(resolve(__dirname, '../../../../../prisma'), 'migrations');
const TOKEN = 'test-api-token-0123456789';
const SECRET = 'webhook-secret-for-tests';
const IMAGE = 'ghcr.io/slsa-framework/example-package';

function watchlist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-api-'));
  const file = join(dir, 'provwatch.yaml');
  writeFileSync(
    file,
    `targets:
  - name: example-package
    github: slsa-framework/example-package
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github\\.com/slsa-framework/example-package/'
    images:
      - ref: ${IMAGE}
  - name: quiet-project
    github: someone/quiet-project
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject: https://github.com/someone/quiet-project/.github/workflows/release.yml@refs/heads/main
`,
  );
  return file;
}

const check = (name: string, status: CheckToRecord['status'], code = status === 'pass' ? 'verified' : 'subject-digest-mismatch'): CheckToRecord => ({
  check: name,
  status,
  code,
  message: `${name} ${status}`,
  evidence: { artifactDigests: { 'example-binary': 'sha256:' + 'ab'.repeat(32) }, builderId: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0' },
});

type App = { close(): Promise<void>; port: number };

describe('REST status API', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let app: App;
  let noToken: App;
  let readAuth: App;
  let verifyQueue: Queue;
  let discoverQueue: Queue;
  const prefix = `api-${randomUUID().slice(0, 8)}`;
  const base = (a: App) => `http://127.0.0.1:${a.port}`;

  before(async () => {
    await ensureRedis();
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    const releases = new ReleaseRepository(prisma);
    const runs = new VerificationRepository(prisma);
    const targetId = await releases.upsertTarget('example-package', 'slsa-framework/example-package', 'h');
    const quietId = await releases.upsertTarget('quiet-project', 'someone/quiet-project', 'h');
    // A monorepo-style tag: reaches the API URL-encoded (%2F).
    await releases.upsertRelease(quietId, { tag: 'tools/v1.0.0', githubReleaseId: 100, name: null, prerelease: false, publishedAt: new Date(Date.UTC(2026, 10, 1)) });
    const at = (day: number) => new Date(Date.UTC(2026, 10, day, 12));
    for (const [tag, day, id] of [['v12', 1, 12], ['v13', 2, 13], ['v14', 3, 14]] as const) {
      // GitHub's immutable flag: v14 immutable, v13 not, v12 from before GitHub said (absent).
      await releases.upsertRelease(targetId, { tag, githubReleaseId: id, name: `Release ${tag}`, prerelease: false, publishedAt: at(day), immutable: tag === 'v14' ? true : tag === 'v13' ? false : undefined });
    }
    await runs.recordRun({ targetId, subjectKind: 'release', subjectKey: 'v12', trigger: 'discovery', startedAt: at(1), finishedAt: at(1), checks: [check('artifact-provenance', 'pass')] });
    await runs.recordRun({ targetId, subjectKind: 'release', subjectKey: 'v13', trigger: 'discovery', startedAt: at(2), finishedAt: at(2), checks: [check('artifact-provenance', 'pass')] });
    // v14: passed first, then failed; its image's SBOM passes.
    await runs.recordRun({ targetId, subjectKind: 'release', subjectKey: 'v14', trigger: 'discovery', startedAt: at(3), finishedAt: at(3), checks: [check('artifact-provenance', 'pass'), check('release-sbom', 'missing', 'evidence-missing')] });
    await runs.recordRun({ targetId, subjectKind: 'release', subjectKey: 'v14', trigger: 'schedule', startedAt: at(4), finishedAt: at(4), checks: [check('artifact-provenance', 'fail'), check('release-sbom', 'missing', 'evidence-missing')] });
    await new PollStateRepository(prisma).record(targetId, 'github-releases', at(4), { etag: '"e1"' });
    await new PollStateRepository(prisma).record(targetId, `oci-tags:${IMAGE}`, at(4), { errorCode: 'network-error' });
    const imageId = await new ImageRepository(prisma).upsertImage(targetId, IMAGE);
    await new ImageRepository(prisma).observeTag(imageId, 'v14', `sha256:${'cd'.repeat(32)}`, at(3));
    await runs.recordRun({ targetId, subjectKind: 'image', subjectKey: `${IMAGE}:v14`, trigger: 'discovery', startedAt: at(3), finishedAt: at(3), checks: [{ ...check('image-sbom', 'pass'), sbom: { format: 'CycloneDX', specVersion: '1.5', componentCount: 42, mainComponent: 'example-package' } }] });

    const env = {
      PROVWATCH_CONFIG: watchlist(),
      PORT: '0',
      PROVWATCH_ROLES: 'api',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      PROVWATCH_QUEUE_PREFIX: prefix,
    };
    [app, noToken, readAuth] = await Promise.all([
      bootstrap({ ...env, PROVWATCH_API_TOKEN: TOKEN, GITHUB_WEBHOOK_SECRET: SECRET }),
      bootstrap(env),
      bootstrap({ ...env, PROVWATCH_API_TOKEN: TOKEN, PROVWATCH_API_READ_AUTH: 'true' }),
    ]);
    const connection = await redisConnectionOptions();
    verifyQueue = new Queue(QUEUES.verify, { connection, prefix });
    discoverQueue = new Queue(QUEUES.discover, { connection, prefix });
  });

  after(async () => {
    await Promise.allSettled([app?.close(), noToken?.close(), readAuth?.close()]);
    await verifyQueue?.obliterate({ force: true }).catch(() => undefined);
    await discoverQueue?.obliterate({ force: true }).catch(() => undefined);
    await Promise.allSettled([verifyQueue?.close(), discoverQueue?.close()]);
    await prisma?.$disconnect();
    await db?.drop();
  });

  const get = async (path: string, a = app, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base(a)}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  const post = async (path: string, init: { headers?: Record<string, string>; body?: string } = {}, a = app) => {
    const res = await fetch(`${base(a)}${path}`, { method: 'POST', headers: init.headers, body: init.body });
    return { status: res.status, body: (await res.json()) as any };
  };
  const queued = async () => ({ verify: await verifyQueue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']), discover: await discoverQueue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']) });
  const assertError = (res: { status: number; body: any }, status: number, code: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['error']);
    assert.equal(res.body.error.code, code);
    assert.equal(typeof res.body.error.message, 'string');
  };

  test('targets: every watched target with its latest verdict, paginated by name', async () => {
    const all = await get('/api/v1/targets');
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.items.map((t: any) => t.name), ['example-package', 'quiet-project']);
    const example = all.body.items[0];
    assert.equal(example.status, 'fail');
    assert.deepEqual(example.counts, { pass: 3, fail: 1, missing: 1, error: 0, 'not-applicable': 0 });
    assert.deepEqual(example.latestRelease, { tag: 'v14', publishedAt: '2026-11-03T12:00:00.000Z', status: 'fail' });
    assert.equal(example.lastVerifiedAt, '2026-11-04T12:00:00.000Z');
    assert.equal(all.body.items[1].status, null, 'nothing verified yet');
    assert.equal(all.body.next, null);
    const first = await get('/api/v1/targets?limit=1');
    assert.equal(first.body.items.length, 1);
    const second = await get(`/api/v1/targets?limit=1&cursor=${first.body.next}`);
    assert.deepEqual(second.body.items.map((t: any) => t.name), ['quiet-project']);
    assert.equal(second.body.next, null);
  });

  test('one target: verdict, identity, images, poll health', async () => {
    const res = await get('/api/v1/targets/example-package');
    assert.equal(res.status, 200);
    assert.equal(res.body.github, 'slsa-framework/example-package');
    assert.equal(res.body.sourceUri, 'github.com/slsa-framework/example-package');
    assert.equal(res.body.identity.issuer, 'https://token.actions.githubusercontent.com');
    assert.deepEqual(res.body.images, [IMAGE]);
    assert.deepEqual(res.body.polls, [
      { source: 'github-releases', lastPolledAt: '2026-11-04T12:00:00.000Z', lastSuccessAt: '2026-11-04T12:00:00.000Z', lastErrorCode: null },
      { source: `oci-tags:${IMAGE}`, lastPolledAt: '2026-11-04T12:00:00.000Z', lastSuccessAt: null, lastErrorCode: 'network-error' },
    ]);
    assert.deepEqual((await get('/api/v1/targets/quiet-project')).body.polls, [], 'never polled');
    assertError(await get('/api/v1/targets/not-watched'), 404, 'not-found');
    assertError(await get('/api/v1/targets/BAD%20NAME'), 400, 'bad-request');
  });

  test('releases: newest first with their verdict (image checks at the tag included), keyset pages', async () => {
    const res = await get('/api/v1/targets/example-package/releases');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((r: any) => [r.tag, r.status]), [['v14', 'fail'], ['v13', 'pass'], ['v12', 'pass']]);
    assert.deepEqual(res.body.items[0].counts, { pass: 1, fail: 1, missing: 1, error: 0, 'not-applicable': 0 });
    const p1 = await get('/api/v1/targets/example-package/releases?limit=2');
    assert.deepEqual(p1.body.items.map((r: any) => r.tag), ['v14', 'v13']);
    const p2 = await get(`/api/v1/targets/example-package/releases?limit=2&cursor=${p1.body.next}`);
    assert.deepEqual(p2.body.items.map((r: any) => r.tag), ['v12']);
    assert.equal(p2.body.next, null);
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const crafted = [
      { p: null, i: 1e300 }, // not an integer column value
      { p: '2026-11-03T12:00:00.000Z', i: 99_999_999_999 }, // beyond Postgres' integer
      { p: 'Tue, 01 Jan 2030 00:00:00 GMT', i: 1 }, // a time we never write
      { p: '2026-11-03T12:00:00.000Z', i: -1 },
      { p: 1, i: 1 },
    ].map((c) => `cursor=${cursor(c)}`);
    for (const bad of ['limit=0', 'limit=201', 'limit=ten', 'limit=1&limit=2', 'cursor=%24%24', 'cursor=eyJwIjoxfQ', ...crafted]) {
      assertError(await get(`/api/v1/targets/example-package/releases?${bad}`), 400, 'bad-request');
    }
    assertError(await get(`/api/v1/targets?cursor=${cursor({ after: 'x' })}`), 400, 'bad-request');
  });

  test('one release: every check with code, message, evidence, since; image checks and digests', async () => {
    const res = await get('/api/v1/targets/example-package/releases/v14');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'fail');
    const byCheck = Object.fromEntries(res.body.checks.map((c: any) => [c.check, c]));
    assert.equal(byCheck['artifact-provenance'].status, 'fail');
    assert.equal(byCheck['artifact-provenance'].code, 'subject-digest-mismatch');
    assert.equal(byCheck['artifact-provenance'].since, '2026-11-04T12:00:00.000Z');
    assert.match(byCheck['artifact-provenance'].evidence.builderId, /generator_generic_slsa3/);
    assert.equal(byCheck['image-sbom'].subject, 'image');
    assert.equal(byCheck['image-sbom'].image, IMAGE);
    assert.deepEqual(byCheck['image-sbom'].sbom, { format: 'CycloneDX', specVersion: '1.5', componentCount: 42, mainComponent: 'example-package' });
    assert.deepEqual(res.body.images, [{ repository: IMAGE, digest: `sha256:${'cd'.repeat(32)}`, firstDigest: `sha256:${'cd'.repeat(32)}` }]);
    assert.equal(res.body.release.immutable, true);
    assert.ok(Date.parse(res.body.release.immutableSince) > 0, res.body.release.immutableSince);
    const v13 = (await get('/api/v1/targets/example-package/releases/v13')).body.release;
    assert.deepEqual([v13.immutable, v13.immutableSince], [false, null]);
    const listed = (await get('/api/v1/targets/example-package/releases')).body.items;
    assert.deepEqual(listed.map((r: any) => [r.tag, r.immutable]), [['v14', true], ['v13', false], ['v12', null]]);
    assertError(await get('/api/v1/targets/example-package/releases/v99'), 404, 'not-found');
    assertError(await get('/api/v1/targets/example-package/releases/..%2F..%2Fetc'), 400, 'bad-request');
    assertError(await get(`/api/v1/targets/example-package/releases/${'v'.repeat(129)}`), 400, 'bad-request');
    const monorepo = await get('/api/v1/targets/quiet-project/releases/tools%2Fv1.0.0');
    assert.equal(monorepo.status, 200, JSON.stringify(monorepo.body));
    assert.equal(monorepo.body.release.tag, 'tools/v1.0.0');
    assert.equal(monorepo.body.status, null, 'not verified yet');
    assert.deepEqual(monorepo.body.checks, []);
  });

  test('run history: newest first, release and image runs, keyset pages', async () => {
    const res = await get('/api/v1/targets/example-package/releases/v14/runs?limit=2');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((r: any) => [r.subject, r.trigger, r.status]), [['image', 'discovery', 'pass'], ['release', 'schedule', 'fail']]);
    assert.deepEqual(res.body.items[1].checks.map((c: any) => c.check), ['artifact-provenance', 'release-sbom']);
    const rest = await get(`/api/v1/targets/example-package/releases/v14/runs?limit=2&cursor=${res.body.next}`);
    assert.deepEqual(rest.body.items.map((r: any) => r.trigger), ['discovery']);
    assert.equal(rest.body.next, null);
    assertError(await get('/api/v1/targets/example-package/releases/v99/runs'), 404, 'not-found');
    // ?before=<run id>: the plain keyset form, the same page as the cursor.
    const byId = await get(`/api/v1/targets/example-package/releases/v14/runs?limit=2&before=${res.body.items[1].id}`);
    assert.deepEqual(byId.body, rest.body);
    const runs = '/api/v1/targets/example-package/releases/v14/runs';
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of [
      'before=abc',
      'before=-1',
      'before=0',
      'before=1.5',
      'before=9999999999999999999', // beyond bigint
      `cursor=${cursor('9999999999999999999')}`,
      `cursor=${cursor(12)}`,
      `before=1&cursor=${res.body.next}`,
      'limit=500',
    ]) {
      assertError(await get(`${runs}?${bad}`), 400, 'bad-request');
    }
    assert.deepEqual((await get('/api/v1/targets/quiet-project/releases/tools%2Fv1.0.0/runs')).body, { items: [], next: null });
  });

  test('badges: shields.io endpoint JSON for the newest release or a given one', async () => {
    const latest = await get('/api/v1/badges/example-package');
    assert.equal(latest.status, 200);
    assert.deepEqual(latest.body, { schemaVersion: 1, label: 'supply chain', message: 'failed', color: 'red' });
    assert.match(latest.headers.get('cache-control') ?? '', /max-age=60/);
    assert.deepEqual((await get('/api/v1/badges/example-package?release=v13')).body, { schemaVersion: 1, label: 'supply chain v13', message: 'verified', color: 'brightgreen' });
    assert.deepEqual((await get('/api/v1/badges/quiet-project')).body, { schemaVersion: 1, label: 'supply chain', message: 'not verified yet', color: 'lightgrey' });
    assertError(await get('/api/v1/badges/nobody'), 404, 'not-found');
    assertError(await get('/api/v1/badges/example-package?release=v99'), 404, 'not-found');
    assertError(await get('/api/v1/badges/example-package?release=%3Cscript%3E'), 400, 'bad-request');
    assertError(await get('/api/v1/badges/Example'), 400, 'bad-request');
    assert.deepEqual((await get('/api/v1/badges/quiet-project?release=tools%2Fv1.0.0')).body, { schemaVersion: 1, label: 'supply chain tools/v1.0.0', message: 'not verified yet', color: 'lightgrey' });
  });

  test('re-verify: needs the token; queues the release and its watched image at the tag', async () => {
    const path = '/api/v1/targets/example-package/releases/v14/verify';
    const anonymous = await fetch(`${base(app)}${path}`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="provwatch"');
    assertError(await post(path), 401, 'unauthorized');
    assertError(await post(path, { headers: { authorization: 'Bearer wrong-token-wrong-token' } }), 401, 'unauthorized');
    assertError(await post(path, { headers: { authorization: `Bearer ${TOKEN}x` } }), 401, 'unauthorized');
    assertError(await post(path, { headers: { authorization: 'Bearer ' } }), 401, 'unauthorized');
    assertError(await post(path, { headers: { authorization: `Basic ${TOKEN}` } }), 401, 'unauthorized');
    assert.equal((await queued()).verify.length, 0, 'nothing queued without a valid token');
    const ok = await post(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal(ok.body.jobs.length, 2);
    const jobs = (await queued()).verify;
    assert.deepEqual(jobs.map((j) => j.name).sort(), ['verify-image', 'verify-release']);
    const release = jobs.find((j) => j.name === 'verify-release')!;
    assert.deepEqual(release.data, { target: 'example-package', tag: 'v14', releaseId: 14, trigger: 'manual' });
    const image = jobs.find((j) => j.name === 'verify-image')!;
    assert.deepEqual(image.data, { target: 'example-package', image: IMAGE, tag: 'v14', digest: `sha256:${'cd'.repeat(32)}`, trigger: 'manual' });
    // A double click collapses into the same jobs.
    await post(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal((await queued()).verify.length, 2);
  });

  test('re-verify of what does not exist, or with bad input, queues nothing', async () => {
    const before = (await queued()).verify.length;
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    assertError(await post('/api/v1/targets/example-package/releases/v99/verify', auth), 404, 'not-found');
    assertError(await post('/api/v1/targets/nobody/releases/v14/verify', auth), 404, 'not-found');
    assertError(await post('/api/v1/targets/example-package/releases/v1%3Bdrop/verify', auth), 400, 'bad-request');
    assert.equal((await queued()).verify.length, before);
  });

  test('without PROVWATCH_API_TOKEN write endpoints are disabled, reads stay public', async () => {
    assertError(await post('/api/v1/targets/example-package/releases/v14/verify', { headers: { authorization: `Bearer ${TOKEN}` } }, noToken), 403, 'write-disabled');
    assert.equal((await get('/api/v1/targets', noToken)).status, 200);
  });

  test('with PROVWATCH_API_READ_AUTH reads need the token; health and metrics never do', async () => {
    assertError(await get('/api/v1/targets', readAuth), 401, 'unauthorized');
    assertError(await get('/api/v1/badges/example-package', readAuth), 401, 'unauthorized');
    assertError(await get('/api/v1/targets/example-package/releases/v14', readAuth, { authorization: 'Bearer not-the-token-at-all' }), 401, 'unauthorized');
    assert.equal((await get('/api/v1/targets/example-package/releases/v14/runs', readAuth, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await fetch(`${base(readAuth)}/readyz`)).status, 200);
    assert.equal((await get('/api/v1/targets', readAuth, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await fetch(`${base(readAuth)}/healthz`)).status, 200);
    assert.equal((await fetch(`${base(readAuth)}/metrics`)).status, 200);
  });

  describe('GitHub webhook', () => {
    const payload = JSON.stringify({ action: 'published', release: { tag_name: 'v15' }, repository: { full_name: 'SLSA-Framework/example-package' } });
    const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const deliver = (body: string, headers: Record<string, string>, a = app) =>
      post('/api/v1/webhooks/github', { body, headers: { 'content-type': 'application/json', 'x-github-event': 'release', ...headers } }, a);

    test('a missing or wrong signature is rejected and nothing is queued', async () => {
      assertError(await deliver(payload, {}), 401, 'webhook-signature-invalid');
      assertError(await deliver(payload, { 'x-hub-signature-256': sign(payload, 'another-secret') }), 401, 'webhook-signature-invalid');
      assertError(await deliver(payload, { 'x-hub-signature-256': sign(`${payload} `) }), 401, 'webhook-signature-invalid');
      assertError(await deliver(payload, { 'x-hub-signature-256': 'sha1=0123' }), 401, 'webhook-signature-invalid');
      // The API token is not a way in.
      assertError(await deliver(payload, { authorization: `Bearer ${TOKEN}` }), 401, 'webhook-signature-invalid');
      assert.equal((await queued()).discover.length, 0);
    });

    const delivery = randomUUID();

    test('a signed release event queues discovery of the watched target at once', async () => {
      const res = await deliver(payload, { 'x-hub-signature-256': sign(payload), 'x-github-delivery': delivery });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body, { event: 'release', queued: ['example-package'] });
      const jobs = (await queued()).discover;
      assert.equal(jobs.length, 1);
      assert.deepEqual(jobs[0].data, { target: 'example-package', trigger: 'webhook' });
    });

    test('a delivery is acted on once: its replay is answered as a duplicate and queues nothing', async () => {
      const replay = await deliver(payload, { 'x-hub-signature-256': sign(payload), 'x-github-delivery': delivery });
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      assert.deepEqual(replay.body, { event: 'release', queued: [], duplicate: true });
      assertError(await deliver(payload, { 'x-hub-signature-256': sign(payload), 'x-github-delivery': 'not a guid' }), 400, 'bad-request');
      assertError(await deliver(payload, { 'x-hub-signature-256': sign(payload), 'x-github-delivery': 'a'.repeat(101) }), 400, 'bad-request');
      assert.equal((await queued()).discover.length, 1);
    });

    test('ping is answered; other events are ignored; unknown repositories and bad payloads are refused', async () => {
      const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
      const pong = await deliver(ping, { 'x-github-event': 'ping', 'x-hub-signature-256': sign(ping) });
      assert.equal(pong.status, 200);
      assert.deepEqual(pong.body, { event: 'ping', queued: [] });
      // Even ping must be signed: an unsigned one is how a wrong secret shows in GitHub's settings.
      assertError(await deliver(ping, { 'x-github-event': 'ping' }), 401, 'webhook-signature-invalid');
      const push = JSON.stringify({ repository: { full_name: 'slsa-framework/example-package' } });
      const ignored = await deliver(push, { 'x-github-event': 'push', 'x-hub-signature-256': sign(push) });
      assert.equal(ignored.status, 200);
      assert.deepEqual(ignored.body, { event: 'push', queued: [] });
      // A hook configured for form encoding: signed, but not a body we read.
      const form = `payload=${encodeURIComponent(payload)}`;
      assertError(await deliver(form, { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': sign(form) }), 415, 'unsupported-media-type');
      const unknown = JSON.stringify({ repository: { full_name: 'someone/else' } });
      assertError(await deliver(unknown, { 'x-hub-signature-256': sign(unknown) }), 404, 'not-found');
      const broken = '{"repository": ';
      assertError(await deliver(broken, { 'x-hub-signature-256': sign(broken) }), 400, 'bad-request');
      const noRepo = JSON.stringify({ action: 'published' });
      assertError(await deliver(noRepo, { 'x-hub-signature-256': sign(noRepo) }), 400, 'bad-request');
      const huge = JSON.stringify({ repository: { full_name: 'slsa-framework/example-package' }, pad: 'x'.repeat(2 * 1024 * 1024) });
      assertError(await deliver(huge, { 'x-hub-signature-256': sign(huge) }), 413, 'payload-too-large');
      assert.equal((await queued()).discover.length, 1, 'only the one valid release event queued anything');
    });

    test('without GITHUB_WEBHOOK_SECRET the webhook refuses everything', async () => {
      assertError(await deliver(payload, { 'x-hub-signature-256': sign(payload) }, noToken), 503, 'webhook-not-configured');
    });

    test('every delivery the handler saw is counted by outcome, from zero', async () => {
      const counts = async (a: App) => {
        const text = await (await fetch(`${base(a)}/metrics`)).text();
        return Object.fromEntries([...text.matchAll(/^provwatch_webhook_deliveries_total\{outcome="([a-z-]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
      };
      // The deliveries of the tests above, in order; the malformed JSON and the 1 MiB body are
      // refused by the body parser before the handler.
      assert.deepEqual(await counts(app), {
        queued: 1,
        duplicate: 1,
        ignored: 2,
        'signature-invalid': 6,
        'not-configured': 0,
        'not-watched': 1,
        invalid: 4,
        unavailable: 0,
        'internal-error': 0,
      });
      assert.equal((await counts(noToken))['not-configured'], 1);
    });
  });

  test('unknown routes and methods answer in the same error shape', async () => {
    assertError(await get('/api/v1/nothing-here'), 404, 'not-found');
    assertError(await post('/api/v1/targets'), 404, 'not-found');
  });

  test('the OpenAPI document lists every endpoint, its parameters and the bearer scheme; Swagger UI is served', async () => {
    const doc = await get('/api/docs/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    const paths = Object.keys(doc.body.paths).sort();
    assert.deepEqual(paths, [
      '/api/v1/badges/{target}',
      '/api/v1/targets',
      '/api/v1/targets/{target}',
      '/api/v1/targets/{target}/releases',
      '/api/v1/targets/{target}/releases/{tag}',
      '/api/v1/targets/{target}/releases/{tag}/runs',
      '/api/v1/targets/{target}/releases/{tag}/verify',
      '/api/v1/webhooks/github',
      '/healthz',
      '/metrics',
      '/readyz',
    ]);
    assert.deepEqual(doc.body.components.securitySchemes['api-token'], { type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'PROVWATCH_API_TOKEN' });
    const params = (path: string, method = 'get') => doc.body.paths[path][method].parameters.map((p: any) => `${p.in}:${p.name}`).sort();
    const responses = (path: string, method = 'get') => Object.keys(doc.body.paths[path][method].responses).sort();
    const security = (path: string, method = 'get') => doc.body.paths[path][method].security;
    const verify = '/api/v1/targets/{target}/releases/{tag}/verify';
    assert.deepEqual(params(verify, 'post'), ['path:tag', 'path:target']);
    assert.deepEqual(responses(verify, 'post'), ['202', '400', '401', '403', '404', '503']);
    assert.deepEqual(params('/api/v1/targets'), ['query:cursor', 'query:limit']);
    assert.deepEqual(params('/api/v1/targets/{target}'), ['path:target']);
    assert.deepEqual(params('/api/v1/targets/{target}/releases'), ['path:target', 'query:cursor', 'query:limit']);
    assert.deepEqual(params('/api/v1/targets/{target}/releases/{tag}'), ['path:tag', 'path:target']);
    assert.deepEqual(params('/api/v1/targets/{target}/releases/{tag}/runs'), ['path:tag', 'path:target', 'query:before', 'query:cursor', 'query:limit']);
    assert.deepEqual(params('/api/v1/badges/{target}'), ['path:target', 'query:release']);
    assert.deepEqual(params('/api/v1/webhooks/github', 'post'), ['header:x-github-delivery', 'header:x-github-event', 'header:x-hub-signature-256']);
    assert.deepEqual(responses('/api/v1/webhooks/github', 'post'), ['200', '202', '400', '401', '404', '413', '415', '503']);
    assert.deepEqual(responses('/readyz'), ['200', '503']);
    // Status reads and writes name the bearer scheme (reads need it with PROVWATCH_API_READ_AUTH); the webhook and probes do not.
    for (const path of paths.filter((p) => p.startsWith('/api/v1/targets') || p.startsWith('/api/v1/badges'))) {
      for (const method of Object.keys(doc.body.paths[path])) {
        assert.deepEqual(security(path, method), [{ 'api-token': [] }], `${method} ${path}`);
        assert.ok(doc.body.paths[path][method].responses['401'], `${method} ${path} documents 401`);
        assert.ok(doc.body.paths[path][method].responses['400'], `${method} ${path} documents 400`);
        assert.ok(doc.body.paths[path][method].summary, `${method} ${path} has a summary`);
      }
    }
    for (const path of ['/api/v1/webhooks/github', '/healthz', '/readyz', '/metrics']) {
      for (const method of Object.keys(doc.body.paths[path])) assert.equal(security(path, method), undefined, `${method} ${path} needs no token`);
    }
    const yaml = await fetch(`${base(app)}/api/docs/openapi.yaml`);
    assert.equal(yaml.status, 200);
    assert.match(await yaml.text(), /^openapi: 3\./m);
    const ui = await fetch(`${base(app)}/api/docs`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });
});
