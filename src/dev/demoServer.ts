// What `npm start` serves: the local stack with the demo page and the dev endpoints on the
// gateway's own origin, so one URL has the page, the function and the dev panel.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startStack, type Stack, type StackOptions } from '../stack/index.ts';
import { REPO_ROOT } from '../stack/migrate.ts';
import { createDevEndpoints, withDevEndpoints, type DevUser } from './devEndpoints.ts';
import { createFaultInjector, type FaultInjector } from './faults.ts';
import { serveStatic } from './staticFiles.ts';

export const DEMO_ROOT = path.join(REPO_ROOT, 'src', 'demo');
export const DEMO_OUT_DIR = path.join(REPO_ROOT, '.data', 'demo');

/** Builds the demo page with Vite into `outDir` (a child process: Vite is ES modules only). */
export function buildDemo(outDir: string = DEMO_OUT_DIR, log: (line: string) => void = () => {}): Promise<void> {
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const args = [vite, 'build', '--config', path.join(DEMO_ROOT, 'vite.config.mts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const output: string[] = [];
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      text.split('\n').filter(Boolean).forEach((line) => log(`[vite] ${line}`));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output.join('')}`))));
  });
}

export type DemoOptions = Omit<StackOptions, 'wrapFunction' | 'fallback'> & {
  /** Where the built page is (built there first unless `build` is false). */
  outDir?: string;
  build?: boolean;
  /** The dev users the page offers (default DEV_USERS); tests give each test its own. */
  users?: readonly DevUser[];
};

export type Demo = {
  /** The one URL: the page, `/functions/v1/...` and `/dev/...`. */
  url: string;
  stack: Stack;
  faults: FaultInjector;
  stop(): Promise<void>;
};

/** Builds the page, starts the stack and serves the page and dev endpoints beside the function. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const { outDir = DEMO_OUT_DIR, build = true, users, ...stackOptions } = options;
  const log = options.log ?? (() => {});
  const faults = createFaultInjector();
  const page = serveStatic(outDir);
  // The dev endpoints need the stack's keys, which exist only once it has started.
  let dev: ((req: Request) => Promise<Response | null>) | undefined;
  const started = Date.now();
  // The page is built while the database and Deno start.
  const [stackResult, buildResult] = await Promise.allSettled([
    startStack({
      ...stackOptions,
      wrapFunction: faults.wrap,
      fallback: (req) => (dev ? withDevEndpoints(dev, page)(req) : page(req)),
    }),
    build ? buildDemo(outDir, log).then(() => log(`demo page built in ${((Date.now() - started) / 1000).toFixed(1)} s`)) : Promise.resolve(),
  ]);
  if (buildResult.status === 'rejected') {
    if (stackResult.status === 'fulfilled') await stackResult.value.stop();
    throw buildResult.reason;
  }
  if (stackResult.status === 'rejected') throw stackResult.reason;
  const stack = stackResult.value;
  dev = createDevEndpoints({ jwtSecret: stack.jwtSecret, anonKey: stack.anonKey, faults, users });
  return { url: `${stack.url}/`, stack, faults, stop: () => stack.stop() };
}
