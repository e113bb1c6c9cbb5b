// Two tabs of the demo in one Chromium profile, signed in as the same user: they share the
// user's IndexedDB outbox, only the Web Locks leader uploads, both show the same pending count;
// when the leader closes while the server holds its batch, the other tab takes over, re-sends
// the batch and carries on, and Postgres holds every op exactly once.
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../src/dev/browser.ts';
import { startDemo, type Demo } from '../../src/dev/demoServer.ts';
import { DEV_USERS } from '../../src/dev/devEndpoints.ts';
import { FOLLOWER_MESSAGE } from '../../src/react/SyncStatus.tsx';
import { REPO_ROOT } from '../../src/stack/migrate.ts';
import { eventually } from '../helpers/client.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'artifacts', 'e2e');
const FUNCTION_PATH = '/functions/v1/verse-operations';
// Generous for a loaded 2-core machine; every wait ends as soon as its condition holds.
const UI_TIMEOUT = 30_000;
// Long enough that the leader is surely closed while its batch is held.
const HOLD_MS = 6_000;
const user = DEV_USERS[0];
const outDir = path.join(os.tmpdir(), `verses-sync-tabs-e2e-${process.pid}`);

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];
/** Batch POSTs per tab, with the op ids each carried. */
const posts = new Map<Page, string[][]>();

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  posts.set(page, []);
  page.on('request', (req) => {
    if (req.method() !== 'POST' || new URL(req.url()).pathname !== FUNCTION_PATH) return;
    const body = JSON.parse(req.postData() ?? '{}') as { operations?: Array<{ id: string }> };
    posts.get(page)!.push((body.operations ?? []).map((op) => op.id));
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(demo.url);
  return page;
}

beforeAll(async () => {
  [demo, browser] = await Promise.all([
    startDemo({ databaseUrl: process.env.DATABASE_URL || undefined, isolateDatabase: true, runtime: 'deno', outDir }),
    launchChromium(),
  ]);
  await mkdir(ARTIFACTS, { recursive: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await eventually(() => expect(demo?.faults.stats().inFlight ?? 0).toBe(0), 15_000).catch(() => undefined);
  await demo?.stop();
  await rm(outDir, { recursive: true, force: true });
}, 60_000);

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

const text = (page: Page, value: string) => page.getByText(value, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
const network = (page: Page, label: string) => page.getByRole('radio', { name: label }).click();
// A follower's network panel shows the uploading tab's choice and cannot change it.
async function followsLeaderNetwork(page: Page, label: string) {
  const radio = page.getByRole('radio', { name: label });
  await eventually(async () => expect(await radio.getAttribute('aria-checked')).toBe('true'), UI_TIMEOUT);
  expect(await radio.isDisabled()).toBe(true);
}
/** Waits until `page` runs the uploader: its badge names a quality, not the other tab. */
const leads = (page: Page) => page.getByText(/^Network: (poor|good|excellent|offline)$/).first().waitFor({ timeout: UI_TIMEOUT });
const pendingOf = (page: Page) => page.locator('.sync-pending').textContent();

async function addVerse(page: Page, reference: string): Promise<void> {
  await page.getByLabel('Reference').fill(reference);
  await page.getByRole('button', { name: 'Add verse' }).click();
  await page.getByRole('status').filter({ hasText: `Added ${reference}` }).waitFor({ timeout: UI_TIMEOUT });
}

/** `online` in the root actor's snapshot as saved in the user's IndexedDB (undefined if none yet). */
function persistedOnline(page: Page): Promise<boolean | undefined> {
  return page.evaluate(
    (name) =>
      new Promise<boolean | undefined>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const get = db.transaction('actorSnapshots').objectStore('actorSnapshots').get('sync');
          get.onerror = () => reject(get.error);
          get.onsuccess = () => {
            db.close();
            resolve((get.result?.snapshot as { context?: { online?: boolean } } | undefined)?.context?.online);
          };
        };
      }),
    `verses-sync-demo-${user.id}`,
  );
}

// Read inside eventually(): PGlite serves the function's pool and this connection over one session.
async function cardsInPostgres(): Promise<{ n: number; distinct: number; ledger: number }> {
  const [row] = await demo.stack.sql<{ n: number; distinct: number; ledger: number }[]>`
    select (select count(*)::int from verse_cards where user_id = ${user.id}) as n,
           (select count(distinct id)::int from verse_cards where user_id = ${user.id}) as "distinct",
           (select count(*)::int from sync_ledger where user_id = ${user.id}) as ledger`;
  return row;
}

test('two tabs share one outbox and one uploader; the leader closes mid-batch, the other takes over and every op lands once', async () => {
  const first = await openTab();
  await first.getByRole('button', { name: `Sign in as ${user.name}` }).click();
  await first.getByTestId('signed-in-user').waitFor({ timeout: UI_TIMEOUT });
  await network(first, 'Excellent');
  await text(first, 'Network: excellent');
  expect(await first.getByText(FOLLOWER_MESSAGE).count()).toBe(0);

  // The second tab is signed in already (the demo remembers the user) and follows.
  const second = await openTab();
  await second.getByTestId('signed-in-user').filter({ hasText: user.name }).waitFor({ timeout: UI_TIMEOUT });
  await text(second, FOLLOWER_MESSAGE);
  await text(second, 'Network: measured by the syncing tab');
  // The leader's choice is shown in the follower, read-only, and applied by it the day it takes
  // over (else a loaded machine's probe says 'poor').
  await followsLeaderNetwork(second, 'Excellent');

  // A follower's write nudges the leader, which sends it; the follower sends nothing.
  await addVerse(second, 'Exodus 20:1');
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 1, distinct: 1, ledger: 1 }), UI_TIMEOUT);
  await text(second, 'No changes pending sync');
  await text(second, 'Last synced: less than a minute ago');
  await text(first, 'Last synced: less than a minute ago');
  expect(posts.get(second)).toEqual([]);

  // The leader goes offline; both tabs write; both show the same pending count.
  await network(first, 'Offline');
  await first.getByRole('alert').filter({ hasText: 'Offline – changes will sync when online' }).waitFor({ timeout: UI_TIMEOUT });
  for (const verse of ['Genesis 1:1', 'Genesis 1:2', 'Genesis 1:3']) await addVerse(first, verse);
  for (const verse of ['Exodus 20:2', 'Exodus 20:3', 'Exodus 20:4']) await addVerse(second, verse);
  await text(first, '6 changes pending sync');
  await text(second, '6 changes pending sync');
  expect([await pendingOf(first), await pendingOf(second)]).toEqual(['6 changes pending sync', '6 changes pending sync']);

  // The server holds the next batch (its body already read); the leader sends it and closes.
  demo.faults.inject('slow', 1, HOLD_MS);
  const before = posts.get(first)!.length;
  await network(first, 'Excellent');
  await eventually(() => expect(demo.faults.stats().inFlight).toBeGreaterThanOrEqual(1), UI_TIMEOUT, 10);
  await eventually(() => expect(posts.get(first)!.length).toBeGreaterThan(before), UI_TIMEOUT, 10);
  const held = posts.get(first)![before];
  expect(held.length).toBeGreaterThan(0);
  expect(demo.faults.stats().queued).toEqual([]); // the held request is the batch just sent
  await first.close();

  // The second tab takes the lock, recovers the in-flight batch and sends it again.
  await text(second, 'Network: excellent');
  expect(await second.getByText(FOLLOWER_MESSAGE).count()).toBe(0);
  await text(second, 'No changes pending sync');
  await eventually(() => expect(posts.get(second)!.flat()).toEqual(expect.arrayContaining(held)), UI_TIMEOUT);
  // And carries on with new writes.
  await addVerse(second, 'Exodus 20:5');
  await addVerse(second, 'Exodus 20:6');
  await text(second, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 9, distinct: 9, ledger: 9 }), UI_TIMEOUT);
  // The held request lands too (after the re-send); the ledger keeps each op once.
  await eventually(() => expect(demo.faults.stats().inFlight).toBe(0), UI_TIMEOUT);
  await eventually(async () => expect(await cardsInPostgres()).toEqual({ n: 9, distinct: 9, ledger: 9 }), UI_TIMEOUT);
  expect(await second.getByTestId('card-count').textContent()).toBe('9');
  await second.screenshot({ path: path.join(ARTIFACTS, 'tabs.png'), fullPage: true }).catch(() => undefined);
  console.log(`e2e tabs: held batch of ${held.length} ops; posts from the first tab ${posts.get(first)!.length}, from the second ${posts.get(second)!.length}`);
}, 180_000);

test('a tab takes over from a leader the panel forced offline: it keeps Offline (shown in both tabs), and on Auto goes online and sends what waited', async () => {
  for (const page of context.pages()) await page.close();
  const leader = await openTab();
  // Signed in already when the first test ran (the demo remembers the user), else sign in.
  const signIn = leader.getByRole('button', { name: `Sign in as ${user.name}` });
  await leader.getByTestId('signed-in-user').or(signIn).waitFor({ timeout: UI_TIMEOUT });
  if (await signIn.isVisible()) await signIn.click();
  await leader.getByTestId('signed-in-user').filter({ hasText: user.name }).waitFor({ timeout: UI_TIMEOUT });
  // The pages of the first test may still hold the lock for a moment after closing.
  await leads(leader);
  await text(leader, 'No changes pending sync');
  await network(leader, 'Offline');
  await leader.getByRole('alert').filter({ hasText: 'Offline – changes will sync when online' }).waitFor({ timeout: UI_TIMEOUT });
  await addVerse(leader, 'Leviticus 19:18');
  await addVerse(leader, 'Numbers 6:24');
  const follower = await openTab();
  await text(follower, FOLLOWER_MESSAGE);
  await text(follower, '2 changes pending sync');
  await followsLeaderNetwork(follower, 'Offline');
  // The leader has saved its actors' snapshot with online: false, which the next leader restores.
  await eventually(async () => expect(await persistedOnline(leader)).toBe(false), UI_TIMEOUT);
  await leader.close();

  await leads(follower);
  // The choice is the browser's: the new uploader stays offline as forced, and may change it now.
  expect(await follower.getByText(FOLLOWER_MESSAGE).count()).toBe(0);
  await follower.getByRole('alert').filter({ hasText: 'Offline – changes will sync when online' }).waitFor({ timeout: UI_TIMEOUT });
  await text(follower, '2 changes pending sync');
  // Auto hands the network back to the browser, which is online, though the snapshot the
  // previous leader saved (and this one restored) says offline.
  await network(follower, 'Auto');
  await text(follower, 'No changes pending sync');
  expect(await follower.getByRole('alert').count()).toBe(0);
  await eventually(async () => {
    const [row] = await demo.stack.sql<{ n: number }[]>`
      select count(*)::int as n from verse_cards c join verses v on v.id = c.verse_id
      where c.user_id = ${user.id} and v.reference in ('Leviticus 19:18', 'Numbers 6:24')`;
    expect(row.n).toBe(2);
  }, UI_TIMEOUT);
}, 120_000);

test("a leader tab told 'freeze' (Page Lifecycle) mid-batch steps down: the other tab takes over, every op lands once; on 'resume' it follows", async () => {
  for (const page of context.pages()) await page.close();
  const leader = await openTab();
  const signIn = leader.getByRole('button', { name: `Sign in as ${user.name}` });
  await leader.getByTestId('signed-in-user').or(signIn).waitFor({ timeout: UI_TIMEOUT });
  if (await signIn.isVisible()) await signIn.click();
  await leads(leader);
  await network(leader, 'Excellent');
  await text(leader, 'No changes pending sync');
  const follower = await openTab();
  await text(follower, FOLLOWER_MESSAGE);
  await followsLeaderNetwork(follower, 'Excellent');
  const before = await cardsInPostgres();

  // The server holds the leader's next batch; the browser freezes the leader's tab meanwhile.
  demo.faults.inject('slow', 1, HOLD_MS);
  const sentBefore = posts.get(leader)!.length;
  await addVerse(leader, 'Deuteronomy 6:4');
  await addVerse(leader, 'Deuteronomy 6:5');
  await eventually(() => expect(posts.get(leader)!.length).toBeGreaterThan(sentBefore), UI_TIMEOUT, 10);
  const held = posts.get(leader)![sentBefore];
  // Headless Chromium never freezes a visible page by itself (and CDP's frozen state does not fire
  // 'freeze' on one), so the test fires the Page Lifecycle event the browser would, then freezes it.
  await leader.evaluate(() => document.dispatchEvent(new Event('freeze')));
  const cdp = await context.newCDPSession(leader);
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });

  // A frozen tab runs nothing, yet the follower gets the lock (the leader gave it up on 'freeze').
  await leads(follower);
  expect(await follower.getByText(FOLLOWER_MESSAGE).count()).toBe(0);
  await text(follower, 'No changes pending sync');
  await eventually(() => expect(posts.get(follower)!.flat()).toEqual(expect.arrayContaining(held)), UI_TIMEOUT);
  await eventually(() => expect(demo.faults.stats().inFlight).toBe(0), UI_TIMEOUT);
  const added = 2;
  await eventually(async () =>
    expect(await cardsInPostgres()).toEqual({ n: before.n + added, distinct: before.distinct + added, ledger: before.ledger + added }), UI_TIMEOUT);

  // Unfrozen, the first tab queues for the lock behind the new leader: it follows.
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await leader.evaluate(() => document.dispatchEvent(new Event('resume')));
  await text(leader, FOLLOWER_MESSAGE);
  await addVerse(leader, 'Deuteronomy 6:6');
  await text(follower, 'No changes pending sync');
  await eventually(async () =>
    expect(await cardsInPostgres()).toEqual({ n: before.n + 3, distinct: before.distinct + 3, ledger: before.ledger + 3 }), UI_TIMEOUT);
  console.log(`e2e tabs: frozen leader's held batch of ${held.length} op(s) re-sent by the other tab`);
}, 120_000);
