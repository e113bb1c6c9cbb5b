// examples/verses-app as an app would use verses-sync: the package packed with `npm pack`,
// installed from the tarball beside its registry dependencies, type-checked and built by the
// app's own tools, then driven in Chromium against the local stack: a verse added in the page
// reaches Postgres and the page says so.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../src/dev/browser.ts';
import { serveStatic } from '../../src/dev/staticFiles.ts';
import { startStack, type Stack } from '../../src/stack/index.ts';
import { REPO_ROOT } from '../../src/stack/migrate.ts';
import { eventually } from '../helpers/client.ts';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'verses-app');
// Generous for a loaded 2-core machine; every wait ends as soon as its condition holds.
const UI_TIMEOUT = 30_000;

/** The environment without npm's own `npm_*` variables (an outer `npm test` sets them; they would point npm back at this repository). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, NODE_OPTIONS: '' };
}

function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, env: cleanEnv(), maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
}

let work: string;
let packedFiles: string[] = [];
let app: string;
let stack: Stack;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'verses-app-example-'));
  app = path.join(work, 'app');
  // The app's own files only: a developer's node_modules or build of the example stays behind.
  await cp(EXAMPLE, app, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(EXAMPLE, src);
      return !/^(node_modules|dist)([/\\]|$)/.test(rel) && !rel.endsWith('.tgz');
    },
  });
  // `npm pack` runs the package's prepack (the build) and writes verses-sync-<version>.tgz.
  const packOutput = await npm(['pack', '--pack-destination', work, '--json', '--loglevel', 'error'], REPO_ROOT);
  // The prepack build prints its own lines first; npm's JSON report follows.
  const [packed] = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = packed.files.map((f) => f.path);
  const tarball = (await readdir(work)).find((name) => name === path.basename(packed.filename));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}`);
  await cp(path.join(work, tarball), path.join(app, 'verses-sync.tgz'));
  // Registry packages come from npm's cache when this machine has installed them before.
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], app);
  await npm(['run', 'typecheck'], app);
  await npm(['run', 'build', '--', '--logLevel', 'warn'], app);
  [stack, browser] = await Promise.all([
    startStack({ databaseUrl: process.env.DATABASE_URL || undefined, isolateDatabase: true, fallback: serveStatic(path.join(app, 'dist')) }),
    launchChromium(),
  ]);
  page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

test('the tarball ships the three entry points with their types and the supabase folder, and no dev-only code', () => {
  for (const entry of ['dist/src/index', 'dist/src/react/index', 'dist/machines/index']) {
    expect(packedFiles).toContain(`${entry}.js`);
    expect(packedFiles).toContain(`${entry}.d.ts`);
  }
  expect(packedFiles).toContain('supabase/functions/verse-operations/index.ts');
  expect(packedFiles).toContain('supabase/functions/_shared/protocol.ts');
  expect(packedFiles.filter((f) => f.startsWith('supabase/migrations/') && f.endsWith('.sql')).length).toBeGreaterThan(0);
  expect(packedFiles.filter((f) => /^(src|__tests__|examples|bench|chaos|load)\/|^dist\/src\/(stack|dev|demo)\/|^supabase\/tests\//.test(f))).toEqual([]);
});

test('the example app, installed from the packed tarball, adds a verse that reaches Postgres', async () => {
  const userId = randomUUID();
  const token = await stack.tokenFor(userId);
  const hash = new URLSearchParams({ user: userId, token, anonKey: stack.anonKey });
  await page.goto(`${stack.url}/#${hash}`);

  await page.getByLabel('Reference').fill('John 3:16');
  await page.getByRole('button', { name: 'Add verse' }).click();
  await page.getByRole('list', { name: 'Added verses' }).getByText('John 3:16', { exact: true }).waitFor({ timeout: UI_TIMEOUT });

  // The page's own SyncStatus (from verses-sync/react) reports the change sent ...
  await page.getByText('No changes pending sync', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByText(/^Last synced: (?!never)/).waitFor({ timeout: UI_TIMEOUT });
  // ... and Postgres holds the card, once, for that user.
  const rows = await eventually(async () => {
    const found = await stack.sql<{ reference: string }[]>`
      select v.reference from verse_cards c join verses v on v.id = c.verse_id where c.user_id = ${userId}`;
    expect(found).toHaveLength(1);
    return found;
  }, UI_TIMEOUT);
  expect(rows[0].reference).toBe('John 3:16');
  expect(pageErrors).toEqual([]);
});
