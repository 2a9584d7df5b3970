import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import type { ServerResponse } from 'node:http';
import { type FaultWorld, eventually, faultTarget, latest, startFaultWorld, v14 } from '../support/fault-worker';
import { type TestHttpServer, startHttpServer } from '../support/http-server';

/**
 * Fault: a storage host trickles a release asset, one byte every 200 ms, forever. Every byte
 * re-armed the download's idle timeout and nothing bounded the whole: the verify slot stayed
 * busy for as long as the server liked, and with as many such assets as slots no release of any
 * target was verified any more. Now the download has an overall deadline and so has the verify
 * job; either way the release gets a run with `error`, and the slot serves the next release.
 *
 * One verify slot (PROVWATCH_VERIFY_CONCURRENCY=1): the other target's release can only be
 * verified once the trickled one has let go of it.
 */
const POLL_SECONDS = 2;
const RUN_CHECKS = ['release-assets', 'artifact-provenance', 'checksums-signature', 'release-sbom'];

function trickled(offset: number) {
  const release = v14(offset);
  release.assets[0] = { ...release.assets[0], trickleMs: 200 };
  return release;
}

async function verdictOf(world: FaultWorld, target: string) {
  return eventually(
    `a verdict for ${target}`,
    async () => {
      const check = await latest(world.prisma, target, 'artifact-provenance');
      return check && check.code !== 'not-yet-verified' ? check : undefined;
    },
    60_000,
  );
}

/** The trickled release is taken first; the steady one is published once the trickle holds the only slot. */
async function trickleThenSteady(world: FaultWorld): Promise<number> {
  world.gh.repos.set('fault/trickle', [trickled(1000)]);
  await world.runtime.start();
  await eventually('the trickled download under way', async () => (world.gh.trickles.open > 0 ? true : undefined));
  const started = Date.now();
  world.gh.repos.set('fault/steady', [v14(2000)]);
  return started;
}

describe('the download deadline', () => {
  let world: FaultWorld;
  before(async () => {
    world = await startFaultWorld([faultTarget('trickle', POLL_SECONDS), faultTarget('steady', POLL_SECONDS)], { retry: { baseSeconds: 1, capSeconds: 2 } }, {
      PROVWATCH_VERIFY_CONCURRENCY: '1',
      PROVWATCH_DOWNLOAD_DEADLINE: '2',
      PROVWATCH_VERIFY_DEADLINE: '120',
    });
  });
  after(async () => world?.close());

  test('ends a trickled download: the release is recorded with error and the slot verifies the next release', { timeout: 90_000 }, async () => {
    const started = await trickleThenSteady(world);
    const row = await verdictOf(world, 'trickle');
    const elapsed = Date.now() - started;
    assert.equal(row.status, 'error');
    assert.equal(row.code, 'source-unavailable');
    const result = await world.prisma.checkResult.findUniqueOrThrow({ where: { id: row.checkResultId } });
    assert.match(result.message, /no complete answer within 2 s/);
    const steady = await verdictOf(world, 'steady');
    assert.equal(steady.status, 'pass', 'the other release was verified in the freed slot');
    assert.ok(world.gh.trickles.closedByClient >= 1, 'the client hung up on the trickle');
    console.log(`# download deadline 2 s: trickled release recorded error ${elapsed} ms after its download started; other target verified ${Date.now() - started} ms after`);
  });
});

describe('the verify deadline', () => {
  let world: FaultWorld;
  before(async () => {
    world = await startFaultWorld([faultTarget('trickle', POLL_SECONDS), faultTarget('steady', POLL_SECONDS)], { retry: { baseSeconds: 1, capSeconds: 2 } }, {
      PROVWATCH_VERIFY_CONCURRENCY: '1',
      // The download alone would be allowed ten minutes: only the job's deadline can end it.
      PROVWATCH_DOWNLOAD_DEADLINE: '600',
      PROVWATCH_VERIFY_DEADLINE: '3',
    });
  });
  after(async () => world?.close());

  test('aborts the job in flight: every check error/verification-timeout, retried, and the slot verifies the next release', { timeout: 90_000 }, async () => {
    const started = await trickleThenSteady(world);
    const row = await verdictOf(world, 'trickle');
    const elapsed = Date.now() - started;
    for (const check of RUN_CHECKS) {
      const status = await latest(world.prisma, 'trickle', check);
      assert.equal(status?.status, 'error', check);
      assert.equal(status?.code, 'verification-timeout', check);
    }
    const result = await world.prisma.checkResult.findUniqueOrThrow({ where: { id: row.checkResultId } });
    assert.match(result.message, /3 s/);
    assert.ok(world.gh.trickles.closedByClient >= 1, 'the download in flight was aborted, not left running');
    const steady = await verdictOf(world, 'steady');
    assert.equal(steady.status, 'pass', 'the other release was verified in the freed slot');
    // Retried on the back-off like any undecided run: a second timeout run follows.
    await eventually(
      'a retried run',
      async () => {
        const runs = await world.prisma.verificationRun.count({ where: { target: { name: 'trickle' }, checks: { some: { code: 'verification-timeout' } } } });
        return runs >= 2 ? runs : undefined;
      },
      60_000,
    );
    console.log(`# verify deadline 3 s: trickled release recorded error ${elapsed} ms after its download started; other target verified ${Date.now() - started} ms after`);
  });
});

describe('the verify deadline of an image', () => {
  let world: FaultWorld;
  let registry: TestHttpServer;
  const held: ServerResponse[] = [];
  before(async () => {
    // A registry that lists the tag and answers HEAD (discovery), then never answers the
    // manifest GET of the verification: only the job's deadline can end it.
    registry = await startHttpServer((req, res) => {
      if (req.url === '/v2/org/app/tags/list') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'org/app', tags: ['v1.0.0'] }));
      if (req.method === 'HEAD' && req.url === '/v2/org/app/manifests/v1.0.0') {
        return void res.writeHead(200, { 'docker-content-digest': `sha256:${'ab'.repeat(32)}`, 'content-type': 'application/vnd.oci.image.index.v1+json' }).end();
      }
      held.push(res);
    });
    const target = { ...faultTarget('image', POLL_SECONDS), images: [{ ref: `${registry.host}/org/app` }] };
    // The deadline through WorkerRuntimeDeps (milliseconds) here; the release tests set it by environment.
    world = await startFaultWorld([target], { retry: { baseSeconds: 1, capSeconds: 2 }, verifyDeadlineMs: 2000 }, { PROVWATCH_INSECURE_REGISTRIES: registry.host });
  });
  after(async () => {
    for (const res of held) res.destroy();
    await world?.close();
    await registry?.close();
  });

  test('is recorded with every image check error/verification-timeout', { timeout: 90_000 }, async () => {
    await world.runtime.start();
    const target = await eventually('the target row', async () => (await world.prisma.target.findUnique({ where: { name: 'image' } })) ?? undefined);
    const started = Date.now();
    for (const check of ['image-tag', 'image-signature', 'image-provenance', 'image-sbom']) {
      const row = await eventually(
        `${check} on record`,
        async () => (await world.prisma.latestCheckStatus.findFirst({ where: { check, targetId: target.id, subjectKind: 'image' } })) ?? undefined,
        60_000,
      );
      assert.equal(row.status, 'error', check);
      assert.equal(row.code, 'verification-timeout', check);
    }
    console.log(`# image verify deadline 2 s: recorded error ${Date.now() - started} ms after the worker started`);
  });
});
