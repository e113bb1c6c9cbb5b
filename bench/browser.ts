// The browser section of the bench: the page in bench/browser/ bundled by Vite, served by the
// stack, opened in Chromium (src/dev/browser.ts's pick), every request through the latency
// proxy. Local writes on real IndexedDB (floor, idle, draining), the enqueue cost at two queue
// lengths three times, and the peers (Replicache, TanStack DB + offline-transactions) beside
// verses-sync on the same page: their local write, a bulk import and a paced session.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Action } from '../load/session.ts';
import { launchChromium, pickBrowser } from '../src/dev/browser.ts';
import type { WebHandler } from '../src/stack/http.ts';
import type { BenchEnv } from './env.ts';
import type { BenchApi, SyncRun, System } from './browser/protocol.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAGE_PATH = '/bench/';

export type Stats = { p50: number; p99: number; max: number; mean: number; writes: number };
export type PacedRun = SyncRun & { msAfterLastWrite: number };

export type BrowserPlan = {
  writes: number;
  warmup: number;
  backlog: number;
  rttMs: number;
  enqueueLevels: [number, number];
  enqueueSample: number;
  enqueueRepeats: number;
  importOps: number;
  pacedActions: Action[];
  pacedMs: number;
  /** The paced session is shorter than the Node bench's (it runs in real time here). */
  pacedShortened: boolean;
};

export type BrowserResult = {
  browser: { source: string; version: string };
  rttMs: number;
  backlog: number;
  warmup: number;
  floor: Stats;
  idle: Stats;
  draining: Stats & { backlogLeftAtEnd: number };
  enqueue: Array<{ levels: Array<{ queued: number; perOpUs: number }>; ratio: number }>;
  peers: {
    versions: Record<string, string>;
    settings: Record<string, string>;
    localWrite: Record<'replicache' | 'tanstack', Stats>;
    import: Record<System, SyncRun>;
    paced: Record<System, PacedRun>;
    pacedMs: number;
    pacedShortened: boolean;
  };
};

export function statsOf(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const mean = sorted.length === 0 ? 0 : sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0, mean, writes: sorted.length };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.wasm': 'application/wasm' };
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, x-replicache-requestid',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
};
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...CORS } });

async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: path.join(HERE, 'browser'),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, minify: false, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  });
}

type Row = { id: string; body: unknown };

/**
 * The peers' local endpoints, storing what they are sent in one Postgres table with one
 * multi-row statement a request (as verses-sync's function does its ledger): Replicache's
 * push and pull (protocol version 1: mutations applied in order per client, each once, the
 * last mutation id per client returned by pull) and the TanStack mutation function's POST.
 */
function peerEndpoints(env: BenchEnv) {
  const lastMutationIds = new Map<string, Map<string, number>>(); // clientGroupID → clientID → id
  const seenKeys = new Set<string>();
  let cookie = 0;
  const store = async (rows: Row[]) => {
    if (rows.length === 0) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    await env.stack.sql`insert into bench_peer_rows (id, body)
      select r->>'id', r->'body' from jsonb_array_elements(${JSON.stringify([...byId.values()])}::jsonb) as r
      on conflict (id) do update set body = excluded.body`;
  };
  type Mutation = { clientID: string; id: number; name: string; args: Record<string, unknown> & { card?: { id: string }; verse?: { id: string } } };
  const rowsOf = (group: string, m: Mutation): Row[] => {
    if (m.name === 'addVerseCard') return [{ id: `verse/${m.args.verse!.id}`, body: m.args.verse }, { id: `card/${m.args.card!.id}`, body: m.args.card }];
    if (m.name === 'importVerseCards') return (m.args as unknown as Array<{ card: { id: string }; verse: { id: string } }>).flatMap((a) => [{ id: `verse/${a.verse.id}`, body: a.verse }, { id: `card/${a.card.id}`, body: a.card }]);
    if (m.name === 'recordReview') return [{ id: `review/${String(m.args.id)}`, body: m.args }];
    return [{ id: `profile/${group}`, body: m.args }];
  };
  return async (pathname: string, req: Request): Promise<Response | null> => {
    if (!pathname.startsWith('/peer/')) return null;
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    if (req.method !== 'POST') return json({ error: 'POST only' }, 405);
    const body = (await req.json()) as Record<string, unknown>;
    if (pathname === '/peer/replicache/push') {
      if (body.pushVersion !== 1) return json({ error: 'VersionNotSupported', versionType: 'push' }, 200);
      const group = String(body.clientGroupID);
      const clients = lastMutationIds.get(group) ?? new Map<string, number>();
      lastMutationIds.set(group, clients);
      const rows: Row[] = [];
      for (const m of body.mutations as Mutation[]) {
        const last = clients.get(m.clientID) ?? 0;
        if (m.id <= last) continue; // already applied: a resend
        if (m.id > last + 1) break; // a gap: the client resends from the first missing one
        rows.push(...rowsOf(group, m));
        clients.set(m.clientID, m.id);
      }
      await store(rows);
      return json({});
    }
    if (pathname === '/peer/replicache/pull') {
      if (body.pullVersion !== 1) return json({ error: 'VersionNotSupported', versionType: 'pull' }, 200);
      const clients = lastMutationIds.get(String(body.clientGroupID)) ?? new Map<string, number>();
      return json({ cookie: ++cookie, lastMutationIDChanges: Object.fromEntries(clients), patch: [] });
    }
    if (pathname === '/peer/tanstack/mutate') {
      const { idempotencyKey, mutations } = body as { idempotencyKey: string; mutations: Array<{ type: string; key: string; collection: string; modified: unknown }> };
      if (!seenKeys.has(idempotencyKey)) {
        await store(mutations.map((m) => ({ id: `${m.collection.replace(/-[0-9a-f-]{36}$/, '')}/${m.key}`, body: m.modified })));
        seenKeys.add(idempotencyKey);
      }
      return json({ applied: mutations.length });
    }
    return json({ error: 'not found' }, 404);
  };
}

async function versionOf(pkg: string): Promise<string> {
  const file = path.join(HERE, '..', 'node_modules', ...pkg.split('/'), 'package.json');
  return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
}

/** Runs the whole browser section; `step` is called after each part. */
export async function benchBrowser(env: BenchEnv, plan: BrowserPlan, step: (task: string) => void = () => {}): Promise<BrowserResult> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'verses-bench-page-'));
  const outDir = path.join(work, 'page');
  await buildPage(outDir);
  await env.stack.sql`create table if not exists bench_peer_rows (id text primary key, body jsonb)`;
  const peers = peerEndpoints(env);
  const fallback: WebHandler = async (req) => {
    const { pathname } = new URL(req.url);
    const peer = await peers(pathname, req);
    if (peer) return peer;
    if (!pathname.startsWith(PAGE_PATH)) return new Response('not found', { status: 404 });
    const rel = path.normalize(pathname.slice(PAGE_PATH.length) || 'index.html').replace(/^(\.\.[/\\])+/, '');
    try {
      const body = await readFile(path.join(outDir, rel));
      return new Response(new Uint8Array(body), { headers: { 'content-type': TYPES[path.extname(rel)] ?? 'application/octet-stream' } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
  env.setFallback(fallback);
  env.proxy.rttMs = plan.rttMs;
  const picked = await pickBrowser();
  // Timers of a headless page are not throttled, but say so: the bench needs them on time.
  const browser = await launchChromium({ extraArgs: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.exposeFunction('newUser', async () => {
      const { userId, token } = await env.newUser();
      return { userId, token };
    });
    const query = new URLSearchParams({ url: env.proxy.url, anonKey: env.stack.anonKey });
    await page.goto(`${env.stack.url}${PAGE_PATH}index.html?${query}`);
    await page.waitForFunction(() => (window as unknown as { bench?: unknown }).bench !== undefined);
    const call = async <K extends keyof BenchApi>(name: K, ...args: Parameters<BenchApi[K]>): Promise<Awaited<ReturnType<BenchApi[K]>>> => {
      try {
        return (await page.evaluate(([n, a]) => ((window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n as string](...(a as unknown[]))), [name, args] as const)) as Awaited<ReturnType<BenchApi[K]>>;
      } catch (error) {
        throw new Error(`browser bench: ${name} failed: ${(error as Error).message}\npage errors: ${errors.slice(-5).join('\n')}`);
      }
    };

    // 1. Local writes: the floor, idle, draining.
    const floor = statsOf((await call('floor', plan.writes, plan.warmup)).samples);
    step('browser: floor');
    const idle = statsOf((await call('idle', plan.writes, plan.warmup)).samples);
    step('browser: idle');
    const d = await call('draining', plan.backlog, plan.writes, plan.warmup);
    const draining = { ...statsOf(d.samples), backlogLeftAtEnd: d.backlogLeftAtEnd };
    step('browser: draining');

    // 2. The peers: local writes, the import, the paced session (the three at once, in real time).
    const localWrite = {
      replicache: statsOf((await call('peerWrites', 'replicache', plan.writes, plan.warmup)).samples),
      tanstack: statsOf((await call('peerWrites', 'tanstack', plan.writes, plan.warmup)).samples),
    };
    step('browser: peers local writes');
    const refs = Array.from({ length: plan.importOps }, (_, i) => `Psalm ${1 + (i % 150)}:${1 + Math.floor(i / 150)}`);
    const imports = {} as Record<System, SyncRun>;
    for (const s of ['versesSync', 'replicache', 'tanstack'] as System[]) imports[s] = await call('importRun', s, refs);
    step('browser: imports');
    const [pv, pr, pt] = await Promise.all((['versesSync', 'replicache', 'tanstack'] as System[]).map((s) => call('pacedRun', s, plan.pacedActions)));
    const paced = { versesSync: pv, replicache: pr, tanstack: pt } as Record<System, PacedRun>;
    step('browser: paced sessions');

    // 3. Enqueue cost at two queue lengths, three times.
    const enqueue: BrowserResult['enqueue'] = [];
    for (let i = 0; i < plan.enqueueRepeats; i++) {
      const levels = await call('enqueue', plan.enqueueLevels, plan.enqueueSample);
      enqueue.push({ levels, ratio: levels[1].perOpUs / levels[0].perOpUs });
      step('browser: enqueue');
    }

    return {
      browser: { source: picked.source, version: picked.version },
      rttMs: plan.rttMs,
      backlog: plan.backlog,
      warmup: plan.warmup,
      floor,
      idle,
      draining,
      enqueue,
      peers: {
        versions: {
          replicache: await versionOf('replicache'),
          '@tanstack/db': await versionOf('@tanstack/db'),
          '@tanstack/offline-transactions': await versionOf('@tanstack/offline-transactions'),
          'verses-sync': (JSON.parse(await readFile(path.join(HERE, '..', 'package.json'), 'utf8')) as { version: string }).version,
        },
        settings: {
          replicache: 'defaults (IndexedDB store, pushDelay 10 ms, pullInterval 60 s), TEST_LICENSE_KEY; a pull after each answered push stands in for the server\'s poke; an import is one mutator call',
          tanstack: 'startOfflineExecutor defaults (IndexedDB outbox, FIFO, one transaction per request), localOnly collections; a write is one offline transaction, timed until it is in the outbox; an import is one transaction',
          versesSync: 'BatchSyncService defaults (real probe, network events); addVerseCards for the import',
        },
        localWrite,
        import: imports,
        paced,
        pacedMs: plan.pacedMs,
        pacedShortened: plan.pacedShortened,
      },
    };
  } finally {
    await browser.close().catch(() => {});
    env.setFallback(null);
    await rm(work, { recursive: true, force: true });
  }
}
