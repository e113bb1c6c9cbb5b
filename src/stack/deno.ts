// Runs the verse-operations function under real Deno, exactly as deployed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './migrate.ts';

export type DenoFunction = { origin: string; pid: number | undefined; stop(): Promise<void> };

export type DenoFunctionOptions = {
  name: string;
  env: Record<string, string>;
  log?: (line: string) => void;
  startTimeoutMs?: number;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The Deno binary the npm package `deno` brings. Spawned directly, never through
 * its bin.cjs launcher: killing the launcher would orphan the real process.
 */
export function denoExecutable(): string {
  const linked = path.join(REPO_ROOT, 'node_modules', 'deno', 'deno');
  if (existsSync(linked)) return linked;
  // The package's own installer links the platform binary when npm skipped its install script.
  const installer = require(path.join(REPO_ROOT, 'node_modules', 'deno', 'install_api.cjs')) as { runInstall(): string };
  return installer.runInstall();
}

/** Starts `deno run` on supabase/functions/<name>/index.ts and waits until it answers. */
export async function startDenoFunction(options: DenoFunctionOptions): Promise<DenoFunction> {
  const port = await freePort();
  const entry = path.join(REPO_ROOT, 'supabase', 'functions', options.name, 'index.ts');
  const child: ChildProcess = spawn(
    denoExecutable(),
    ['run', '--allow-net', '--allow-env', '--allow-read', '--no-prompt', entry],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        ...options.env,
        VERSE_OPERATIONS_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = options.log ?? (() => {});
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output.push(text);
    if (output.length > 50) output.shift();
    text.split('\n').filter(Boolean).forEach((line) => log(`[deno ${options.name}] ${line}`));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: number | null = null;
  // However this process ends (an uncaught error included), the child ends with it.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      process.removeListener('exit', killChild);
      resolve();
    }),
  );

  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== null) throw new Error(`deno exited (${exited}) before serving ${options.name}:\n${output.join('')}`);
    try {
      const res = await fetch(origin, { method: 'OPTIONS' });
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`deno did not serve ${options.name} within the timeout:\n${output.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    origin,
    pid: child.pid,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
