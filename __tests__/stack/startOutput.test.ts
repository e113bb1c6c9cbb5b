// `npm start` on a first run: the URL to open is the first address it prints and its one
// prominent line; the bundler's timing notes and the function's log appear only with --verbose.
import { showStartLog, startBanner } from '../../src/stack/cli.ts';
import type { Stack } from '../../src/stack/index.ts';

const stack = {
  url: 'http://127.0.0.1:54321',
  functionUrl: 'http://127.0.0.1:54321/functions/v1/verse-operations',
  anonKey: 'anon.key',
  runtime: 'deno',
  database: { kind: 'pglite', url: 'postgres://postgres:postgres@127.0.0.1:54322/postgres' },
  esvServer: { url: 'http://127.0.0.1:40123' },
} as unknown as Stack;
const devUsers = [{ name: 'Ruth', id: '11111111-1111-4111-8111-111111111111' }];

test('the URL to open is the first address printed, on the one line that stands out', () => {
  const banner = startBanner({ url: 'http://127.0.0.1:54321/', stack, devUsers, emphasis: true });
  const lines = banner.split('\n');
  const firstAddress = lines.find((line) => /https?:\/\//.test(line));
  expect(firstAddress).toContain('Open http://127.0.0.1:54321/');
  expect(lines.filter((line) => line.includes('\x1b[1m'))).toEqual([firstAddress]);
  // The ESV stand-in's address is a detail below it.
  expect(lines.findIndex((line) => line.includes('40123'))).toBeGreaterThan(lines.indexOf(firstAddress!));
});

test('without a terminal the banner has no escape codes', () => {
  expect(startBanner({ url: 'http://127.0.0.1:54321/', stack, devUsers })).not.toContain('\x1b');
});

test.each([
  '[vite] Additional callback time came from plugins: 120 ms',
  '[vite] ✓ built in 3.21s',
  'database (pglite) ready; 8 migration(s) applied',
  'ESV-compatible server (bundled WEB text) on http://127.0.0.1:40123',
  '[deno verse-operations] Listening on http://127.0.0.1:40124/',
  'demo page built in 4.2 s',
])('"%s" shows with --verbose only', (line) => {
  expect(showStartLog(line, false)).toBe(false);
  expect(showStartLog(line, true)).toBe(true);
});

test('a failure while stopping is always shown', () => {
  expect(showStartLog('stop: database did not close', false)).toBe(true);
});
