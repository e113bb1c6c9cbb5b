// The demo page's sync path in Chromium, served the way `npm start` serves it (the stack with the
// function under Deno, the built page and the dev endpoints on one origin): offline writes that
// sync once online, a bulk import within the batch math, a reload in the middle of a request, and
// the page's other writes. Each test has its own dev user and browser profile, so any one runs alone.
import { DEFAULT_BATCH_CONFIG } from '../../machines/types.ts';
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/client.ts';
import { cardsInPostgres, demoSuite, UI_TIMEOUT } from './demoPage.ts';

const suite = demoSuite('demo-e2e', 4);

const text = (page: Page, value: string) => page.getByText(value, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
const network = (page: Page, label: string) => page.getByRole('radio', { name: label }).click();

test('offline: five verses wait with "5 changes pending sync"; online they reach Postgres', async () => {
  const user = suite.h.users[0];
  const { page, batchPosts } = await suite.h.signedIn(user);
  await text(page, 'No changes pending sync');
  await network(page, 'Offline');
  await page.getByRole('alert').filter({ hasText: 'Offline – changes will sync when online' }).waitFor({ timeout: UI_TIMEOUT });
  expect(await page.getByRole('button', { name: 'Sync Now' }).isDisabled()).toBe(true);
  const before = batchPosts.length;
  for (let i = 1; i <= 5; i++) {
    await page.getByLabel('Reference').fill(`Genesis 1:${i}`);
    await page.getByRole('button', { name: 'Add verse' }).click();
    await page.getByRole('status').filter({ hasText: `Added Genesis 1:${i}` }).waitFor({ timeout: UI_TIMEOUT });
  }
  await text(page, '5 changes pending sync');
  expect(batchPosts.length).toBe(before);
  expect(await page.getByTestId('card-state').filter({ hasText: /^local · 1 change to send$/ }).count()).toBe(5);

  const queriesBefore = suite.h.demo.stack.esvServer!.queries.length;
  await network(page, 'Excellent');
  await text(page, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 5, distinct: 5 }), UI_TIMEOUT);
  expect(await page.getByRole('alert').count()).toBe(0);
  await page.getByText(/^Last synced: less than a minute ago$/).waitFor({ timeout: UI_TIMEOUT });
  await eventually(async () => expect(await page.getByTestId('card-state').filter({ hasText: /^synced$/ }).count()).toBe(5), UI_TIMEOUT);
  // The text came from the local ESV stand-in (World English Bible) with the batch's answer.
  await page.getByTestId('verse-text').filter({ hasText: 'In the beginning, God created the heavens and the earth.' }).waitFor({ timeout: UI_TIMEOUT });
  // One ESV query per batch, never one per verse: each reference asked once, in no more queries than
  // batch requests. (Coming online, the first batch may go before the first probe and be a 'poor'
  // one of 3 ops: then 3 + 2 in two queries.)
  const queries = suite.h.demo.stack.esvServer!.queries.slice(queriesBefore).map((q) => q.q);
  expect(queries.length).toBeGreaterThanOrEqual(1);
  expect(queries.length).toBeLessThanOrEqual(batchPosts.length);
  expect(queries.flatMap((q) => q.split(';')).sort()).toEqual(['Genesis 1:1', 'Genesis 1:2', 'Genesis 1:3', 'Genesis 1:4', 'Genesis 1:5']);
});

test('bulk-adding 100 verses on "excellent" takes no more requests than the batch math allows', async () => {
  const user = suite.h.users[1];
  const { page, batchPosts } = await suite.h.signedIn(user);
  await network(page, 'Excellent');
  await text(page, 'Network: excellent');
  await text(page, 'No changes pending sync');
  const serverBefore = suite.h.demo.faults.stats().batchRequests;
  await page.getByRole('button', { name: 'Add 100 verses' }).click();
  await text(page, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 100, distinct: 100 }), UI_TIMEOUT);
  const requests = batchPosts.length;
  // Backlog mode: 100 waiting ops on excellent go out in batches of up to maxBatchOps.
  const allowedRequests = Math.ceil(100 / DEFAULT_BATCH_CONFIG.excellent.maxBatchOps);
  console.log(`e2e: 100 verses on excellent took ${requests} request(s) (allowed ${allowedRequests})`);
  expect(requests).toBeGreaterThanOrEqual(1);
  expect(requests).toBeLessThanOrEqual(allowedRequests);
  expect(suite.h.demo.faults.stats().batchRequests - serverBefore).toBe(requests);
  await page.getByRole('table', { name: 'Recent batches' }).getByRole('cell', { name: '100', exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
});

test('a reload while a batch is in flight loses nothing, applies every verse once and keeps the forced network', async () => {
  const user = suite.h.users[2];
  const { page, batchPosts } = await suite.h.signedIn(user);
  await network(page, 'Excellent');
  await text(page, 'Network: excellent');
  await text(page, 'No changes pending sync');
  // The next batch request is held 3 s by the server (its body already read), so the page
  // reloads while it is in flight; the reloaded page resends it and the ledger keeps it once.
  await page.getByLabel('Requests to fault').fill('1');
  await page.getByRole('button', { name: 'Slow (3 s)' }).click();
  await eventually(() => expect(suite.h.demo.faults.stats().queued).toHaveLength(1), UI_TIMEOUT);
  await page.getByRole('button', { name: 'Add 100 verses' }).click();
  await eventually(() => expect(suite.h.demo.faults.stats().inFlight).toBeGreaterThanOrEqual(1), UI_TIMEOUT, 10);
  await eventually(() => expect(batchPosts.length).toBeGreaterThan(0), UI_TIMEOUT, 10);
  // The request the reload cuts off is the fault this test injects.
  suite.allowErrors(/ERR_ABORTED|Failed to fetch|aborted/i);
  await page.reload();
  await page.getByTestId('signed-in-user').waitFor({ timeout: UI_TIMEOUT });
  // The panel's forced "Excellent" outlives the reload (else the probe decides, and a loaded
  // machine's probe says "poor": 3 ops a request).
  expect(await page.getByRole('radio', { name: 'Excellent' }).getAttribute('aria-checked')).toBe('true');
  await text(page, 'Network: excellent');
  await text(page, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 100, distinct: 100 }), UI_TIMEOUT);
  await eventually(() => expect(suite.h.demo.faults.stats().inFlight).toBe(0), UI_TIMEOUT);
  // Nothing landed twice (the held request has landed by now), and nothing is left in the browser's outbox.
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 100, distinct: 100 }), UI_TIMEOUT);
  expect(await page.getByTestId('card-count').textContent()).toBe('100');
  console.log(`e2e: ${batchPosts.length} batch POSTs from the page, ${suite.h.demo.faults.stats().batchRequests} at the server`);
});

test("the page's other writes reach Postgres: review, alias, profile, delete", async () => {
  const user = suite.h.users[3];
  const { page } = await suite.h.signedIn(user);
  await text(page, 'No changes pending sync');
  await page.getByLabel('Reference').fill('Ruth 1:16');
  await page.getByRole('button', { name: 'Add verse' }).click();
  // Sent before it is deleted: a card created and deleted unsent would cancel out (coalescing).
  await page.getByRole('button', { name: 'Sync Now' }).click();
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 1, distinct: 1 }), UI_TIMEOUT);
  await page.getByRole('button', { name: 'Review Ruth 1:16 correct' }).click();
  await page.getByLabel('Alias for the buttons below').fill('loyalty');
  await page.getByRole('button', { name: 'Add alias to Ruth 1:16' }).click();
  await page.getByLabel('Aliases of Ruth 1:16').filter({ hasText: 'loyalty' }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByLabel('Display name').fill('Boaz of Bethlehem');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('status').filter({ hasText: 'Profile saved' }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByRole('button', { name: 'Delete Ruth 1:16' }).click();
  await page.getByRole('status').filter({ hasText: 'Deleted Ruth 1:16' }).waitFor({ timeout: UI_TIMEOUT });
  await page.getByRole('button', { name: 'Sync Now' }).click();
  await eventually(async () => {
    const [row] = await suite.h.demo.stack.sql`
      select (select count(*)::int from verse_cards where user_id = ${user.id} and deleted_at is not null) as deleted,
             (select count(*)::int from review_logs where user_id = ${user.id} and correct) as reviews,
             (select string_agg(alias, ',') from verse_aliases where user_id = ${user.id}) as aliases,
             (select display_name from profiles where user_id = ${user.id}) as name`;
    expect(row).toEqual({ deleted: 1, reviews: 1, aliases: 'loyalty', name: 'Boaz of Bethlehem' });
  }, UI_TIMEOUT);
  await text(page, 'No changes pending sync');
});
