// The browser section of the bench: the page in bench/browser/ bundled by Vite, served by the
// stack, opened in Chromium (src/dev/browser.ts's pick), every request through the latency
// proxy. Local writes on real IndexedDB (floor, idle, draining), the enqueue cost at two queue
// lengths three times, and the peers (Replicache, TanStack DB + offline-transactions) beside
// verses-sync on the same page: their local write, a bulk import and a paced session.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Action } from '../load/session.ts';
import { DEFAULT_BATCH_CONFIG } from '../machines/types.ts';
import { launchChromium, pickBrowser } from '../src/dev/browser.ts';
import type { WebHandler } from '../src/stack/http.ts';
import type { BenchEnv } from './env.ts';
import type { BatchCosts, BenchApi, SyncRun, System } from './browser/protocol.ts';
import { pacedActions } from './pacedSession.ts';

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
  /** Idle time between seeding the queues and the first timed round. */
  enqueueSettleMs: number;
  /** Batches timed for the outbox's own cost of one batch (claim, settle), alone. */
  costBatches: number;
  importOps: number;
  pacedActions: Action[];
  pacedMs: number;
  /** The paced session is shorter than the Node bench's (it runs in real time here). */
  pacedShortened: boolean;
};

export type BrowserWrites = {
  browser: { source: string; version: string };
  rttMs: number;
  backlog: number;
  warmup: number;
  floor: Stats;
  idle: Stats;
  /** `drainedDuringWrites`: ops the server acknowledged between the first and the last timed write. */
  draining: Stats & { backlogLeftAtEnd: number; drainedDuringWrites: number };
  /** One batch's outbox work at the excellent window's size, alone: medians in ms over `batches`. */
  batchCost: { opsPerBatch: number; batches: number; writeMs: number; coalesceMs: number; claimMs: number; settleMs: number };
};

export type BrowserResult = BrowserWrites & {
  /** One entry per round; floorPerOpUs: the same writes on a queue of that length with no orchestrator. */
  enqueue: Array<{ levels: Array<{ queued: number; perOpUs: number; floorPerOpUs: number; p50Us: number; floorP50Us: number }>; ratio: number; floorRatio: number; p50Ratio: number }>;
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
      select r->>'id', r->'body' from jsonb_array_elements(${env.stack.sql.json([...byId.values()] as never)}) as r
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

type Call = <K extends keyof BenchApi>(name: K, ...args: Parameters<BenchApi[K]>) => Promise<Awaited<ReturnType<BenchApi[K]>>>;
type BenchPage = { call: Call; picked: { source: string; version: string }; close(): Promise<void> };

/** Builds the page, serves it from the stack and opens it in the picked Chromium. */
async function openBenchPage(env: BenchEnv, plan: BrowserPlan, progress?: (line: string) => void): Promise<BenchPage> {
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
  const close = async () => {
    await browser.close().catch(() => {});
    env.setFallback(null);
    await rm(work, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      // The page's own progress lines (long fills), for a runner that prints them.
      else if (progress && m.text().startsWith('[progress] ')) progress(m.text().slice('[progress] '.length));
    });
    await page.exposeFunction('newUser', async () => {
      const { userId, token } = await env.newUser();
      return { userId, token };
    });
    const query = new URLSearchParams({ url: env.proxy.url, anonKey: env.stack.anonKey });
    await page.goto(`${env.stack.url}${PAGE_PATH}index.html?${query}`);
    await page.waitForFunction(() => (window as unknown as { bench?: unknown }).bench !== undefined);
    // VERSES_BENCH_CPU_PROFILE=<folder>: each call's page CPU profile (Chrome's Profiler), to open in DevTools.
    const profileDir = process.env.VERSES_BENCH_CPU_PROFILE;
    const cdp = profileDir ? await page.context().newCDPSession(page) : undefined;
    if (cdp) await cdp.send('Profiler.enable');
    let calls = 0;
    const call: Call = async (name, ...args) => {
      if (cdp) await cdp.send('Profiler.start');
      try {
        return (await page.evaluate(([n, a]) => ((window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n as string](...(a as unknown[]))), [name, args] as const)) as never;
      } catch (error) {
        throw new Error(`browser bench: ${name} failed: ${(error as Error).message}\npage errors: ${errors.slice(-5).join('\n')}`);
      } finally {
        if (cdp && profileDir) {
          const { profile } = await cdp.send('Profiler.stop');
          await mkdir(profileDir, { recursive: true });
          await writeFile(path.join(profileDir, `${++calls}-${name}.cpuprofile`), JSON.stringify(profile));
        }
      }
    };
    return { call, picked: { source: picked.source, version: picked.version }, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function localWrites(page: BenchPage, plan: BrowserPlan, step: (task: string) => void): Promise<BrowserWrites> {
  const { call } = page;
  const floor = statsOf((await call('floor', plan.writes, plan.warmup)).samples);
  step('browser: floor');
  const idle = statsOf((await call('idle', plan.writes, plan.warmup)).samples);
  step('browser: idle');
  const d = await call('draining', plan.backlog, plan.writes, plan.warmup);
  const draining = { ...statsOf(d.samples), backlogLeftAtEnd: d.backlogLeftAtEnd, drainedDuringWrites: d.drainedDuringWrites };
  step('browser: draining');
  const opsPerBatch = DEFAULT_BATCH_CONFIG.excellent.size;
  const costs: BatchCosts = await call('batchCosts', plan.costBatches, opsPerBatch);
  const med = (xs: number[]) => statsOf(xs).p50;
  const batchCost = { opsPerBatch, batches: plan.costBatches, writeMs: med(costs.writeMs), coalesceMs: med(costs.coalesceMs), claimMs: med(costs.claimMs), settleMs: med(costs.settleMs) };
  step('browser: batch cost');
  return { browser: page.picked, rttMs: plan.rttMs, backlog: plan.backlog, warmup: plan.warmup, floor, idle, draining, batchCost };
}

/** The local writes alone (floor, idle, draining): `npm run bench -- --only browser-writes`. */
export async function benchBrowserWrites(env: BenchEnv, plan: BrowserPlan, step: (task: string) => void = () => {}): Promise<BrowserWrites> {
  const page = await openBenchPage(env, plan);
  try {
    return await localWrites(page, plan, step);
  } finally {
    await page.close();
  }
}

// Enqueue cost at two queue lengths, `plan.enqueueRepeats` rounds taking turns across them.
async function enqueueRuns(call: Call, plan: BrowserPlan, step: (task: string) => void): Promise<BrowserResult['enqueue']> {
  const rounds = await call('enqueue', plan.enqueueLevels, plan.enqueueSample, plan.enqueueRepeats, plan.enqueueSettleMs);
  step('browser: enqueue');
  return rounds.map((levels) => ({ levels, ratio: levels[1].perOpUs / levels[0].perOpUs, floorRatio: levels[1].floorPerOpUs / levels[0].floorPerOpUs, p50Ratio: levels[1].p50Us / levels[0].p50Us }));
}

/** Only the enqueue part of the browser section (`npm run bench -- --only enqueue`). */
export async function benchBrowserEnqueue(env: BenchEnv, plan: BrowserPlan, step: (task: string) => void = () => {}): Promise<BrowserResult['enqueue']> {
  const page = await openBenchPage(env, plan, step);
  try {
    return await enqueueRuns(page.call, plan, step);
  } finally {
    await page.close();
  }
}

/** Runs the whole browser section; `step` is called after each part. */
export async function benchBrowser(env: BenchEnv, plan: BrowserPlan, step: (task: string) => void = () => {}): Promise<BrowserResult> {
  const page = await openBenchPage(env, plan);
  const { call } = page;
  try {
    // 1. Local writes: the floor, idle, draining.
    const writes = await localWrites(page, plan, step);
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
    const enqueue = await enqueueRuns(call, plan, step);

    return {
      ...writes,
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
          versesSync: 'BatchSyncService defaults (network measured by its batches, network events); addVerseCards for the import',
        },
        localWrite,
        import: imports,
        paced,
        pacedMs: plan.pacedMs,
        pacedShortened: plan.pacedShortened,
      },
    };
  } finally {
    await page.close();
  }
}

// ---- plans, figures, the markdown ------------------------------------------------------------

/** Per bench mode. Full: ≥ 5,000 timed writes after 500 warm-up, 1,000 vs 100,000 queued, the
 * Node bench's 5-minute paced session. Quick and tiny: small counts, a shortened session. */
export const BROWSER_PLANS: Record<'full' | 'quick' | 'tiny', BrowserPlan> = {
  full: { writes: 5000, warmup: 500, backlog: 10_000, rttMs: 100, enqueueLevels: [1_000, 100_000], enqueueSample: 1000, enqueueRepeats: 3, enqueueSettleMs: 0, costBatches: 200, importOps: 1000, pacedActions: pacedActions(300_000), pacedMs: 300_000, pacedShortened: false },
  quick: { writes: 1000, warmup: 200, backlog: 10_000, rttMs: 100, enqueueLevels: [1_000, 100_000], enqueueSample: 200, enqueueRepeats: 3, enqueueSettleMs: 0, costBatches: 50, importOps: 1000, pacedActions: pacedActions(60_000), pacedMs: 60_000, pacedShortened: true },
  tiny: { writes: 40, warmup: 10, backlog: 300, rttMs: 20, enqueueLevels: [100, 300], enqueueSample: 20, enqueueRepeats: 3, enqueueSettleMs: 0, costBatches: 3, importOps: 40, pacedActions: pacedActions(8_000), pacedMs: 8_000, pacedShortened: true },
};

/** The local writes' JSON key, `localWriteBrowser` (beside the Node `localWrite`). */
export function browserWritesFigures(r: BrowserWrites) {
  return {
    localWriteBrowser: {
      floorP50Ms: r.floor.p50, floorP99Ms: r.floor.p99, floorMaxMs: r.floor.max,
      idleP50Ms: r.idle.p50, idleP99Ms: r.idle.p99, idleMaxMs: r.idle.max,
      drainingP50Ms: r.draining.p50, drainingP99Ms: r.draining.p99, drainingMaxMs: r.draining.max,
      writes: r.idle.writes, warmup: r.warmup, backlog: r.backlog, backlogLeftAfterDrainingWrites: r.draining.backlogLeftAtEnd,
      drainedDuringWrites: r.draining.drainedDuringWrites,
      rttMs: r.rttMs, browser: r.browser.version,
      batchCost: r.batchCost,
    },
  };
}

/** The JSON keys: `localWriteBrowser` (beside the Node `localWrite`), `enqueueBrowser`, `peers`. */
export function browserFigures(r: BrowserResult) {
  const spread = r.enqueue.map((e) => e.ratio);
  return {
    ...browserWritesFigures(r),
    enqueueBrowser: {
      levels: r.enqueue[0]?.levels.map((l) => l.queued) ?? [],
      runs: r.enqueue.map((e) => ({ perOpUs: e.levels.map((l) => l.perOpUs), p50Us: e.levels.map((l) => l.p50Us), floorPerOpUs: e.levels.map((l) => l.floorPerOpUs), floorP50Us: e.levels.map((l) => l.floorP50Us), ratio: e.ratio, p50Ratio: e.p50Ratio, floorRatio: e.floorRatio })),
      ratioMin: Math.min(...spread),
      ratioMax: Math.max(...spread),
    },
    peers: {
      versions: r.peers.versions,
      settings: r.peers.settings,
      rttMs: r.rttMs,
      localWrite: {
        versesSync: { p50Ms: r.idle.p50, p99Ms: r.idle.p99 },
        replicache: { p50Ms: r.peers.localWrite.replicache.p50, p99Ms: r.peers.localWrite.replicache.p99 },
        tanstack: { p50Ms: r.peers.localWrite.tanstack.p50, p99Ms: r.peers.localWrite.tanstack.p99 },
      },
      import: r.peers.import,
      paced: r.peers.paced,
      pacedMs: r.peers.pacedMs,
      pacedShortened: r.peers.pacedShortened,
    },
  };
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const x = (v: number, base: number) => (base > 0 && Number.isFinite(v) ? `${(v / base).toFixed(2)}×` : '–');
const perRequest = (s: SyncRun) => (s.requests > 0 ? s.opsAcked / s.requests : 0);

type Target = { target: string; value: string; met: boolean };

export function browserWritesTargets(r: BrowserWrites): Target[] {
  return [
    { target: 'Chromium localWrite idle p99 ≤ 1.5× floor p99', value: `${f(r.idle.p99, 2)} / ${f(r.floor.p99, 2)} ms = ${x(r.idle.p99, r.floor.p99)}`, met: r.idle.p99 <= 1.5 * r.floor.p99 },
    { target: 'Chromium localWrite draining p99 ≤ 1.5× idle p99', value: `${f(r.draining.p99, 2)} / ${f(r.idle.p99, 2)} ms = ${x(r.draining.p99, r.idle.p99)}`, met: r.draining.p99 <= 1.5 * r.idle.p99 },
  ];
}

/** The Chromium enqueue target: per-op at the longer queue ≤ 1.5× at the shorter, in every round. */
export function browserEnqueueTarget(enqueue: BrowserResult['enqueue']): Target {
  const spread = enqueue.map((e) => e.ratio);
  const [lo, hi] = enqueue[0]?.levels.map((l) => l.queued) ?? [0, 0];
  return { target: `Chromium enqueue per-op at ${f(hi)} ≤ 1.5× at ${f(lo)} queued (every round)`, value: spread.map((s) => `${s.toFixed(2)}×`).join(', '), met: spread.every((s) => s <= 1.5) };
}

export function browserTargets(r: BrowserResult): Target[] {
  return [...browserWritesTargets(r), browserEnqueueTarget(r.enqueue)];
}

/** The Chromium enqueue table: per-op µs at both queue lengths, one row per round. */
export function browserEnqueueMarkdown(enqueue: BrowserResult['enqueue'], mode: string): string[] {
  const md: string[] = [];
  const [lo, hi] = enqueue[0]?.levels.map((l) => l.queued) ?? [0, 0];
  md.push(`Enqueue in Chromium (service offline, queue seeded with the rows imports write, 10,000 a transaction): mean µs of ${mode !== 'full' ? 'a few hundred' : '1,000'} single \`addVerseCard\` writes at ${f(lo)} and at ${f(hi)} queued (one queue each), and the floor: the same writes on queues of those lengths with no orchestrator running; ${enqueue.length} rounds in this run, the four queues taking turns write by write, to show the spread. Mean per op, its median in brackets.`, '');
  md.push(`| round | per-op µs at ${f(lo)} | per-op µs at ${f(hi)} | ratio (of medians) | floor at ${f(lo)} | floor at ${f(hi)} | floor ratio |`, '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  enqueue.forEach((e, i) => md.push(`| ${i + 1} | ${f(e.levels[0].perOpUs, 1)} (${f(e.levels[0].p50Us, 1)}) | ${f(e.levels[1].perOpUs, 1)} (${f(e.levels[1].p50Us, 1)}) | ${e.ratio.toFixed(2)}× (${e.p50Ratio.toFixed(2)}×) | ${f(e.levels[0].floorPerOpUs, 1)} (${f(e.levels[0].floorP50Us, 1)}) | ${f(e.levels[1].floorPerOpUs, 1)} (${f(e.levels[1].floorP50Us, 1)}) | ${e.floorRatio.toFixed(2)}× |`));
  return md;
}

export function browserWritesMarkdown(r: BrowserWrites, mode: string): string[] {
  const md: string[] = [];
  const reduced = mode !== 'full';
  md.push(`## Local write latency in Chromium (real IndexedDB${reduced ? `, ${mode} run: ${f(r.idle.writes)} writes` : ''})`, '');
  md.push(`${r.browser.version} (${r.browser.source}), headless, one page bundled by Vite, served by the stack; requests through the latency proxy at ${r.rttMs} ms RTT. ` +
    `${f(r.idle.writes)} timed \`addVerseCard\` writes after ${f(r.warmup)} warm-up writes, one at a time. Floor: the same verse, card and outbox-op rows written by bare Dexie in one transaction, no orchestrator. ` +
    `Idle: BatchSyncService running on excellent, nothing queued. Draining: ${f(r.backlog)} ops queued offline start draining as the timed writes begin; ${f(r.draining.drainedDuringWrites)} were acknowledged between the first and the last timed write, ${f(r.draining.backlogLeftAtEnd)} were still queued after the last one.`, '');
  md.push('| figure | floor (bare Dexie) | verses-sync idle | verses-sync draining | idle ÷ floor | draining ÷ idle |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const k of ['p50', 'p99', 'max', 'mean'] as const) md.push(`| ${k} (ms) | ${f(r.floor[k], 2)} | ${f(r.idle[k], 2)} | ${f(r.draining[k], 2)} | ${x(r.idle[k], r.floor[k])} | ${x(r.draining[k], r.idle[k])} |`);
  const c = r.batchCost;
  md.push('', `What one batch of ${c.opsPerBatch} new cards (the excellent window) costs the outbox in this Chromium, alone (no service running, nothing else waiting): medians over ${f(c.batches)} batches. ` +
    'Each of these is one or more read-write transactions on the outbox; a local write that arrives meanwhile waits for it.', '');
  md.push('| one `addVerseCard` (ms) | coalesce check (ms) | claim (ms) | settle with the answer (ms) | claim + settle ÷ one write |', '| ---: | ---: | ---: | ---: | ---: |');
  md.push(`| ${f(c.writeMs, 2)} | ${f(c.coalesceMs, 2)} | ${f(c.claimMs, 2)} | ${f(c.settleMs, 2)} | ${x(c.claimMs + c.settleMs, c.writeMs)} |`);
  return md;
}

export function browserMarkdown(r: BrowserResult, mode: string): string[] {
  const md = browserWritesMarkdown(r, mode);
  const reduced = mode !== 'full';
  md.push('', ...browserEnqueueMarkdown(r.enqueue, mode));

  const p = r.peers;
  const names: Record<System, string> = { versesSync: 'verses-sync', replicache: `Replicache ${p.versions.replicache}`, tanstack: `TanStack DB ${p.versions['@tanstack/db']} + offline-transactions ${p.versions['@tanstack/offline-transactions']}` };
  md.push('', `## verses-sync vs peers (Chromium, the same page and rows, ${r.rttMs} ms RTT${reduced ? `, ${mode} run` : ''})`, '');
  md.push('Each figure, then its ratio to verses-sync\'s (lower is better for every row). Requests count every request a system sent (pushes, pulls, probes; not the browser\'s CORS preflights); ops per request = ops acknowledged ÷ requests. ' +
    `The peers' endpoints run in the stack's process and store what they are sent in one Postgres table, one statement a request; verses-sync's function verifies a JWT, validates and applies through apply_batch.`, '');
  const lw = (s: System) => (s === 'versesSync' ? r.idle : p.localWrite[s]);
  const cols = ['versesSync', 'replicache', 'tanstack'] as System[];
  md.push(`| figure | ${cols.map((c) => names[c]).join(' | ')} |`, `| --- | ${cols.map(() => '---:').join(' | ')} |`);
  const row = (name: string, get: (s: System) => number, digits = 0) =>
    md.push(`| ${name} | ${cols.map((c) => (c === 'versesSync' ? f(get(c), digits) : `${f(get(c), digits)} (${x(get(c), get('versesSync'))})`)).join(' | ')} |`);
  row('local write p50 (ms)', (s) => lw(s).p50, 2);
  row('local write p99 (ms)', (s) => lw(s).p99, 2);
  row(`import of ${f(p.import.versesSync.ops)}: requests`, (s) => p.import[s].requests);
  row(`import of ${f(p.import.versesSync.ops)}: ops per request`, (s) => perRequest(p.import[s]), 1);
  row(`import of ${f(p.import.versesSync.ops)}: ms until all acknowledged`, (s) => p.import[s].msToAcked);
  const minutes = p.pacedMs / 60_000;
  const session = `paced session (${f(minutes, minutes < 1 ? 2 : 0)} min${p.pacedShortened ? ', SHORTENED' : ''}, ${p.paced.versesSync.ops} ops)`;
  row(`${session}: requests`, (s) => p.paced[s].requests);
  row(`${session}: ops per request`, (s) => perRequest(p.paced[s]), 2);
  row(`${session}: s from the first write until all acknowledged`, (s) => p.paced[s].msToAcked / 1000, 1);
  row(`${session}: s after the last write until all acknowledged`, (s) => p.paced[s].msAfterLastWrite / 1000, 1);
  md.push('', `What a peer cannot do here: Replicache's \`mutate\` resolves once the change is in its in-memory store (it persists to IndexedDB later, in the background), so its local-write figure is not a durable write; verses-sync's and TanStack's are (TanStack's is timed until the transaction is in its IndexedDB outbox). ` +
    'Neither peer batches a stream of separate writes into fewer requests on purpose: Replicache pushes what is pending 10 ms after a write (and pulls to learn it was applied); TanStack sends each transaction on its own, one at a time. A bulk import is one mutator call / one transaction for them, one `addVerseCards` call for verses-sync.', '');
  md.push('Settings:', '');
  for (const c of cols) md.push(`- ${names[c]}: ${p.settings[c]}`);
  if (p.pacedShortened) md.push('', `The paced session runs in real time in the browser, so this ${mode} run shortens it to ${f(minutes, minutes < 1 ? 2 : 0)} min (the full run: 5 min, as the Node section's); the three systems run it at the same time on the page.`);
  return md;
}
