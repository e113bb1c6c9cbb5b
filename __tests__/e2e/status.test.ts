// The sync status in Chromium, on the demo page with default options: "pending" counts the
// changes on the wire too, and the retry countdown moves every second and is right about when
// the retry comes. Each test has its own dev user and browser profile, so any one runs alone.
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/client.ts';
import { cardsInPostgres, demoSuite, FUNCTION_PATH, UI_TIMEOUT } from './demoPage.ts';

const suite = demoSuite('status-e2e', 2);

const text = (page: Page, value: string | RegExp) => page.getByText(value).first().waitFor({ timeout: UI_TIMEOUT });

async function addVerse(page: Page, reference: string): Promise<void> {
  await page.getByLabel('Reference').fill(reference);
  await page.getByRole('button', { name: 'Add verse' }).click();
  await page.getByRole('status').filter({ hasText: `Added ${reference}` }).waitFor({ timeout: UI_TIMEOUT });
}

async function injectNext(page: Page, label: string): Promise<void> {
  await page.getByLabel('Requests to fault').fill('1');
  await page.getByRole('button', { name: label }).click();
  await eventually(() => expect(suite.h.demo.faults.stats().queued).toHaveLength(1), UI_TIMEOUT);
}

test('a change on the wire still counts as pending: "1 change pending sync · sending 1" while the server holds the request', async () => {
  const user = suite.h.users[0];
  const { page } = await suite.h.signedIn(user);
  await text(page, 'No changes pending sync');
  // The server holds the next batch request 3 s after reading its body.
  await injectNext(page, 'Slow (3 s)');
  await addVerse(page, 'Psalm 23:1');
  await page.getByRole('button', { name: 'Sync Now' }).click();
  await eventually(() => expect(suite.h.demo.faults.stats().inFlight).toBeGreaterThanOrEqual(1), UI_TIMEOUT, 10);
  // While it is held: the change is counted and said to be sending, never "No changes pending sync".
  await text(page, '1 change pending sync · sending 1');
  expect(suite.h.demo.faults.stats().inFlight).toBeGreaterThanOrEqual(1);
  expect(await page.getByText('No changes pending sync').count()).toBe(0);
  await text(page, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 1, distinct: 1 }), UI_TIMEOUT);
});

test('after a 429 the countdown ticks every second and the retry comes when it says', async () => {
  const user = suite.h.users[1];
  const { page } = await suite.h.signedIn(user);
  await text(page, 'No changes pending sync');
  const posts: number[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes(FUNCTION_PATH)) posts.push(Date.now());
  });
  // The injected 429 says Retry-After: 2, so the wait is 2–3 s: long enough to watch it count.
  suite.allowErrors(/429/);
  await injectNext(page, 'HTTP 429');
  await addVerse(page, 'Psalm 23:2');
  await page.getByRole('button', { name: 'Sync Now' }).click();
  const countdown = page.getByText(/retrying in \d+ s/).first();
  await countdown.waitFor({ timeout: UI_TIMEOUT });
  const failedAt = posts.at(-1)!;
  const seen: Array<{ at: number; seconds: number }> = [];
  // Sample the text until the retry goes out: each reading is the seconds still to wait.
  while (posts.length < 2 || posts.at(-1)! === failedAt) {
    const shown = await page.getByText(/retrying (in \d+ s|now)/).first().textContent({ timeout: 100 }).catch(() => null);
    const match = shown?.match(/retrying in (\d+) s/);
    if (match) seen.push({ at: Date.now(), seconds: Number(match[1]) });
    if (Date.now() - failedAt > 15_000) break;
    await page.waitForTimeout(100);
  }
  const retriedAt = posts.find((at) => at > failedAt);
  expect(retriedAt).toBeDefined();
  // Live: at least two different numbers were shown, each no more than the one before.
  const numbers = [...new Set(seen.map((s) => s.seconds))];
  expect(numbers.length).toBeGreaterThanOrEqual(2);
  expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
  // Right: every reading "retrying in N s" came between N − 1 and N seconds (plus a second of slack
  // for the page and the browser's request event) before the retry.
  for (const { at, seconds } of seen) {
    const left = (retriedAt! - at) / 1000;
    expect(left).toBeGreaterThan(seconds - 1 - 1);
    expect(left).toBeLessThanOrEqual(seconds + 1);
  }
  await text(page, 'No changes pending sync');
  await eventually(async () => expect(await cardsInPostgres(suite.h.demo, user.id)).toEqual({ n: 1, distinct: 1 }), UI_TIMEOUT);
});
