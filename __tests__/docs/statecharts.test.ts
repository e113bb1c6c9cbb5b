// The statechart pictures in docs/statecharts.md and the README are drawn from the machines:
// when a machine changes and the pictures do not, this fails and says how to redraw them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { setup } from 'xstate';
import { launchChromium } from '../../src/dev/browser.ts';
import {
  PICTURED_MACHINES,
  README_BEGIN,
  README_END,
  readmeStatecharts,
  spliceReadme,
  stateDescriptions,
  statechartOf,
  statechartsDocument,
  STATECHARTS_FILE,
} from '../../src/dev/statecharts.ts';
import { REPO_ROOT } from '../../src/stack/migrate.ts';

const REGENERATE = 'A machine changed and its picture did not: run `npm run diagrams` and commit docs/statecharts.md and README.md.';

/** The first line where two texts part, for a failure message a person can act on. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '(end)')}, machines say ${JSON.stringify(b[at] ?? '(end)')}`;
}

function expectCurrent(file: string, committed: string, generated: string): void {
  if (committed !== generated) throw new Error(`${file} is stale. ${REGENERATE}\nFirst difference at ${firstDifference(committed, generated)}`);
}

test('docs/statecharts.md matches the machines', async () => {
  const committed = await readFile(path.join(REPO_ROOT, STATECHARTS_FILE), 'utf8');
  expectCurrent(STATECHARTS_FILE, committed, statechartsDocument());
});

test.each(PICTURED_MACHINES.map((m) => [m.name, m.machine] as const))('every state of %s says what it means (the inspector shows its description)', (_, machine) => {
  const states = stateDescriptions(machine);
  expect(states.length).toBeGreaterThan(1);
  expect(states.filter((s) => !s.description?.trim()).map((s) => s.state)).toEqual([]);
});

test("the README's statecharts match the machines", async () => {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  expect(readme).toContain(README_BEGIN);
  expectCurrent('README.md', readme, spliceReadme(readme, readmeStatecharts()));
});

test('a picture follows its machine: a changed target, guard, delay or state changes the text', () => {
  const draw = (target: 'b' | 'c', guard: 'isReady' | 'isDone', delay: 'short' | 'long', extra: boolean) =>
    statechartOf(
      setup({ guards: { isReady: () => true, isDone: () => true }, delays: { short: 1, long: 2 } }).createMachine({
        id: 'm',
        initial: 'a',
        states: {
          a: { on: { go: { target: target, guard } }, after: { [delay]: 'b' } },
          b: { type: 'final' },
          c: {},
          ...(extra ? { d: {} } : {}),
        },
      }),
    );
  const base = draw('b', 'isReady', 'short', false);
  expect(base).toContain('a --> b : go [isReady]');
  expect(base).toContain('a --> b : after short');
  expect(base).toContain('b --> [*]');
  for (const changed of [draw('c', 'isReady', 'short', false), draw('b', 'isDone', 'short', false), draw('b', 'isReady', 'long', false), draw('b', 'isReady', 'short', true)]) {
    expect(changed).not.toBe(base);
  }
});

test('a stale picture fails with the command that redraws it', () => {
  const generated = statechartsDocument();
  const stale = generated.replace(/ : /, ' : stale ');
  expect(() => expectCurrent(STATECHARTS_FILE, stale, generated)).toThrow('run `npm run diagrams`');
  expect(README_END).toMatch(/statecharts:end/);
});

// The repository host draws the pictures with Mermaid: each one must parse and render there.
describe('each picture renders with Mermaid in Chromium', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    await page.addScriptTag({ path: require.resolve('mermaid/dist/mermaid.min.js') });
    await page.evaluate(() => (window as unknown as { mermaid: { initialize(o: object): void } }).mermaid.initialize({ startOnLoad: false }));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  test.each(PICTURED_MACHINES.map(({ name, machine }) => [name, statechartOf(machine)] as const))('%s', async (name, text) => {
    const result = await page.evaluate(
      async ({ id, text }) => {
        const { mermaid } = window as unknown as { mermaid: { render(id: string, text: string): Promise<{ svg: string }> } };
        try {
          return { svg: (await mermaid.render(id, text)).svg };
        } catch (error) {
          return { error: String(error instanceof Error ? error.message : error) };
        }
      },
      { id: `chart-${name}`, text },
    );
    expect(result).toEqual({ svg: expect.stringContaining('<svg') });
    // Every state of the machine is drawn.
    const svg = (result as { svg: string }).svg;
    for (const state of text.matchAll(/state "([^"]+)" as/g)) expect(svg).toContain(state[1]);
  });
});
