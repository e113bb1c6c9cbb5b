// Applies supabase/migrations in order, after the objects Supabase itself provides.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type postgres from 'postgres';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'supabase', 'migrations');
const COMPAT_SQL = path.join(__dirname, 'supabase-compat.sql');

/** Brings the database up to the newest migration; returns the versions it applied. */
export async function migrate(sql: postgres.Sql, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  await sql.unsafe(await readFile(COMPAT_SQL, 'utf8')).simple();
  const done = new Set(
    (await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations`).map((r) => r.version),
  );
  const files = (await readdir(migrationsDir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const [version, ...rest] = file.replace(/\.sql$/, '').split('_');
    if (done.has(version)) continue;
    const text = await readFile(path.join(migrationsDir, file), 'utf8');
    await sql.begin(async (tx) => {
      await tx.unsafe(text).simple();
      await tx`insert into supabase_migrations.schema_migrations (version, name) values (${version}, ${rest.join('_')})`;
    });
    applied.push(version);
  }
  return applied;
}
