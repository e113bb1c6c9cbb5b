// Runs the pgTAP suites in supabase/tests with pg_prove against a fresh database on the
// DATABASE_URL server (migrated like the stack does), one Jest test per SQL file. PGlite runs
// the same files in pgtap.pglite.test.ts.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { startDatabase, type Database } from '../../src/stack/database.ts';
import { migrate, REPO_ROOT } from '../../src/stack/migrate.ts';
import { describeWithServer } from '../helpers/server.ts';

const TESTS_DIR = path.join('supabase', 'tests');
const files = readdirSync(path.join(REPO_ROOT, TESTS_DIR))
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => path.join(TESTS_DIR, f));

type FileReport = {
  /** The plan line `1..N`, or null when the file never printed one. */
  planned: number | null;
  passed: number[];
  /** Failing tests with the diagnostics pgTAP printed under them. */
  failed: string[];
  /** pg_prove's verdict line for the file: `ok`, `Failed 2/45 subtests`, `Dubious, ...`. */
  verdict: string;
  lines: string[];
};

type ProveRun = { code: number | null; stdout: string; stderr: string; reports: Map<string, FileReport> };

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Splits pg_prove --verbose output into one TAP section per file. */
function parseVerbose(stdout: string): Map<string, FileReport> {
  const reports = new Map<string, FileReport>();
  let current: FileReport | undefined;
  let lastFailure = -1;
  for (const line of stdout.split('\n')) {
    const header = /^(\S+\.sql) \.+ ?(.*)$/.exec(line);
    if (header && files.includes(header[1])) {
      current = { planned: null, passed: [], failed: [], verdict: header[2].trim(), lines: [] };
      reports.set(header[1], current);
      lastFailure = -1;
      continue;
    }
    if (/^Test Summary Report/.test(line) || /^Files=\d+/.test(line)) current = undefined;
    if (!current) continue;
    current.lines.push(line);
    let m: RegExpExecArray | null;
    if ((m = /^1\.\.(\d+)/.exec(line))) current.planned = Number(m[1]);
    else if ((m = /^ok (\d+)/.exec(line))) current.passed.push(Number(m[1]));
    else if (/^not ok \d+/.test(line)) lastFailure = current.failed.push(line) - 1;
    else if (/^#/.test(line) && lastFailure >= 0) current.failed[lastFailure] += `\n${line}`;
    else if (/^(ok|Failed \d+\/\d+ subtests|Dubious.*|skipped.*)\s*$/.test(line)) current.verdict = line.trim();
  }
  return reports;
}

describeWithServer('pgTAP suites (supabase/tests) under pg_prove', 'pg_prove drives a PostgreSQL server with the pgtap extension (the same files ran on PGlite in pgtap.pglite.test.ts)', () => {
  let database: Database | undefined;
  let prove: ProveRun | undefined;

  beforeAll(async () => {
    const serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server');
    database = await startDatabase({ url: serverUrl, isolate: true });
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(sql);
      await sql`create extension if not exists pgtap`;
    } finally {
      await sql.end({ timeout: 5 });
    }

    const url = new URL(database.url);
    const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: '10' };
    if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
    else delete env.PGPASSWORD;
    const args = [
      '-h', url.hostname.replace(/^\[|\]$/g, ''),
      '-p', url.port || '5432',
      '-U', decodeURIComponent(url.username || 'postgres'),
      '-d', decodeURIComponent(url.pathname.slice(1)),
      '--verbose',
      ...files,
    ];
    const result = await run('pg_prove', args, env);
    prove = { ...result, reports: parseVerbose(result.stdout) };
  }, 120_000);

  afterAll(async () => {
    await database?.stop();
  }, 60_000);

  const proved = (): ProveRun => {
    if (!prove) throw new Error('pg_prove did not run');
    return prove;
  };

  test('there are pgTAP files to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('%s: every planned test ran and passed', (file) => {
    const report = proved().reports.get(file);
    if (!report) throw new Error(`pg_prove printed nothing for ${file}:\n${proved().stdout}\n${proved().stderr}`);
    expect(report.failed).toEqual([]);
    expect(report.planned).not.toBeNull();
    expect(report.passed.length).toBe(report.planned);
    expect(report.passed).toEqual(Array.from({ length: report.planned ?? 0 }, (_, i) => i + 1));
    expect(report.verdict).toBe('ok');
  });

  test('pg_prove exits 0 and its summary counts every file and every planned test', () => {
    const { code, stdout, stderr, reports } = proved();
    const planned = [...reports.values()].reduce((sum, r) => sum + (r.planned ?? 0), 0);
    const summary = /^Files=(\d+), Tests=(\d+),/m.exec(stdout);
    console.log(
      `pg_prove: ${summary ? `Files=${summary[1]}, Tests=${summary[2]}` : 'no summary'}; planned per file: ` +
        [...reports].map(([file, r]) => `${path.basename(file)}=${r.planned ?? '?'}`).join(', '),
    );
    if (code !== 0) {
      throw new Error(`pg_prove exited ${code}:\n${stdout.split('\n').filter((l) => !/^ok \d+/.test(l)).join('\n')}\n${stderr}`);
    }
    expect(summary).not.toBeNull();
    expect(Number(summary![1])).toBe(files.length);
    expect(Number(summary![2])).toBe(planned);
    expect(stdout).toMatch(/^All tests successful\.$/m);
    expect(stdout).toMatch(/^Result: PASS$/m);
  });
});
