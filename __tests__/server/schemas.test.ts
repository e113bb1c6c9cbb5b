// supabase/schemas is the source of the database: the migration is generated from it, and a
// database built from the migrations is the database the schema files describe.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import postgres from 'postgres';
import { startDatabase, type Database } from '../../src/stack/database.ts';
import { migrate } from '../../src/stack/migrate.ts';
import { renderSchemaMigration, SCHEMA_MIGRATION, schemaFiles } from '../../src/stack/schemaMigration.ts';
import { readdirSync } from 'node:fs';
import path from 'node:path';

// Everything a migration can define, as text, in a stable order.
async function catalogue(sql: postgres.Sql): Promise<Record<string, string[]>> {
  const rows = async (query: string) => (await sql.unsafe(query)).map((r) => Object.values(r).join(' | '));
  return {
    functions: await rows(`
      select p.oid::regprocedure::text, pg_get_functiondef(p.oid), coalesce(p.proacl::text, '')
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('public', 'private') order by 1`),
    columns: await rows(`
      select table_schema, table_name, column_name, data_type, is_nullable, coalesce(column_default, ''), coalesce(is_identity, '')
        from information_schema.columns where table_schema in ('public', 'private') order by 1, 2, 3`),
    constraints: await rows(`
      select n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        from pg_constraint c join pg_namespace n on n.oid = c.connamespace
       where n.nspname in ('public', 'private') order by 1, 2, 3`),
    indexes: await rows(`select schemaname, indexname, indexdef from pg_indexes where schemaname in ('public', 'private') order by 1, 2`),
    policies: await rows(`
      select schemaname, tablename, policyname, cmd, roles::text, coalesce(qual, ''), coalesce(with_check, '')
        from pg_policies where schemaname in ('public', 'private') order by 1, 2, 3`),
    grants: await rows(`
      select c.relnamespace::regnamespace::text, c.relname, coalesce(c.relacl::text, ''), c.relrowsecurity::text
        from pg_class c where c.relnamespace::regnamespace::text in ('public', 'private') and c.relkind in ('r', 'S') order by 1, 2`),
    rows: await rows(`select 'sync_settings', row_to_json(s)::text from private.sync_settings s
                      union all select 'esv_settings', row_to_json(e)::text from private.esv_settings e`),
  };
}

describe('supabase/schemas and supabase/migrations', () => {
  const databases: Database[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.stop()));
  }, 60_000);

  const fresh = async () => {
    const database = await startDatabase({ url: process.env.DATABASE_URL, isolate: true });
    databases.push(database);
    return postgres(database.url, { max: 1, onnotice: () => {} });
  };

  test('the schema migration is generated from the schema files (run `npm run schema:migration`)', async () => {
    expect(await readFile(SCHEMA_MIGRATION, 'utf8')).toBe(await renderSchemaMigration());
  });

  test('each SQL function is defined in one migration only', async () => {
    const dir = path.dirname(SCHEMA_MIGRATION);
    const defined = new Map<string, string[]>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
      const text = await readFile(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/create (?:or replace )?function ([a-z_]+\.[a-z_]+)\s*\(/gi)) {
        defined.set(m[1], [...(defined.get(m[1]) ?? []), file]);
      }
    }
    expect(defined.size).toBeGreaterThan(10);
    expect([...defined].filter(([, files]) => files.length > 1)).toEqual([]);
  });

  test('a database built from the migrations equals one built from the schema files', async () => {
    const fromMigrations = await fresh();
    const fromSchemas = await fresh();
    try {
      await migrate(fromMigrations);
      // Only what Supabase provides itself (no migrations), then the schema files in Supabase's order.
      await migrate(fromSchemas, await mkdtemp(path.join(os.tmpdir(), 'no-migrations-')));
      for (const file of await schemaFiles()) await fromSchemas.unsafe(await readFile(file, 'utf8')).simple();
      const a = await catalogue(fromMigrations);
      const b = await catalogue(fromSchemas);
      expect(a.functions.length).toBeGreaterThan(20);
      expect(a.policies.length).toBeGreaterThan(10);
      expect(a).toEqual(b);
    } finally {
      await Promise.all([fromMigrations.end(), fromSchemas.end()]);
    }
  }, 120_000);
});
