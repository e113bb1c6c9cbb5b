// A real Chromium on its own persistent profile, launched by us (not by Playwright)
// so the runner holds its process group and can SIGKILL it like a power cut.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
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
  // Chromium's own errors on stderr: if a killed one comes back with its IndexedDB gone, its log says why.
  '--enable-logging=stderr',
  '--v=0',
];

export type RunningBrowser = {
  process: ChildProcess;
  browser: Browser;
  page: Page;
  /** SIGKILL to the whole process group: no unload, no flush, like pulling the plug. */
  kill(): void;
  /**
   * Resolves once no process of the group is left (a killed Chromium's processes take a while to
   * go on a busy machine). A browser started on the same profile before that would find the old
   * one's IndexedDB files still locked, which no power cut can do. After 10 s it stops waiting and
   * names the processes still there.
   */
  gone(): Promise<string[]>;
  /** Closes politely (end of run). */
  close(): Promise<void>;
  /** The last lines Chromium wrote to stderr (at most STDERR_LINES). */
  stderr(): string[];
};

const STDERR_LINES = 400;

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

/** The processes of group `pgid` still running (not zombies), as "name (state)"; empty once all are gone. */
async function liveInGroup(pgid: number): Promise<string[]> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return []; // ESRCH: the whole group is gone
  }
  if (process.platform !== 'linux') return ['(unknown)'];
  const live: string[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after its ')'.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(`${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))} (${fields[0]})`);
  }
  return live;
}

/** Starts Chromium on `profileDir` and opens `url` in its default (persistent) context. */
export async function launchBrowser(profileDir: string, url: string, onPage?: (page: Page) => void): Promise<RunningBrowser> {
  const { executablePath } = await pickBrowser();
  const child = spawn(executablePath, [...FLAGS, `--user-data-dir=${profileDir}`, 'about:blank'], {
    detached: true, // its own process group, so one kill reaches every Chromium process
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > STDERR_LINES) lines.splice(0, lines.length - STDERR_LINES);
  });
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  // (A zombie waiting to be reaped holds no files, so it counts as gone; after 10 s we stop waiting.)
  const gone = async (): Promise<string[]> => {
    if (child.pid === undefined) return [];
    const until = Date.now() + 10_000;
    for (;;) {
      const live = await liveInGroup(child.pid);
      if (live.length === 0 || Date.now() >= until) return live;
      await new Promise((resolve) => setTimeout(resolve, 10));
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
      gone,
      async close() {
        await browser.close().catch(() => {});
        kill();
      },
      stderr: () => [...lines, ...(partial ? [partial] : [])],
    };
  } catch (error) {
    kill();
    throw error;
  }
}
