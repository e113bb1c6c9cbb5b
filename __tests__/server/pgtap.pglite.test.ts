// The pgTAP suites (supabase/tests) on the embedded default, PGlite with its own pgtap
// extension: each file runs in the migrated database as pg_prove would run it, and the TAP
// lines its statements return are read here, one Jest test per file. With DATABASE_URL the
// same files also run under pg_prove against the server (pgtap.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { migrate, REPO_ROOT } from '../../src/stack/migrate.ts';
import { parseTap, type TapReport } from '../helpers/tap.ts';

const TESTS_DIR = path.join(REPO_ROOT, 'supabase', 'tests');
const files = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort();

let db: PGlite;

beforeAll(async () => {
  const { PGlite } = await import('@electric-sql/pglite');
  const { pgtap } = await import('@electric-sql/pglite-pgtap');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  db = await PGlite.create('memory://', { extensions: { pgtap } });
  // The migrations go in through the wire protocol, exactly as the stack applies them.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const sql = postgres(`postgres://postgres:postgres@${server.getServerConn()}/postgres`, { max: 1, onnotice: () => {} });
  try {
    await migrate(sql);
    await sql`create extension if not exists pgtap`;
  } finally {
    await sql.end({ timeout: 5 });
    await server.stop();
  }
}, 120_000);

afterAll(async () => {
  await db?.close();
});

test('every pgTAP file is found', () => {
  expect(files.length).toBeGreaterThanOrEqual(8);
});

/** Runs one pgTAP script in the PGlite database and reads the TAP lines its statements return. */
async function runTap(name: string, script: string): Promise<TapReport> {
  const results = await db.exec(script).catch(async (error: unknown) => {
    // A script that stops half-way leaves its transaction open; close it for the next one.
    await db.exec('rollback').catch(() => undefined);
    throw new Error(`${name} stopped with ${error instanceof Error ? error.message : String(error)}`);
  });
  // pgTAP's functions return their TAP lines as one-column rows (psql prints them for pg_prove).
  const lines = results
    .filter((result) => result.fields.length === 1)
    .flatMap((result) => result.rows.map((row) => String(Object.values(row as object)[0] ?? '')))
    .flatMap((value) => value.split('\n'));
  return parseTap(lines);
}

test('the runner sees a failing assertion and its diagnostics', async () => {
  const report = await runTap('a failing script', "begin; select plan(2); select ok(true, 'holds'); select is(1, 2, 'one is two'); select * from finish(); rollback;");
  expect(report.planned).toBe(2);
  expect(report.passed).toEqual([1]);
  expect(report.failed).toHaveLength(1);
  expect(report.failed[0]).toMatch(/^not ok 2 - one is two[\s\S]*have: 1[\s\S]*want: 2/);
});

test.each(files)('%s passes on PGlite', async (file) => {
  const report = await runTap(file, readFileSync(path.join(TESTS_DIR, file), 'utf8'));
  if (report.failed.length > 0) throw new Error(`${file}: ${report.failed.length} failing on PGlite:\n${report.failed.join('\n')}`);
  expect(report.planned).not.toBeNull();
  expect(report.passed).toHaveLength(report.planned!);
}, 120_000);
