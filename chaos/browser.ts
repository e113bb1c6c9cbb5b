// A real Chromium on its own persistent profile, launched by us (not by Playwright)
// so the runner holds its process group and can SIGKILL it like a power cut.
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, pickBrowser } from '../src/dev/browser.ts';

const FLAGS = [
  ...CHROMIUM_FLAGS,
  '--no-default-browser-check',
  // Kill-restart cycles must not put up a "restore pages?" prompt or throttle hidden pages.
  '--disable-session-crashed-bubble',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--remote-debugging-port=0',
];

export type RunningBrowser = {
  process: ChildProcess;
  browser: Browser;
  page: Page;
  /** SIGKILL to the whole process group: no unload, no flush, like pulling the plug. */
  kill(): void;
  /** Closes politely (end of run). */
  close(): Promise<void>;
};

function devtoolsEndpoint(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`chromium printed no DevTools endpoint within ${timeoutMs} ms:\n${text.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stderr?.resume(); // keep draining so the pipe never blocks Chromium
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (${code ?? signal}) before DevTools was up:\n${text.slice(-2000)}`));
    });
  });
}

/** Starts Chromium on `profileDir` and opens `url` in its default (persistent) context. */
export async function launchBrowser(profileDir: string, url: string, onPage?: (page: Page) => void): Promise<RunningBrowser> {
  const { executablePath } = await pickBrowser();
  const child = spawn(executablePath, [...FLAGS, `--user-data-dir=${profileDir}`, 'about:blank'], {
    detached: true, // its own process group, so one kill reaches every Chromium process
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  try {
    const endpoint = await devtoolsEndpoint(child, 20_000);
    const browser = await chromium.connectOverCDP(endpoint);
    const context = browser.contexts()[0];
    const page = await context.newPage();
    onPage?.(page);
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { chaos?: unknown }).chaos !== undefined);
    await page.evaluate(() => (window as unknown as { chaos: { ready: Promise<void> } }).chaos.ready);
    return {
      process: child,
      browser,
      page,
      kill,
      async close() {
        await browser.close().catch(() => {});
        kill();
      },
    };
  } catch (error) {
    kill();
    throw error;
  }
}
