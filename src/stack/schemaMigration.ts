// supabase/schemas is the source of the database; the first migration is generated from it.
// Nothing is deployed yet, so the whole schema is one migration: each function is defined
// once. Once deployed, a schema change becomes a new migration (`supabase db diff`).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MIGRATIONS_DIR, REPO_ROOT } from './migrate.ts';

export const SCHEMAS_DIR = path.join(REPO_ROOT, 'supabase', 'schemas');
export const SCHEMA_MIGRATION = path.join(MIGRATIONS_DIR, '20261125000100_schema.sql');

/** The schema files in the order Supabase applies them (by name). */
export async function schemaFiles(): Promise<string[]> {
  return (await readdir(SCHEMAS_DIR)).filter((f) => f.endsWith('.sql')).sort().map((f) => path.join(SCHEMAS_DIR, f));
}

/** The text of the schema migration: every schema file, in order, under one header. */
export async function renderSchemaMigration(): Promise<string> {
  const parts = await Promise.all(
    (await schemaFiles()).map(async (file) => `-- ==== supabase/schemas/${path.basename(file)}\n\n${(await readFile(file, 'utf8')).trim()}\n`),
  );
  return [
    '-- verses-sync: the whole database (tables, row level security, the ESV catalogue, the',
    '-- exactly-once batch RPC), generated from supabase/schemas by `npm run schema:migration`.',
    '-- Edit the schema files, not this one.',
    '',
    parts.join('\n'),
  ].join('\n');
}
