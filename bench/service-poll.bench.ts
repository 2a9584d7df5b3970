/**
 * 1,000 watched targets against the local GitHub API double, through the real discovery code
 * on real Postgres: requests per poll cycle (target: one conditional request per unchanged
 * target), cycle time for the first (everything new) and the second (nothing changed) cycle,
 * release verification throughput with the release-tag request it costs (a 200 the first time, a
 * free 304 on re-verification), and process RSS. The baseline in the same process is the
 * first cycle; the ratio says what conditional requests save.
 * Run: npm run build && node dist/bench/service-poll.bench.js   (BENCH_TARGETS, default 1000)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { VerifyReleasePayload } from '@provwatch/jobs';
import { PollStateRepository, ReleaseRepository, VerificationRepository, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { GitHubClient, RekorClient } from '@provwatch/sources';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { ReleaseDiscovery } from '../apps/worker/src/discovery/release-discovery';
import { ReleaseVerifier } from '../apps/worker/src/verification/release-verifier';
import { GitHubDouble } from '../test/support/github-double';
import { createTestDatabase } from '../test/support/postgres';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../test/support/vectors';
import { exampleTarget } from '../test/support/watch-targets';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 1000);
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 50);
const CONCURRENCY = 16;
/** configSource.digest.sha1 of the generic-v2.1.0 v14 provenance. */
const PROVENANCE_COMMIT = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';

async function pool<T>(items: T[], worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await worker(items[next++]);
  }));
}

async function main(): Promise<void> {
  const gh = await GitHubDouble.start();
  const db = await createTestDatabase();
  const prisma = createPrismaClient(db.url);
  try {
    await applyMigrations(db.url, join(resolve(__dirname, '../..'), 'prisma', 'migrations'));
    const binary = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
    const provenance = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
    gh.rateLimit.limit = gh.rateLimit.remaining = 1_000_000;
    const releases = new ReleaseRepository(prisma);
    const targets: Array<ReturnType<typeof exampleTarget> & { id: number }> = [];
    for (let i = 0; i < TARGETS; i++) {
      const repo = `example-package-${i}`;
      gh.repos.set(`slsa-framework/${repo}`, [
        // The commit the real provenance names, so release-tag resolves the tag and compares it.
        { id: 14, tag: 'v14', publishedAt: '2025-02-25T21:00:00Z', commit: PROVENANCE_COMMIT, assets: [
          { id: i * 10 + 1, name: 'gha_generic-binary-linux-amd64-v14', bytes: binary, updatedAt: '2025-02-25T21:05:00Z' },
          { id: i * 10 + 2, name: 'multiple.intoto.jsonl', bytes: provenance, updatedAt: '2025-02-25T21:06:00Z' },
        ] },
      ]);
      const target = exampleTarget({ name: `t${i}`, github: `slsa-framework/${repo}`, sourceUri: 'github.com/slsa-framework/example-package' });
      targets.push({ ...target, id: await releases.upsertTarget(target.name, target.github, 'h') });
    }
    const queued: VerifyReleasePayload[] = [];
    const github = new GitHubClient({ baseUrl: gh.url, insecureHosts: [gh.storageHost] });
    const discovery = new ReleaseDiscovery({ github, pollStates: new PollStateRepository(prisma), releases, enqueueVerify: async (p) => void queued.push(p) });

    const cycle = async (name: string) => {
      gh.requests.length = 0;
      const start = process.hrtime.bigint();
      await pool(targets, async (t) => void (await discovery.discover(t)));
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const api = gh.requests.filter((r) => r.server === 'api');
      const notModified = api.filter((r) => r.status === 304).length;
      console.log(`${name.padEnd(28)} ${seconds.toFixed(2).padStart(6)} s  ${api.length} requests (${(api.length / TARGETS).toFixed(2)} per target, ${notModified} answered 304)`);
      return seconds;
    };
    const first = await cycle('first cycle (all new)');
    const second = await cycle('second cycle (unchanged)');
    console.log(`ratio unchanged / first cycle time: ${(second / first).toFixed(2)}; rate limit spent in the second cycle: ${gh.requests.filter((r) => r.status === 200).length}`);

    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    const verifier = new ReleaseVerifier({ github, rekor: new RekorClient({ baseUrl: 'http://127.0.0.1:9' }), releases, verifications: new VerificationRepository(prisma), trustRoot: () => trustRoot });
    const sample = targets.slice(0, VERIFICATIONS);
    // The release-tag check costs one conditional request per release and run: a 200 the first
    // time, a 304 (no rate limit spent) while the tag stays put. Counted per pass, with its time.
    const verifyPass = async (name: string, trigger: string) => {
      gh.requests.length = 0;
      const start = process.hrtime.bigint();
      await pool(sample, async (t) => {
        const result = await verifier.verify(t, 14, trigger);
        const tag = result.recorded.find((c) => c.check === 'release-tag');
        if (tag?.status !== 'pass') throw new Error(`release-tag did not pass: ${tag?.status} ${tag?.code} ${tag?.message}`);
      });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const refs = gh.requests.filter((r) => r.server === 'api' && r.path.includes('/git/ref'));
      const refs304 = refs.filter((r) => r.status === 304).length;
      const api = gh.requests.filter((r) => r.server === 'api').length;
      console.log(`${name.padEnd(28)} ${(sample.length / seconds).toFixed(1).padStart(6)} releases/s  ${(api / sample.length).toFixed(2)} API requests per release, of which tag refs ${(refs.length / sample.length).toFixed(2)} (${refs304} answered 304)`);
      return { seconds, refs: refs.length };
    };
    const firstPass = await verifyPass('verification (first)', 'discovery');
    const again = await verifyPass('re-verification', 'schedule');
    console.log(`ratio re-verification / first verification time: ${(again.seconds / firstPass.seconds).toFixed(2)}; tag requests spending rate limit on re-verification: ${gh.requests.filter((r) => r.path.includes('/git/ref') && r.status === 200).length}`);
    console.log(`process RSS: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB`);
  } finally {
    await prisma.$disconnect();
    await db.drop();
    await gh.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
