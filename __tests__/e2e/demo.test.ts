// The demo page in Chromium, served the way `npm start` serves it (the stack with the function
// under Deno, the built page and the dev endpoints on one origin): offline writes that sync once
// online, a bulk import within the batch math, and a reload in the middle of a request.
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../src/dev/browser.ts';
import { DEFAULT_BATCH_CONFIG } from '../../machines/types.ts';
import { startDemo, type Demo } from '../../src/dev/demoServer.ts';
import { DEV_USERS } from '../../src/dev/devEndpoints.ts';
import { REPO_ROOT } from '../../src/stack/migrate.ts';
import { eventually } from '../helpers/client.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'artifacts', 'e2e');
const FUNCTION_PATH = '/functions/v1/verse-operations';
// Generous for a loaded 2-core machine; every wait ends as soon as its condition holds.
const UI_TIMEOUT = 20_000;
const user = DEV_USERS[0];
const outDir = path.join(os.tmpdir(), `verses-sync-demo-e2e-${process.pid}`);

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const batchPosts: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  [demo, browser] = await Promise.all([
    startDemo({
      databaseUrl: process.env.DATABASE_URL || undefined,
      isolateDatabase: true,
      runtime: 'deno',
      // As `npm start` runs it with no ESV key: the bundled ESV-compatible server fills verse text.
      esv: 'local',
      outDir,
    }),
    launchChromium(),
  ]);
  await mkdir(ARTIFACTS, { recursive: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  page = await context.newPage();
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === FUNCTION_PATH) batchPosts.push(req.url());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(demo.url);
  await page.getByRole('button', { name: `Sign in as ${user.name}` }).click();
  await page.getByTestId('signed-in-user').waitFor({ timeout: UI_TIMEOUT });
}, 120_000);

afterAll(async () => {
  await page?.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true }).catch(() => undefined);
  await browser?.close();
  // A request the fault panel holds back still reaches the function: let it land before the stack goes.
  await eventually(() => expect(demo?.faults.stats().inFlight ?? 0).toBe(0), 10_000).catch(() => undefined);
  await demo?.stop();
  await rm(outDir, { recursive: true, force: true });
}, 60_000);

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

const text = (value: string) => page.getByText(value, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
const network = (label: string) => page.getByRole('radio', { name: label }).click();

// Read inside eventually(): PGlite serves the function's pool and this connection over one
// session, and a read that interleaves with the function's statements can fail and is retried.
async function cardsInPostgres(): Promise<{ n: number; distinct: number }> {
  const [row] = await demo.stack.sql<{ n: number; distinct: number }[]>`
    select count(*)::int as n, count(distinct id)::int as "distinct" from verse_cards where user_id = ${user.id}`;
  return row;
}

test('offline: five verses wait with "5 changes pending sync"; online they reach Postgres', async () => {
  await text('No changes pending sync');
  await network('Offline');
  await page.getByRole('alert').filter({ hasText: 'Offline – changes will sync when online' }).waitFor({ timeout: UI_TIMEOUT });
  expect(await page.getByRole('button', { name: 'Sync Now' }).isDisabled()).toBe(true);
  const before = batchPosts.length;
  for (let i = 1; i <= 5; i++) {
    await page.getByLabel('Reference').fill(`Genesis 1:${i}`);
    await page.getByRole('button', { name: 'Add verse' }).click();
    await page.getByRole('status').filter({ hasText: `Added Genesis 1:${i}` }).waitFor({ timeout: UI_TIMEOUT });
  }
  await text('5 changes pending sync');
  expect(batchPosts.length).toBe(before);

  await network('Excellent');
  await text('No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 5, distinct: 5 }), UI_TIMEOUT);
  expect(await page.getByRole('alert').count()).toBe(0);
  await page.getByText(/^Last synced: less than a minute ago$/).waitFor({ timeout: UI_TIMEOUT });
  // The text came from the local ESV stand-in (World English Bible) with the batch's answer.
  await page.getByTestId('verse-text').filter({ hasText: 'In the beginning, God created the heavens and the earth.' }).waitFor({ timeout: UI_TIMEOUT });
  // One ESV query per batch, never one per verse: each reference asked once, in no more queries than
  // batch requests. (Coming online, the first batch may go before the first probe and be a 'poor'
  // one of 3 ops: then 3 + 2 in two queries.)
  const queries = demo.stack.esvServer!.queries.map((q) => q.q);
  expect(queries.length).toBeGreaterThanOrEqual(1);
  expect(queries.length).toBeLessThanOrEqual(batchPosts.length);
  expect(queries.flatMap((q) => q.split(';')).sort()).toEqual(['Genesis 1:1', 'Genesis 1:2', 'Genesis 1:3', 'Genesis 1:4', 'Genesis 1:5']);
});

test('bulk-adding 100 verses on "excellent" takes no more requests than the batch math allows', async () => {
  await network('Excellent');
  await text('Network: excellent');
  await text('No changes pending sync');
  const pageBefore = batchPosts.length;
  const serverBefore = demo.faults.stats().batchRequests;
  await page.getByRole('button', { name: 'Add 100 verses' }).click();
  await text('No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 105, distinct: 105 }), UI_TIMEOUT);
  const requests = batchPosts.length - pageBefore;
  // Backlog mode: 100 waiting ops on excellent go out in batches of up to maxBatchOps.
  const allowed = Math.ceil(100 / DEFAULT_BATCH_CONFIG.excellent.maxBatchOps);
  console.log(`e2e: 100 verses on excellent took ${requests} request(s) (allowed ${allowed})`);
  expect(requests).toBeGreaterThanOrEqual(1);
  expect(requests).toBeLessThanOrEqual(allowed);
  expect(demo.faults.stats().batchRequests - serverBefore).toBe(requests);
  await page.getByRole('table', { name: 'Recent batches' }).getByRole('cell', { name: '100', exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
});

test('a reload while a batch is in flight loses nothing, applies every verse once and keeps the forced network', async () => {
  await text('No changes pending sync');
  // The next batch request is held 3 s by the server (its body already read), so the page
  // reloads while it is in flight; the reloaded page resends it and the ledger keeps it once.
  await page.getByLabel('Requests to fault').fill('1');
  await page.getByRole('button', { name: 'Slow (3 s)' }).click();
  await eventually(() => expect(demo.faults.stats().queued).toHaveLength(1), UI_TIMEOUT);
  const postsBefore = batchPosts.length;
  await page.getByRole('button', { name: 'Add 100 verses' }).click();
  await eventually(() => expect(demo.faults.stats().inFlight).toBeGreaterThanOrEqual(1), UI_TIMEOUT, 10);
  await eventually(() => expect(batchPosts.length).toBeGreaterThan(postsBefore), UI_TIMEOUT, 10);
  await page.reload();
  await page.getByTestId('signed-in-user').waitFor({ timeout: UI_TIMEOUT });
  // The panel's forced "Excellent" outlives the reload (else the probe decides, and a loaded
  // machine's probe says "poor": 3 ops a request).
  expect(await page.getByRole('radio', { name: 'Excellent' }).getAttribute('aria-checked')).toBe('true');
  await text('Network: excellent');
  await text('No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 205, distinct: 205 }), UI_TIMEOUT);
  await eventually(() => expect(demo.faults.stats().inFlight).toBe(0), UI_TIMEOUT);
  // Nothing landed twice (the held request has landed by now), and nothing is left in the browser's outbox.
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 205, distinct: 205 }), UI_TIMEOUT);
  expect(await page.getByTestId('card-count').textContent()).toBe('205');
  console.log(`e2e: function requests in total ${batchPosts.length} batch POSTs from the page, ${demo.faults.stats().batchRequests} at the server`);
});

test("the page's other writes reach Postgres: review, alias, profile, delete (as the second dev user)", async () => {
  const other = DEV_USERS[1];
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: `Sign in as ${other.name}` }).click();
  await page.getByTestId('signed-in-user').filter({ hasText: other.name }).waitFor({ timeout: UI_TIMEOUT });
  await text('No changes pending sync');
  await page.getByLabel('Reference').fill('Ruth 1:16');
  await page.getByRole('button', { name: 'Add verse' }).click();
  // Sent before it is deleted: a card created and deleted unsent would cancel out (coalescing).
  await eventually(async () => {
    const [row] = await demo.stack.sql`select count(*)::int as n from verse_cards where user_id = ${other.id}`;
    expect(row.n).toBe(1);
  }, UI_TIMEOUT);
  await page.getByRole('button', { name: 'Review Ruth 1:16 correct' }).click();
  await page.getByLabel('Alias for the buttons below').fill('loyalty');
  await page.getByRole('button', { name: 'Add alias to Ruth 1:16' }).click();
  await page.getByLabel('Display name').fill('Boaz of Bethlehem');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('status').filter({ hasText: 'Profile saved' }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByRole('button', { name: 'Delete Ruth 1:16' }).click();
  await page.getByRole('status').filter({ hasText: 'Deleted Ruth 1:16' }).waitFor({ timeout: UI_TIMEOUT });
  await eventually(async () => {
    const [row] = await demo.stack.sql`
      select (select count(*)::int from verse_cards where user_id = ${other.id} and deleted_at is not null) as deleted,
             (select count(*)::int from review_logs where user_id = ${other.id} and correct) as reviews,
             (select string_agg(alias, ',') from verse_aliases where user_id = ${other.id}) as aliases,
             (select display_name from profiles where user_id = ${other.id}) as name`;
    expect(row).toEqual({ deleted: 1, reviews: 1, aliases: 'loyalty', name: 'Boaz of Bethlehem' });
  }, UI_TIMEOUT);
  await text('No changes pending sync');
  // The first user's rows are untouched by the second's session.
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 205, distinct: 205 }), UI_TIMEOUT);
});
