import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { createTestDatabase } from '../../../../test/support/postgres';
import { MigrationError, applyMigrations, readMigrations } from './migration-applier';
import { parsePrismaSchema } from './schema-prisma.parser';

const PRISMA_DIR = resolve(__dirname, '../../../../../prisma');
const MIGRATIONS = join(PRISMA_DIR, 'migrations');

const PG_TYPES: Record<string, string> = {
  Int: 'integer',
  BigInt: 'bigint',
  String: 'text',
  Boolean: 'boolean',
  DateTime: 'timestamp without time zone',
  Json: 'jsonb',
};

describe('migrations', () => {
  let db: { url: string; drop(): Promise<void> };
  let client: Client;
  before(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, MIGRATIONS);
    client = new Client({ connectionString: db.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  test('the migrated database matches schema.prisma: tables, columns, types, nullability', async () => {
    const { tables, enums } = parsePrismaSchema(readFileSync(join(PRISMA_DIR, 'schema.prisma'), 'utf8'));
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string; datetime_precision: number | null }>(
      `SELECT table_name, column_name, data_type, udt_name, is_nullable, datetime_precision FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const actualTables = new Set(rows.map((r) => r.table_name));
    assert.deepEqual([...actualTables].filter((t) => t !== '_prisma_migrations').sort(), tables.map((t) => t.table).sort());
    for (const table of tables) {
      const actual = rows.filter((r) => r.table_name === table.table);
      assert.deepEqual(actual.map((r) => r.column_name).sort(), table.columns.map((c) => c.column).sort(), `columns of ${table.table}`);
      for (const column of table.columns) {
        const row = actual.find((r) => r.column_name === column.column)!;
        const where = `${table.table}.${column.column}`;
        assert.equal(row.is_nullable === 'YES', column.nullable, `nullability of ${where}`);
        if (column.isEnum) assert.equal(row.udt_name, column.prismaType, `enum type of ${where}`);
        else if (column.nativeType?.startsWith('Timestamptz')) {
          assert.equal(row.data_type, 'timestamp with time zone', `type of ${where}`);
          assert.equal(row.datetime_precision, Number(/\((\d+)\)/.exec(column.nativeType)?.[1] ?? 6), `precision of ${where}`);
        } else assert.equal(row.data_type, PG_TYPES[column.prismaType], `type of ${where}`);
      }
    }
    const enumRows = await client.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname::text AS typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    assert.deepEqual(Object.fromEntries(enumRows.rows.map((r) => [r.typname, r.labels])), enums);
  });

  test('keys, unique constraints, indexes and foreign keys match schema.prisma', async () => {
    const { tables } = parsePrismaSchema(readFileSync(join(PRISMA_DIR, 'schema.prisma'), 'utf8'));
    const indexRows = await client.query<{ table: string; columns: string[]; is_unique: boolean; is_primary: boolean }>(`
      SELECT c.relname::text AS table, i.indisunique AS is_unique, i.indisprimary AS is_primary,
             array_agg(a.attname::text ORDER BY k.ord) AS columns
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = 'public' AND c.relname <> '_prisma_migrations'
      GROUP BY c.relname, i.indexrelid, i.indisunique, i.indisprimary`);
    const fkRows = await client.query<{ table: string; columns: string[]; ref_table: string; ref_columns: string[]; on_delete: string }>(`
      SELECT c.relname::text AS table, rc.relname::text AS ref_table, con.confdeltype::text AS on_delete,
             (SELECT array_agg(attname::text ORDER BY ord) FROM unnest(con.conkey) WITH ORDINALITY k(n, ord) JOIN pg_attribute ON attrelid = con.conrelid AND attnum = k.n) AS columns,
             (SELECT array_agg(attname::text ORDER BY ord) FROM unnest(con.confkey) WITH ORDINALITY k(n, ord) JOIN pg_attribute ON attrelid = con.confrelid AND attnum = k.n) AS ref_columns
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE con.contype = 'f'`);
    const key = (cols: string[]) => cols.join(',');
    for (const table of tables) {
      const idx = indexRows.rows.filter((r) => r.table === table.table);
      assert.deepEqual(idx.filter((r) => r.is_primary).map((r) => key(r.columns)), [key(table.primaryKey)], `primary key of ${table.table}`);
      assert.deepEqual(idx.filter((r) => r.is_unique && !r.is_primary).map((r) => key(r.columns)).sort(), table.uniques.map(key).sort(), `unique of ${table.table}`);
      assert.deepEqual(idx.filter((r) => !r.is_unique).map((r) => key(r.columns)).sort(), table.indexes.map(key).sort(), `indexes of ${table.table}`);
      const fks = fkRows.rows.filter((r) => r.table === table.table).map((r) => `${key(r.columns)}->${r.ref_table}(${key(r.ref_columns)}) ${r.on_delete}`);
      const expected = table.foreignKeys.map((f) => `${key(f.columns)}->${f.referencedTable}(${key(f.referencedColumns)}) ${f.onDelete === 'Cascade' ? 'c' : f.onDelete === 'SetNull' ? 'n' : 'r'}`);
      assert.deepEqual(fks.sort(), expected.sort(), `foreign keys of ${table.table}`);
    }
  });

  test('applying again changes nothing; rows are recorded the way Prisma records them', async () => {
    const again = await applyMigrations(db.url, MIGRATIONS);
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.alreadyApplied, readMigrations(MIGRATIONS).map((m) => m.name));
    const { rows } = await client.query('SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM "_prisma_migrations"');
    const [first] = readMigrations(MIGRATIONS);
    assert.equal(rows[0].migration_name, first.name);
    assert.match(rows[0].checksum, /^[0-9a-f]{64}$/);
    assert.equal(rows[0].checksum, first.checksum);
    assert.ok(rows[0].finished_at instanceof Date);
    assert.equal(rows[0].applied_steps_count, 1);
    assert.equal(rows[0].rolled_back_at, null);
  });

  test('a migration edited after it was applied is refused; a broken one rolls back whole', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'provwatch-migrations-'));
    cpSync(MIGRATIONS, copy, { recursive: true });
    const [first] = readMigrations(copy);
    writeFileSync(join(copy, first.name, 'migration.sql'), `${first.sql}\n-- edited\n`);
    await assert.rejects(applyMigrations(db.url, copy), (err: Error) => err instanceof MigrationError && /edited/.test(err.message));

    const fresh = mkdtempSync(join(tmpdir(), 'provwatch-migrations-'));
    cpSync(MIGRATIONS, fresh, { recursive: true });
    const broken = join(fresh, '29991231000000_broken');
    cpSync(join(fresh, first.name), broken, { recursive: true });
    writeFileSync(join(broken, 'migration.sql'), 'CREATE TABLE "half_done" (id int);\nSELECT no_such_function();\n');
    await assert.rejects(applyMigrations(db.url, fresh), MigrationError);
    const { rows } = await client.query(`SELECT to_regclass('public.half_done') AS t, (SELECT count(*) FROM "_prisma_migrations" WHERE migration_name = '29991231000000_broken') AS n`);
    assert.equal(rows[0].t, null);
    assert.equal(Number(rows[0].n), 0);
  });
});
