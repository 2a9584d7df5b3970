import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { createTestDatabase } from '../../../test/support/postgres';
import { MetricsRepository } from './metrics.repository';
import { applyMigrations } from './migrations/migration-applier';
import { type PrismaClient, createPrismaClient } from './persistence.client';
import { PollStateFeed } from './poll-state.feed';
import { PollStateRepository } from './poll-state.repository';
import { ReleaseRepository } from './release.repository';
import { VerdictVersionFeed } from './verdict-version.feed';

const MIGRATIONS = join(resolve(__dirname, '../../../../prisma'), 'migrations');

describe('verdict version feed: only what changed, nothing lost', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let repo: MetricsRepository;
  let ids: Map<string, number>;
  /** What the feed asked Postgres for, per read: all names, or changes since a horizon. */
  let asked: Array<'all' | 'since'>;
  let feed: VerdictVersionFeed;
  let names: string[];

  const NAMES = ['a', 'b', 'c', 'gone'];
  let releaseNo = 0;
  /** A new release of `target`: one of the changes the triggers bump the version for. */
  const change = (target: string, client?: Client) => {
    releaseNo++;
    const sql = `INSERT INTO releases (target_id, tag, github_release_id) VALUES ($1, $2, $3)`;
    const args = [ids.get(target), `v${releaseNo}`, releaseNo];
    return client ? client.query(sql, args) : prisma.$executeRawUnsafe(sql, ...args);
  };
  const changedOf = async () => {
    const read = await feed.read();
    return read.changed === 'all' ? 'all' : [...read.changed].sort();
  };

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    repo = new MetricsRepository(prisma);
    const releases = new ReleaseRepository(prisma);
    ids = new Map();
    for (const name of NAMES) ids.set(name, await releases.upsertTarget(name, `example/${name}`, 'h'));
    asked = [];
    const counting = {
      verdictVersions: (watched: readonly string[], since?: string) => {
        asked.push(since === undefined ? 'all' : 'since');
        return repo.verdictVersions(watched, since);
      },
    };
    names = ['a', 'b', 'c'];
    feed = new VerdictVersionFeed(counting, () => names);
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  test('the first read is every watched target; then only targets that moved, read from Postgres as changes', async () => {
    const first = await feed.read();
    assert.equal(first.changed, 'all');
    assert.deepEqual([...first.versions.keys()].sort(), ['a', 'b', 'c'], 'an unwatched target stays out');
    assert.deepEqual(await changedOf(), [], 'nothing moved');
    await change('b');
    await change('b');
    const read = await feed.read();
    assert.deepEqual(read.changed === 'all' ? 'all' : [...read.changed], ['b']);
    assert.deepEqual([...read.versions.keys()].sort(), ['a', 'b', 'c']);
    assert.equal(read.versions.get('b'), (await repo.verdictVersions(['b'])).versions.get('b'));
    await change('gone');
    assert.deepEqual(await changedOf(), [], 'a change of an unwatched target is not reported');
    assert.deepEqual(asked, ['all', 'since', 'since', 'since']);
  });

  test('a change committed after a later one is still found (the case a "highest version seen" cursor misses)', async () => {
    await feed.read();
    // Transaction 1 takes its version first and commits last.
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await change('a', slow);
      // Transaction 2 takes a higher version and commits at once; a read sees it.
      await change('c');
      assert.deepEqual(await changedOf(), ['c']);
      await slow.query('COMMIT');
      // a's version is lower than c's, which this feed has already seen: still reported.
      assert.deepEqual(await changedOf(), ['a']);
      const current = (await repo.verdictVersions(['a', 'c'])).versions;
      assert.ok(BigInt(current.get('a')!) < BigInt(current.get('c')!), 'the late commit carries the lower sequence value');
    } finally {
      await slow.end();
    }
  });

  test('a rolled-back change is no change; a failed read loses nothing', async () => {
    await feed.read();
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await change('a', client);
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
    assert.deepEqual(await changedOf(), []);
    await change('b');
    let failNext = false;
    const failing = new VerdictVersionFeed(
      {
        verdictVersions: async (watched, since) => {
          if (since !== undefined && failNext) {
            failNext = false;
            throw new Error('connection lost');
          }
          return repo.verdictVersions(watched, since);
        },
      },
      () => names,
    );
    await failing.read();
    await change('c');
    failNext = true;
    await assert.rejects(failing.read(), /connection lost/);
    const after = await failing.read();
    assert.deepEqual(after.changed === 'all' ? 'all' : [...after.changed], ['c'], 'the change is reported by the next read');
  });

  test('a new watchlist (another names array) is a full read; its new target is in it', async () => {
    await feed.read();
    names = ['a', 'b', 'c', 'gone'];
    const read = await feed.read();
    assert.equal(read.changed, 'all');
    assert.deepEqual([...read.versions.keys()].sort(), ['a', 'b', 'c', 'gone']);
    await change('gone');
    assert.deepEqual(await changedOf(), ['gone']);
  });
});

describe('poll state feed: the polls since the last read, nothing lost', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  let polls: PollStateRepository;
  let ids: Map<string, number>;
  let feed: PollStateFeed;
  const windows = ['a', 'b', 'c'].map((name) => ({ name, keepLast: 10 }));
  const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 10, 0, second));
  const read = async () => {
    const snapshot = await feed.read();
    return { complete: snapshot.complete, rows: snapshot.polls.map((p) => `${p.target}/${p.source}@${p.lastPolledAt!.getUTCSeconds()}${p.lastErrorCode ? ` ${p.lastErrorCode}` : ''}`).sort(), targets: snapshot.targets };
  };

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    prisma = createPrismaClient(db.url);
    polls = new PollStateRepository(prisma);
    const releases = new ReleaseRepository(prisma);
    ids = new Map();
    for (const name of ['a', 'b', 'c', 'unwatched']) ids.set(name, await releases.upsertTarget(name, `example/${name}`, 'h'));
    for (const name of ['a', 'b', 'c', 'unwatched']) await polls.record(ids.get(name)!, 'github-releases', at(1), {});
    feed = new PollStateFeed(new MetricsRepository(prisma), () => windows);
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  test('more rows than one JSON text holds arrive whole and in (target, source) order', async () => {
    const many = new MetricsRepository(prisma);
    await prisma.$executeRawUnsafe(
      `INSERT INTO poll_states (target_id, source, last_polled_at, last_success_at)
       SELECT $1, 'oci-tags:registry.test/i' || lpad(i::text, 4, '0'), now(), now() FROM generate_series(1, 2500) i`,
      ids.get('c'),
    );
    try {
      const { polls: rows, complete } = await many.polls(windows);
      assert.equal(complete, true);
      assert.equal(rows.length, 3 + 2500, 'three texts of 1,000 rows and more');
      const keys = rows.map((p) => `${p.target} ${p.source}`);
      assert.equal(new Set(keys).size, keys.length, 'no row twice');
      assert.deepEqual(keys.filter((k) => k.startsWith('c oci-tags')).slice(0, 2), ['c oci-tags:registry.test/i0001', 'c oci-tags:registry.test/i0002']);
    } finally {
      await prisma.$executeRawUnsafe(`DELETE FROM poll_states WHERE source LIKE 'oci-tags:registry.test/i%'`);
    }
  });

  test('every row first; then only the polls written since, a late commit included', async () => {
    assert.deepEqual(await read(), { complete: true, rows: ['a/github-releases@1', 'b/github-releases@1', 'c/github-releases@1'], targets: 3 });
    assert.deepEqual(await read(), { complete: false, rows: [], targets: 3 });
    await polls.record(ids.get('b')!, 'github-releases', at(2), { errorCode: 'rate-limited' });
    await polls.record(ids.get('b')!, 'oci-tags:registry.test/b', at(2), {});
    await polls.record(ids.get('unwatched')!, 'github-releases', at(2), {});
    assert.deepEqual(await read(), { complete: false, rows: ['b/github-releases@2 rate-limited', 'b/oci-tags:registry.test/b@2'], targets: 3 });
    // A poll that started first and commits after a later one has been read.
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`UPDATE poll_states SET last_polled_at = $2 WHERE target_id = $1`, [ids.get('a'), at(3)]);
      await polls.record(ids.get('c')!, 'github-releases', at(4), {});
      assert.deepEqual((await read()).rows, ['c/github-releases@4']);
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    // Rows written while that transaction was open may come again (the horizon waited for it): harmless, they are the same rows.
    const after = (await read()).rows;
    assert.ok(after.includes('a/github-releases@3'), after.join());
    assert.deepEqual(after.filter((r) => r !== 'a/github-releases@3' && r !== 'c/github-releases@4'), []);
    assert.deepEqual((await read()).rows, [], 'and once the horizon moved past both, nothing');
  });
});
