import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { freePort } from '../../../test/support/own-redis';
import { createPrismaClient } from './persistence.client';
import { isDatabaseUnavailable } from './database-unavailable';

test('a query to a Postgres that is not there is recognised as the database being unavailable', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const prisma = createPrismaClient(`postgresql://postgres@127.0.0.1:${port}/provwatch`);
  try {
    const err = await prisma.target.findMany().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, 'the query failed');
    assert.equal(isDatabaseUnavailable(err), true, String(err));
  } finally {
    await prisma.$disconnect().catch(() => undefined);
  }
});

test('other errors are not mistaken for an outage', () => {
  assert.equal(isDatabaseUnavailable(new Error('unique constraint failed')), false);
  assert.equal(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'P2002' })), false);
  assert.equal(isDatabaseUnavailable(undefined), false);
});
