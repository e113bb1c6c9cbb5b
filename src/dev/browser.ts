// The one place that decides which Chromium the e2e tests, the chaos run and the example app's
// test drive: Debian's when it is installed, else the one shipped inside @sparticuz/chromium, so a
// fresh machine needs no apt step. VERSES_SYNC_BROWSER=bundled forces the packaged one,
// VERSES_SYNC_BROWSER=/path names another.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
import { REPO_ROOT } from '../stack/migrate.ts';

const run = promisify(execFile);

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The project's own flags, for every browser it launches. @sparticuz/chromium's `args` are tuned
 * for serverless (one process, web security off) and would hide how a real tab behaves, so the
 * packaged binary gets these too (checked: it runs several pages with IndexedDB and Web Locks).
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export type BrowserSource = 'debian' | 'bundled' | 'named';
export type PickedBrowser = { source: BrowserSource; executablePath: string; version: string };

/** Set once a process has picked, so its children (Jest workers, the chaos runner) reuse the pick without printing it again. */
const PICKED_ENV = 'VERSES_SYNC_BROWSER_PICKED';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function bundledPackageDir(): string {
  return path.join(REPO_ROOT, 'node_modules', '@sparticuz', 'chromium');
}

/**
 * Unpacks the packaged Chromium into its own folder under the system's temporary folder (instant
 * once done). It unpacks into a private folder first and renames it into place, so two processes
 * starting at once never run a half-written binary.
 */
async function unpackBundled(): Promise<string> {
  const pkgDir = bundledPackageDir();
  const pkgJson = path.join(pkgDir, 'package.json');
  if (!existsSync(pkgJson)) {
    throw new Error(`No Chromium found: ${DEBIAN_CHROMIUM} is not installed and @sparticuz/chromium is missing from node_modules. Run npm install (or apt-get install chromium).`);
  }
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  const target = path.join(os.tmpdir(), `verses-sync-chromium-${version}`);
  const binary = path.join(target, 'chromium');
  if (isExecutable(binary)) return binary;
  const partial = `${target}.partial-${process.pid}`;
  // The package is ES modules only and reads import.meta.url: a plain Node child imports it
  // whatever module system the caller (Jest, tsx) runs in. Its TMPDIR decides where it unpacks.
  const entry = pathToFileURL(path.join(pkgDir, 'build', 'index.js')).href;
  const script = `const { default: c } = await import(${JSON.stringify(entry)}); process.stdout.write(await c.executablePath());`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: partial, NODE_OPTIONS: '' } });
  try {
    await rename(partial, target);
  } catch (error) {
    // Another process finished first: use its copy.
    await rm(partial, { recursive: true, force: true });
    if (!isExecutable(binary)) throw error;
  }
  return binary;
}

async function versionOf(executablePath: string): Promise<string> {
  const { stdout } = await run(executablePath, ['--version'], { timeout: 30_000 });
  return stdout.trim();
}

let picked: Promise<PickedBrowser> | undefined;

async function pick(): Promise<PickedBrowser> {
  const inherited = process.env[PICKED_ENV];
  if (inherited) return JSON.parse(inherited) as PickedBrowser;

  const wanted = process.env.VERSES_SYNC_BROWSER?.trim();
  let source: BrowserSource;
  let executablePath: string;
  if (wanted && wanted !== 'bundled') {
    if (!isExecutable(wanted)) {
      throw new Error(`VERSES_SYNC_BROWSER is ${wanted}, which is not an executable file. Point it at a Chromium binary, set it to "bundled", or unset it.`);
    }
    [source, executablePath] = ['named', wanted];
  } else if (wanted !== 'bundled' && isExecutable(DEBIAN_CHROMIUM)) {
    [source, executablePath] = ['debian', DEBIAN_CHROMIUM];
  } else {
    [source, executablePath] = ['bundled', await unpackBundled()];
  }
  const result: PickedBrowser = { source, executablePath, version: await versionOf(executablePath) };
  process.env[PICKED_ENV] = JSON.stringify(result);
  const why = { debian: "Debian's package", bundled: 'the one in @sparticuz/chromium', named: 'named by VERSES_SYNC_BROWSER' }[source];
  console.log(`Browser: ${result.version} (${why}, ${executablePath})`);
  return result;
}

/** The browser to drive, picked once per process tree; prints the choice and its version the first time. */
export function pickBrowser(): Promise<PickedBrowser> {
  picked ??= pick().catch((error) => {
    picked = undefined;
    throw error;
  });
  return picked;
}

/** Launches the picked Chromium through Playwright with the project's flags (plus `extraArgs`). */
export async function launchChromium(options: Omit<LaunchOptions, 'executablePath'> & { extraArgs?: string[] } = {}): Promise<Browser> {
  const { extraArgs = [], ...rest } = options;
  const { executablePath } = await pickBrowser();
  return chromium.launch({ ...rest, executablePath, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}
