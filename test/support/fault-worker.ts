import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type WatchTarget, loadServiceConfig } from '@provwatch/config';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SigstoreTrustRoot } from '@provwatch/verification';
import { WorkerRuntime, type WorkerRuntimeDeps } from '../../apps/worker/src/worker.runtime';
import { GitHubDouble, type DoubleRelease } from './github-double';
import { createTestDatabase } from './postgres';
import { redisConnectionOptions } from './redis';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from './vectors';
import { exampleTarget } from './watch-targets';

/** The generator v2.1.0 binary and its provenance (tag v14 of example-package). */
export const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
export const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const MIGRATIONS = join(resolve(__dirname, '../../../prisma'), 'migrations');

/** Release v14 under another repository: asset ids offset so every repository's ids are its own. */
export function v14(offset: number): DoubleRelease {
  return {
    id: 14,
    tag: 'v14',
    publishedAt: '2025-02-25T21:00:00Z',
    assets: [
      { id: offset + 1, name: 'gha_generic-binary-linux-amd64-v14', bytes: BINARY, updatedAt: '2025-02-25T21:05:00Z' },
      { id: offset + 2, name: 'multiple.intoto.jsonl', bytes: PROVENANCE, updatedAt: '2025-02-25T21:06:00Z' },
    ],
  };
}

/** A watched target reading `fault/<name>` on the double (the provenance's source stays example-package). */
export function faultTarget(name: string, pollIntervalSeconds: number): WatchTarget {
  return exampleTarget({ name, github: `fault/${name}`, pollIntervalSeconds, gracePeriodSeconds: 60 });
}

export interface FaultWorld {
  gh: GitHubDouble;
  prisma: PrismaClient;
  runtime: WorkerRuntime;
  logs: string[];
  close(): Promise<void>;
}

/** The worker on the shared Redis (own prefix), its own database, and the GitHub double. */
export async function startFaultWorld(targets: WatchTarget[], extra: Partial<WorkerRuntimeDeps> = {}, env: Record<string, string> = {}): Promise<FaultWorld> {
  const gh = await GitHubDouble.start();
  const db = await createTestDatabase();
  await applyMigrations(db.url, MIGRATIONS);
  const prisma = createPrismaClient(db.url);
  const config = loadServiceConfig({ DATABASE_URL: db.url, GITHUB_API_URL: gh.url, PROVWATCH_INSECURE_REGISTRIES: gh.storageHost, REKOR_URL: 'http://127.0.0.1:9', ...env });
  const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
  const logs: string[] = [];
  const runtime = new WorkerRuntime({
    config,
    watchlist: { defaults: { pollIntervalSeconds: 2, gracePeriodSeconds: 60, reverifyIntervalSeconds: 86_400 }, targets },
    prisma,
    trustRoot: () => trustRoot,
    connection: await redisConnectionOptions(),
    prefix: `test-${randomUUID()}`,
    log: (m) => logs.push(m),
    ...extra,
  });
  return {
    gh,
    prisma,
    runtime,
    logs,
    async close() {
      await runtime.stop().catch(() => undefined);
      await prisma.$disconnect();
      await db.drop();
      await gh.close();
    },
  };
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Latest status of one check of release v14 of a target, by target name. */
export async function latest(prisma: PrismaClient, target: string, check: string) {
  const row = await prisma.target.findUnique({ where: { name: target } });
  return row ? prisma.latestCheckStatus.findFirst({ where: { check, subjectKey: 'v14', targetId: row.id } }) : null;
}

export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
