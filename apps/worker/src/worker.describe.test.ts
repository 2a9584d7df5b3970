import { strict as assert } from 'node:assert';
import { after, before, describe as suite, test } from 'node:test';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { MIGRATIONS_DIR } from '@provwatch/service-core';
import { freePort } from '../../../test/support/own-redis';
import { createTestDatabase } from '../../../test/support/postgres';
import { describe } from './worker.runtime';

/**
 * The worker logs `job <name> <id> failed: <describe(err)>`. Prisma's and pg's errors were seen
 * there with nothing after the colon; these are the real error objects, not look-alikes.
 */
suite('describe() of real Prisma, driver adapter and pg errors', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;

  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS_DIR);
    prisma = createPrismaClient(db.url);
    await prisma.target.create({ data: { name: 'a', github: 'a/b', configHash: 'x' } });
  });
  after(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  const failure = (p: Promise<unknown>) => p.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  const oneLine = (text: string) => assert.ok(!text.includes('\n') && text.length < 400, text);

  test('PrismaClientKnownRequestError: the code and the reason, not the code frame', async () => {
    const err = await failure(prisma.target.create({ data: { name: 'a', github: 'a/b', configHash: 'x' } }));
    const text = describe(err);
    assert.match(text, /^PrismaClientKnownRequestError: P2002: Unique constraint failed/);
    oneLine(text);
    const missing = describe(await failure(prisma.target.update({ where: { name: 'nope' }, data: { github: 'c/d' } })));
    assert.match(missing, /P2025: .*No record was found/);
  });

  test('Postgres unreachable through Prisma names the server', async () => {
    const down = createPrismaClient(`postgresql://postgres@127.0.0.1:${await freePort()}/x`);
    try {
      const text = describe(await failure(down.target.findMany()));
      assert.match(text, /P1001: Can't reach database server at 127\.0\.0\.1:\d+/);
      oneLine(text);
    } finally {
      await down.$disconnect().catch(() => undefined);
    }
  });

  test('a driver adapter error (message = only its kind) shows its payload', async () => {
    const adapter = await new PrismaPg({ connectionString: db.url }).connect();
    try {
      const err = await failure(adapter.executeRaw({ sql: `INSERT INTO targets (name, github, config_hash, updated_at) VALUES ('a', 'a/b', 'x', now())`, args: [], argTypes: [] }));
      assert.equal((err as Error).name, 'DriverAdapterError');
      const text = describe(err);
      assert.match(text, /^DriverAdapterError: UniqueConstraintViolation \(.*kind=UniqueConstraintViolation.*(targets_name_key|name)/);
      oneLine(text);
    } finally {
      await adapter.dispose();
    }
  });

  test("pg's AggregateError (localhost: ::1 and 127.0.0.1 both refused) is not empty", async () => {
    const client = new Client({ connectionString: `postgresql://postgres@localhost:${await freePort()}/x` });
    const err = await failure(client.connect());
    const text = describe(err);
    assert.notEqual(text, '');
    assert.match(text, /ECONNREFUSED/);
    oneLine(text);
  });

  test('an Error with an empty message and no code says what it is', () => {
    class QueryTimeout extends Error {}
    assert.equal(describe(new QueryTimeout('')), 'QueryTimeout');
    assert.equal(describe(new Error('')), 'unknown error');
    assert.equal(describe(Object.assign(new Error(''), { code: 'P1017' })), 'P1017');
  });
});
