/**
 * The status API and /metrics under load, with a database of 1,000 targets and 20,000 releases
 * (plus one image per target with 10 verified tags): p50/p99 latency and requests per second at a
 * fixed offered rate (default 500/s) for the list and detail endpoints, and the time to render
 * /metrics. The service runs in its own process (as in production); autocannon in a process and
 * session of its own (bench/load-client.ts).
 * Baseline in the same run: /healthz at the same rate (no database), first and last; each ratio,
 * against the lower of the two, says what the endpoint's own work costs on top of HTTP and Nest.
 * The release detail is also read while verdicts change and Prometheus scrapes, and so is /healthz:
 * that last ratio, between the two under the same changes, is what the changes cost the status API
 * apart from what the 110 MB scrapes cost every request on the machine. Beside each row, the
 * service's own longest event-loop gap in that run (bench/service-loop-recorder.ts), with the CPU
 * and GC inside it: a p99 above the gap was spent outside the service's loop (the client, the
 * kernel, a core taken by another process).
 * Run: npm run build && node dist/bench/status-api.bench.js
 *   BENCH_TARGETS (1000), BENCH_RELEASES_PER_TARGET (20), BENCH_RATE (500), BENCH_SECONDS (30)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MetricsRepository, VerdictVersionFeed, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { ProvwatchMetrics, formatVerdictGauges } from '@provwatch/observability';
import { createTestDatabase } from '../test/support/postgres';
import { ensureRedis } from '../test/support/redis';
import { type LoadRun, offerLoad } from './load-client';
import { startScraper } from './metrics-scraper';
import { type LoopGap, longestGap } from './service-loop-recorder';
import { SERVICE_NODE_FLAGS } from '../apps/api/src/runtime-flags';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 1000);
const RELEASES = Number(process.env.BENCH_RELEASES_PER_TARGET ?? 20);
const RATE = Number(process.env.BENCH_RATE ?? 500);
/**
 * Seconds per measured run. 30: the p99 of 5,000 requests (10 s) is the 50th slowest, which a
 * handful of scheduling delays on a 2-core machine decide; the same /healthz baseline measured
 * first and last in one run differed up to 14x (4 and 56 ms) with 10 s.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const ROOT = resolve(__dirname, '../..');

/** Bulk load with generate_series: realistic shapes, a status mix, history for one run per subject. */
export async function seed(url: string): Promise<void> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    await pg.query(`INSERT INTO targets (name, github, config_hash, updated_at)
      SELECT 't' || i, 'example/project-' || i, 'h', now() FROM generate_series(0, $1 - 1) i`, [TARGETS]);
    await pg.query(`INSERT INTO releases (target_id, tag, github_release_id, published_at)
      SELECT t.id, 'v1.0.' || r, t.id * 1000 + r, now() - (($2 - r) || ' days')::interval
      FROM targets t, generate_series(0, $1 - 1) r`, [RELEASES, RELEASES]);
    await pg.query(`INSERT INTO verification_runs (target_id, subject_kind, subject_key, trigger, started_at, finished_at, status)
      SELECT r.target_id, 'release', r.tag, 'discovery', r.published_at + interval '1 minute', r.published_at + interval '2 minutes',
             CASE WHEN r.id % 97 = 0 THEN 'fail'::"CheckStatus" ELSE 'pass'::"CheckStatus" END
      FROM releases r`);
    await pg.query(`INSERT INTO check_results (run_id, "check", status, code, message, evidence)
      SELECT v.id, c, CASE WHEN v.status = 'fail' AND c = 'artifact-provenance' THEN 'fail'::"CheckStatus" ELSE 'pass'::"CheckStatus" END,
             CASE WHEN v.status = 'fail' AND c = 'artifact-provenance' THEN 'signature-invalid' ELSE 'verified' END,
             c || ' checked', jsonb_build_object('builderId', 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0', 'subjects', 12)
      FROM verification_runs v, unnest(ARRAY['artifact-provenance', 'checksums-signature', 'release-sbom']) c`);
    await pg.query(`INSERT INTO latest_check_status (target_id, subject_kind, subject_key, "check", status, code, check_result_id, since, updated_at)
      SELECT v.target_id, v.subject_kind, v.subject_key, c."check", c.status, c.code, c.id, v.finished_at, v.finished_at
      FROM check_results c JOIN verification_runs v ON v.id = c.run_id`);
    await pg.query(`INSERT INTO images (target_id, repository) SELECT id, 'ghcr.io/example/project-' || id FROM targets`);
    await pg.query(`INSERT INTO image_digests (image_id, tag, digest)
      SELECT i.id, 'v1.0.' || r, 'sha256:' || md5(i.id || '-' || r) || md5(r || '-' || i.id) FROM images i, generate_series($1 - 10, $1 - 1) r`, [RELEASES]);
    await pg.query(`INSERT INTO verification_runs (target_id, subject_kind, subject_key, trigger, started_at, finished_at, status)
      SELECT i.target_id, 'image', i.repository || ':' || d.tag, 'discovery', now(), now(), 'pass' FROM image_digests d JOIN images i ON i.id = d.image_id`);
    await pg.query(`INSERT INTO check_results (run_id, "check", status, code, message, evidence)
      SELECT v.id, c, 'pass', 'verified', c || ' checked', '{}'::jsonb
      FROM verification_runs v, unnest(ARRAY['image-tag', 'image-signature', 'image-provenance', 'image-sbom']) c WHERE v.subject_kind = 'image'`);
    await pg.query(`INSERT INTO latest_check_status (target_id, subject_kind, subject_key, "check", status, code, check_result_id, since, updated_at)
      SELECT v.target_id, v.subject_kind, v.subject_key, c."check", c.status, c.code, c.id, v.finished_at, v.finished_at
      FROM check_results c JOIN verification_runs v ON v.id = c.run_id WHERE v.subject_kind = 'image'`);
    await pg.query(`INSERT INTO poll_states (target_id, source, last_polled_at, last_success_at, rate_limit_remaining)
      SELECT id, 'github-releases', now(), now(), 4000 FROM targets`);
    // One statement per table made every target row dead 70 times over (the verdict triggers):
    // compacted, as a database that grew under autovacuum would be.
    await pg.query('VACUUM FULL ANALYZE');
  } finally {
    await pg.end();
  }
}

/**
 * Readies the bench database: a fresh one (`kept` false) or a kept one (BENCH_DATABASE_URL) gets
 * the migrations added since it was seeded, and is seeded when it does not hold TARGETS targets.
 * A kept one already seeded is vacuumed: the Postgres of this machine (and of CI) runs with
 * autovacuum off, a production database runs it, and without it a kept database carries the
 * dead rows of every earlier run (targets at 1.3 million dead rows: 148 MB to scan for 10,000
 * live ones), which the service would not see.
 */
export async function prepareDatabase(url: string, kept: boolean): Promise<void> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    const existing = kept ? await pg.query(`SELECT count(*)::int AS n FROM targets`).then((r) => r.rows[0].n as number, () => 0) : 0;
    await applyMigrations(url, join(ROOT, 'prisma', 'migrations'));
    if (existing !== TARGETS) {
      const seeded = Date.now();
      await seed(url);
      console.log(`seeded ${TARGETS} targets, ${TARGETS * RELEASES} releases, ${TARGETS * 10} image tags in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
    } else {
      await pg.query('VACUUM ANALYZE');
    }
  } finally {
    await pg.end();
  }
}

function watchlist(dir: string): string {
  const lines = ['targets:'];
  for (let i = 0; i < TARGETS; i++) {
    lines.push(
      `  - name: t${i}`,
      `    github: example/project-${i}`,
      '    identity:',
      '      issuer: https://token.actions.githubusercontent.com',
      `      subject_regexp: '^https://github\\.com/example/project-${i}/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$'`,
    );
  }
  const path = join(dir, 'provwatch.yaml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function startService(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, join(ROOT, 'dist/apps/api/src/main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Only the start-up output is searched, and only the last 16 KiB of output is kept for an error
  // message: the service logs a line per request, and searching all of it again for every chunk
  // (as this bench did) grew to hundreds of MB/s of regexp work in this process, on the same two
  // cores as the service.
  let output = '';
  let port: number | undefined;
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16 * 1024);
    port ??= Number(/listening on (\d+)/.exec(output)?.[1]) || undefined;
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  await new Promise<void>((resolveStart, reject) => {
    const check = () => {
      if (port === undefined) return;
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      resolveStart();
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

interface LoadResult extends LoadRun {
  name: string;
}

async function load(name: string, origin: string, paths: string[]): Promise<LoadResult> {
  // Two seconds unrecorded first: JIT, connection pools and caches warm up, as in a running
  // service. The client reports its own loop's longest stall and GC pause: a stall there delays
  // every response it reads then, and is not mistaken for the service's latency.
  return { name, ...(await offerLoad(origin, paths, { rate: RATE, connections: 20, seconds: SECONDS, warmupSeconds: 2 })) };
}

/**
 * Runs `during` while a verdict changes every second and Prometheus (a process of its own: reading
 * 100 MB bodies in the load client would slow the load it offers) scrapes every 5 s,
 * asking for gzip as Prometheus does.
 */
async function whileVerdictsChange<T>(url: string, origin: string, during: () => Promise<T>): Promise<T> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  let running = true;
  const scraper = await startScraper(origin, 5000);
  scraper.go();
  const changes = (async () => {
    for (let k = 0; running; k++) {
      // A latest status that moves: its target's verdict version is bumped (cached answers and
      // metrics series of that target rebuilt), one of the 50 targets read, round robin.
      await pg.query(`UPDATE latest_check_status SET updated_at = now() WHERE target_id = (SELECT id FROM targets WHERE name = $1)`, [`t${((k % 50) * 37) % TARGETS}`]);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    return await during();
  } finally {
    running = false;
    await changes;
    const scrapes = await scraper.stop();
    console.log(`scrapes during the changes: ${scrapes.length}, ${scrapes.map((x) => x.ms.toFixed(0)).join(', ')} ms`);
    await pg.end();
  }
}

/** The two halves of a scrape, in this process, and a whole render as the service does it. */
async function measureScrapeParts(url: string): Promise<void> {
    // The two halves of a scrape, in this process: the Postgres snapshot, then the exposition text.
    const prisma = createPrismaClient(url);
    const windows = Array.from({ length: TARGETS }, (_, i) => ({ name: `t${i}`, keepLast: 10 }));
    const repo = new MetricsRepository(prisma);
    await repo.verdicts(windows);
    // Each part once to warm up (JIT, connection, plan cache), then timed.
    const time = async <T>(what: () => Promise<T>): Promise<[T, number]> => {
      await what();
      const t0 = process.hrtime.bigint();
      const value = await what();
      return [value, Number(process.hrtime.bigint() - t0) / 1e6];
    };
    const [snapshot, readMs] = await time(() => repo.verdicts(windows));
    const names = windows.map((w) => w.name);
    // All versions (the first read) against what a refresh reads: only targets changed since.
    const [{ horizon }, versionMs] = await time(() => repo.verdictVersions(names));
    const [, changedVersionMs] = await time(() => repo.verdictVersions(names, horizon));
    const versionFeed = new VerdictVersionFeed(repo, () => names);
    const [, pollMs] = await time(() => repo.polls(windows));
    const [text, formatMs] = await time(async () => formatVerdictGauges(snapshot));
    console.log(
      `scrape parts: verdict snapshot ${readMs.toFixed(0)} ms (${snapshot.checks.length} checks), versions ${versionMs.toFixed(0)} ms all, ${changedVersionMs.toFixed(1)} ms changed only, polls ${pollMs.toFixed(0)} ms, ` +
        `verdict exposition ${formatMs.toFixed(0)} ms (${text.split('\n').length} lines)`,
    );
    // A whole render as the service does it: verdict text from cache, polls read, default metrics.
    const byName = new Map(windows.map((w) => [w.name, w]));
    const metrics = new ProvwatchMetrics(
      { version: 'bench' },
      { verdicts: { versions: () => versionFeed.read(), read: (targets) => repo.verdicts(targets.map((t) => byName.get(t)!)) }, polls: () => repo.polls(windows) },
    );
    await metrics.render();
    const renderTimes: number[] = [];
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, 1100));
      const t0 = process.hrtime.bigint();
      await metrics.render();
      renderTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    renderTimes.sort((a, b) => a - b);
    console.log(`render in process (unchanged verdicts): median ${renderTimes[5].toFixed(0)} ms, max ${renderTimes[9].toFixed(0)} ms`);
    await prisma.$disconnect();

}

async function main(): Promise<void> {
  await ensureRedis();
  // BENCH_DATABASE_URL: an existing database, seeded on first use and kept (as bench/metrics-scrape).
  const kept = process.env.BENCH_DATABASE_URL;
  const db = kept ? { url: kept, drop: async () => undefined } : await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-bench-'));
  let service: { child: ChildProcess; origin: string } | undefined;
  try {
    await prepareDatabase(db.url, kept !== undefined);
    // In a process of its own: its 700,000 rows and 110 MB of text grew this process's heap, and
    // autocannon's loop, then in this process, stalled 57-302 ms in load runs long after it,
    // measured as the service's latency.
    execFileSync(process.execPath, [__filename], { env: { ...process.env, BENCH_SCRAPE_PARTS_URL: db.url }, stdio: 'inherit' });

    const loopFile = join(dir, 'service-loop.jsonl');
    service = await startService({
      DATABASE_URL: db.url,
      PROVWATCH_CONFIG: watchlist(dir),
      PORT: '0',
      PROVWATCH_ROLES: 'api',
      PROVWATCH_QUEUE_PREFIX: `bench-${process.pid}`,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'service-loop-recorder.js')}`.trim(),
      PROVWATCH_BENCH_LOOP_FILE: loopFile,
    });

    // /metrics first: it is the same work whether or not the status endpoints exist. Plain and
    // gzip (what Prometheus asks for) in turn; the first gzip scrape compresses the kept pages.
    const renders = { plain: [] as number[], gzip: [] as number[] };
    const size = { plain: 0, gzip: 0 };
    for (let k = 0; k < 20; k++) {
      const kind = k % 2 === 0 ? 'gzip' : 'plain';
      // curl as the scraper: a client in this process would be timed too.
      const args = [...(kind === 'gzip' ? ['--compressed'] : []), '-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `${service.origin}/metrics`];
      const [total, bytes] = execFileSync('curl', args, { encoding: 'utf8' }).split(' ');
      renders[kind].push(Number(total) * 1000);
      size[kind] = Number(bytes);
      // Beyond the 1 s coalescing window: every scrape reads Postgres.
      await new Promise((r) => setTimeout(r, 1100));
    }
    for (const kind of ['plain', 'gzip'] as const) {
      const times = renders[kind].slice(1).sort((a, b) => a - b);
      console.log(`/metrics ${kind}: first ${renders[kind][0].toFixed(0)} ms, then median ${times[4].toFixed(0)} ms, max ${times[8].toFixed(0)} ms, ${(size[kind] / 1024).toFixed(0)} KiB on the wire`);
    }

    const targets = Array.from({ length: 50 }, (_, k) => `t${(k * 37) % TARGETS}`);
    const warm = await fetch(`${service.origin}/api/v1/targets/${targets[0]}/releases/v1.0.${RELEASES - 1}`);
    if (warm.status !== 200) throw new Error(`detail endpoint answered ${warm.status}: ${await warm.text()}`);

    // The baseline is measured first and last, and each ratio is against the lower of the two: a
    // transient in one of them (the first background builds, a GC after the scrapes above) would
    // otherwise make every ratio look better than it is.
    const baselineFirst = await load('/healthz (baseline, first)', service.origin, ['/healthz']);
    const detailPaths = targets.map((t, k) => `/api/v1/targets/${t}/releases/v1.0.${k % RELEASES}`);
    const results = [
      await load('GET /api/v1/targets', service.origin, ['/api/v1/targets']),
      await load('GET /api/v1/targets/{t}', service.origin, targets.map((t) => `/api/v1/targets/${t}`)),
      await load('GET /api/v1/targets/{t}/releases', service.origin, targets.map((t) => `/api/v1/targets/${t}/releases`)),
      await load('GET .../releases/{tag}', service.origin, detailPaths),
      await load('GET /api/v1/badges/{t}', service.origin, targets.map((t) => `/api/v1/badges/${t}`)),
      // The hard case: a verdict recorded every second (caches invalidated, the metrics text
      // rebuilt) while Prometheus scrapes every 5 s and clients read release details.
      await whileVerdictsChange(db.url, service.origin, () => load('GET .../releases/{tag} + changes', service!.origin, detailPaths)),
    ];
    // The same changes and scrapes with /healthz alone: what they cost every request on two
    // shared cores (a 110 MB body every 5 s), apart from what they cost the status API.
    const healthzChanged = await whileVerdictsChange(db.url, service.origin, () => load('/healthz + changes', service!.origin, ['/healthz']));
    const baselineLast = await load('/healthz (baseline, last)', service.origin, ['/healthz']);
    const baseline = baselineFirst.p99 <= baselineLast.p99 ? baselineFirst : baselineLast;
    console.log(`offered rate ${RATE}/s for ${SECONDS} s each, 20 connections; latency in ms; ratios against the lower baseline p99 (${baseline.name})`);
    // Written once a second by the service: wait for the last phase's gaps to be in the file.
    await new Promise((r) => setTimeout(r, 1500));
    const gaps = readFileSync(loopFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as LoopGap);
    console.log(`${'endpoint'.padEnd(36)} ${'p50'.padStart(6)} ${'p97.5'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)} ${'req/s'.padStart(7)} ${'errors'.padStart(7)}  p99 / baseline p99   client loop (GC)   service loop: longest gap (its CPU, GC)`);
    for (const r of [baselineFirst, baselineLast, ...results, healthzChanged]) {
      const longest = longestGap(gaps, r.from, r.to + 1);
      const loop = longest ? `${longest.gapMs.toFixed(1)} ms (${longest.cpuMs.toFixed(1)}, ${longest.gcMs.toFixed(1)}${longest.gc.length > 0 ? ` ${longest.gc.join(' ')}` : ''})` : '<= 5 ms';
      console.log(`${r.name.padEnd(36)} ${r.p50.toFixed(1).padStart(6)} ${r.p97_5.toFixed(1).padStart(6)} ${r.p99.toFixed(1).padStart(6)} ${r.max.toFixed(0).padStart(6)} ${r.rps.toFixed(0).padStart(7)} ${String(r.errors).padStart(7)}  ${(r.p99 / Math.max(baseline.p99, 0.1)).toFixed(2).padEnd(20)} ${`${r.clientLoopMaxMs.toFixed(1)} ms (${r.clientGcMs.toFixed(1)})`.padEnd(18)} ${loop}`);
    }
    const changed = results[results.length - 1];
    console.log(`release with checks + changes against /healthz + the same changes: ${(changed.p99 / Math.max(healthzChanged.p99, 0.1)).toFixed(2)}`);
  } finally {
    service?.child.kill('SIGTERM');
    await db.drop();
  }
}

if (require.main === module && process.env.BENCH_SCRAPE_PARTS_URL) {
  measureScrapeParts(process.env.BENCH_SCRAPE_PARTS_URL).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
