import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from '../../../test/support/postgres';
import { Prisma } from './generated/client';
import { type PrismaClient, createPrismaClient } from './persistence.client';
import { intList, textList } from './sql-lists';

describe('lists bound as one text parameter', () => {
  let db: { url: string; drop(): Promise<void> };
  let prisma: PrismaClient;
  const roundTrip = async (list: Prisma.Sql) => (await prisma.$queryRaw<Array<{ a: unknown[] }>>`SELECT ${list} AS a`)[0].a;

  before(async () => {
    db = await createTestDatabase();
    prisma = createPrismaClient(db.url);
  });
  after(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  test('names arrive as the same text[], in order, quotes, commas, braces and backslashes included', async () => {
    const names = ['pbs-exporter', 'a.b_c', "it's", 'a,b', '{x}', 'back\\slash', '"q"', ' lead', 'NULL'];
    assert.deepEqual(await roundTrip(textList(names)), names);
  });

  test('an empty list is an empty array, not one empty string', async () => {
    assert.deepEqual(await roundTrip(textList([])), []);
    assert.deepEqual(await roundTrip(intList([])), []);
  });

  test('10,000 names as the metrics pass them: the same array, matched with = ANY', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `t${i}`);
    const rows = await prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM unnest(${textList(names)}, ${intList(names.map((_, i) => i))}) AS w(name, keep) WHERE w.name = ANY(${textList(names)}) AND w.name = 't' || w.keep`;
    assert.equal(rows[0].n, 10_000);
  });

  test('a value that would split in two, or vanish, is refused, not bound', () => {
    assert.throws(() => textList(['a', 'b\nc']), /contains a newline/);
    assert.throws(() => textList(['']), /is empty/);
    assert.throws(() => intList([1, 2.5]), /not an integer/);
    assert.throws(() => intList([Number.NaN]), /not an integer/);
  });
});
