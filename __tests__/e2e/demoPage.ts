// What the demo's e2e files share: the demo served as `npm start` serves it, one Chromium, and
// per test a fresh browser profile signed in as a dev user of its own, so any test runs alone
// (`npx jest -t '<name>'`). Every page is watched: console errors and page errors fail the test
// unless the test injected the fault that causes them, and nothing may leave 127.0.0.1.
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../src/dev/browser.ts';
import { startDemo, type Demo } from '../../src/dev/demoServer.ts';
import type { DevUser } from '../../src/dev/devEndpoints.ts';
import { REPO_ROOT } from '../../src/stack/migrate.ts';

export const ARTIFACTS = path.join(REPO_ROOT, 'artifacts', 'e2e');
export const FUNCTION_PATH = '/functions/v1/verse-operations';
// Generous for a loaded 2-core machine; every wait ends as soon as its condition holds.
export const UI_TIMEOUT = 20_000;

/** A dev user per test: each test's rows in Postgres and its IndexedDB are its own. */
export function testUsers(count: number): DevUser[] {
  return Array.from({ length: count }, (_, i) => ({ id: `33333333-3333-4333-8333-${String(i + 1).padStart(12, '0')}`, name: `Tester ${i + 1}` }));
}

export type Tab = {
  page: Page;
  /** Batch POSTs this page made, each with its op count. */
  batchPosts: number[];
  /** Console errors and page errors seen so far. */
  errors: string[];
};

export type DemoHarness = {
  demo: Demo;
  users: DevUser[];
  /** Requests for anywhere but 127.0.0.1, aborted (the page must work without the internet). */
  outside: string[];
  /** A fresh profile (its own IndexedDB) at 1280×1000; closed after the test. */
  newContext(): Promise<BrowserContext>;
  /** A watched page of `context` at the demo's URL. */
  openTab(context: BrowserContext): Promise<Tab>;
  /** A watched page signed in as `user`, in a fresh profile unless `context` is given. */
  signedIn(user: DevUser, context?: BrowserContext): Promise<Tab>;
  /** Errors of every tab opened in this test, minus those `allowed` matches. */
  unexpectedErrors(allowed?: RegExp[]): string[];
  /** Closes this test's profiles. */
  endTest(): Promise<void>;
  stop(): Promise<void>;
};

/** Starts the demo (function under Deno, bundled ESV stand-in) and Chromium. */
export async function startHarness(name: string, userCount: number): Promise<DemoHarness> {
  const outDir = path.join(os.tmpdir(), `verses-sync-${name}-${process.pid}`);
  const users = testUsers(userCount);
  const [demo, browser]: [Demo, Browser] = await Promise.all([
    startDemo({
      databaseUrl: process.env.DATABASE_URL || undefined,
      isolateDatabase: true,
      runtime: 'deno',
      // As `npm start` runs it with no ESV key: the bundled ESV-compatible server fills verse text.
      esv: 'local',
      outDir,
      users,
    }),
    launchChromium(),
  ]);
  await mkdir(ARTIFACTS, { recursive: true });
  const origin = new URL(demo.url).origin;
  const outside: string[] = [];
  let contexts: BrowserContext[] = [];
  let tabs: Tab[] = [];

  const harness: DemoHarness = {
    demo,
    users,
    outside,
    async newContext() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        outside.push(url);
        return route.abort('internetdisconnected');
      });
      contexts.push(context);
      return context;
    },
    async openTab(context) {
      const page = await context.newPage();
      const tab: Tab = { page, batchPosts: [], errors: [] };
      page.on('request', (req) => {
        if (req.method() !== 'POST' || new URL(req.url()).pathname !== FUNCTION_PATH) return;
        const body = JSON.parse(req.postData() ?? '{}') as { operations?: unknown[] };
        tab.batchPosts.push(body.operations?.length ?? 0);
      });
      page.on('console', (message) => {
        if (message.type() === 'error') tab.errors.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => tab.errors.push(`page error: ${error.message}`));
      tabs.push(tab);
      await page.goto(demo.url);
      return tab;
    },
    async signedIn(user, context) {
      const tab = await harness.openTab(context ?? (await harness.newContext()));
      await tab.page.getByRole('button', { name: `Sign in as ${user.name}`, exact: true }).click();
      await tab.page.getByTestId('signed-in-user').filter({ hasText: user.name }).waitFor({ timeout: UI_TIMEOUT });
      await tab.page.getByTestId('card-count').waitFor({ timeout: UI_TIMEOUT });
      return tab;
    },
    unexpectedErrors(allowed = []) {
      return tabs.flatMap((t) => t.errors).filter((e) => !allowed.some((pattern) => pattern.test(e)));
    },
    async endTest() {
      const closing = contexts;
      contexts = [];
      tabs = [];
      await Promise.all(closing.map((c) => c.close().catch(() => undefined)));
    },
    async stop() {
      await harness.endTest();
      await browser.close();
      // A request the fault panel holds back still reaches the function: let it land before the stack goes.
      for (let i = 0; i < 100 && demo.faults.stats().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 100));
      await demo.stop();
      await rm(outDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Rows of `userId` in Postgres (read inside eventually(): PGlite may interleave with the function's statements). */
export async function cardsInPostgres(demo: Demo, userId: string): Promise<{ n: number; distinct: number }> {
  const [row] = await demo.stack.sql<{ n: number; distinct: number }[]>`
    select count(*)::int as n, count(distinct id)::int as "distinct" from verse_cards where user_id = ${userId}`;
  return row;
}

export type DemoSuite = {
  /** The harness, once beforeAll has started it. */
  readonly h: DemoHarness;
  /** Console errors the current test causes on purpose (an injected fault); forgotten after it. */
  allowErrors(...patterns: RegExp[]): void;
};

/**
 * Starts the harness for this test file and checks after every test that no console or page
 * error outside the allowed ones and no request beyond 127.0.0.1 happened.
 */
export function demoSuite(name: string, userCount: number): DemoSuite {
  let harness: DemoHarness | undefined;
  let allowed: RegExp[] = [];
  beforeAll(async () => {
    harness = await startHarness(name, userCount);
  }, 120_000);
  afterAll(async () => {
    await harness?.stop();
  }, 60_000);
  afterEach(async () => {
    const errors = harness!.unexpectedErrors(allowed);
    allowed = [];
    await harness!.endTest();
    const outside = harness!.outside.splice(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
  return {
    get h() {
      return harness!;
    },
    allowErrors(...patterns) {
      allowed.push(...patterns);
    },
  };
}
