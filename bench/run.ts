// `npm run bench [-- --quick | --tiny] [--json FILE] [--only browser | browser-writes]`: the three
// write paths side by side, a markdown table (stdout and bench/results/latest.md), a chart, and
// the figures as JSON. `--only` runs the Chromium section alone (or only its local writes).
import 'fake-indexeddb/auto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import type { Quality } from '../machines/types.ts';
import { writeTimeChart, type ChartPoint } from './chart.ts';
import { benchEnqueue, type EnqueueResult } from './enqueue.ts';
import { startBenchEnv, type BenchEnv } from './env.ts';
import { benchLocalWrite, type LocalWriteResult } from './localWrite.ts';
import { runGrouped, runPerOp, runVersesSync, type PathName, type RunResult } from './paths.ts';
import { esvImportMarkdown, measureEsvImport } from './esv.ts';
import { benchServer, type ServerResult } from './server.ts';
import { allReferences, importWorkload, sessionWorkload } from './workloads.ts';
import { pacedActions, runPacedSession, type PacedResult, type SessionPath } from './pacedSession.ts';
import { RADIO_MODELS, radioCost } from './radio.ts';
import { writeTimeline } from './timeline.ts';
import { BROWSER_PLANS, benchBrowser, benchBrowserEnqueue, benchBrowserWrites, browserEnqueueMarkdown, browserEnqueueTarget, browserFigures, browserMarkdown, browserTargets, browserWritesFigures, browserWritesMarkdown, browserWritesTargets, type BrowserResult } from './browser.ts';

type Mode = 'full' | 'quick' | 'tiny';
type Comparison = { quality: Quality; rttMs: number } & Record<PathName, RunResult>;

const PLANS = {
  full: { rtts: [20, 100, 300], importQualities: ['excellent', 'poor'] as Quality[], importOps: 1000, perOpMaxOps: undefined as number | undefined,
    sessionQualities: ['poor', 'good', 'excellent'] as Quality[], sessionRtt: 100, pacedMs: 300_000, writes: 5000, warmup: 500, backlog: 10_000, localRtt: 100, serverOps: 20_000, enqueueLevels: [1_000, 10_000, 100_000], sampleWrites: 1000 },
  quick: { rtts: [100], importQualities: ['excellent'] as Quality[], importOps: 1000, perOpMaxOps: 100 as number | undefined,
    sessionQualities: ['excellent'] as Quality[], sessionRtt: 100, pacedMs: 300_000, writes: 2000, warmup: 300, backlog: 10_000, localRtt: 100, serverOps: 5_000, enqueueLevels: [1_000, 10_000, 100_000], sampleWrites: 300 },
  // For the smoke test: every key, tiny numbers (the names then say more than the figures).
  tiny: { rtts: [20], importQualities: ['excellent'] as Quality[], importOps: 60, perOpMaxOps: 10 as number | undefined,
    sessionQualities: ['excellent'] as Quality[], sessionRtt: 20, pacedMs: 60_000, writes: 100, warmup: 20, backlog: 1_000, localRtt: 20, serverOps: 200, enqueueLevels: [200, 400, 800], sampleWrites: 50 },
};
const HEADLINE_RTT = 100;

// `--only server`, `--only enqueue` (Node and Chromium), `--only browser` (the Chromium section) or
// `--only browser-writes` (its local writes) runs that section alone, for working on it.
const SECTIONS = ['server', 'enqueue', 'browser', 'browser-writes'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]) {
  const mode: Mode = argv.includes('--tiny') ? 'tiny' : argv.includes('--quick') ? 'quick' : 'full';
  const i = argv.indexOf('--json');
  const o = argv.indexOf('--only');
  const only = o >= 0 ? argv[o + 1] : undefined;
  if (only !== undefined && !SECTIONS.includes(only as Section)) throw new Error(`--only takes one of ${SECTIONS.join(', ')}; got '${only}'`);
  return { mode, json: i >= 0 ? argv[i + 1] : undefined, only: only as Section | undefined };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ratio = (x: number, base: number) => (base > 0 ? (x / base < 0.01 ? (x / base).toFixed(4) : (x / base).toFixed(3)) : '–');

type Target = { target: string; value: string; met: boolean };

function serverMarkdown(server: ServerResult): string[] {
  const md: string[] = [];
  md.push(`## Server apply throughput (CREATE_VERSE ops in batches of ${server.batchSize}, one batch at a time, no added latency)`, '');
  md.push(`Each path ran ${server.rounds} rounds of ${fmt(server.ops)} ops; within a round the paths took turns batch by batch (function, Deno, RPC, raw, then again), each path as its own user; ops/s is the median round, the rounds in brackets; ÷ raw is of the medians.`, '');
  const rounds = (xs: number[]) => xs.map((x) => fmt(x)).join(', ');
  md.push('| path | ops/s (rounds) | ÷ raw |', '| --- | ---: | ---: |');
  md.push(`| function over HTTP (JWT, JSON, zod, apply_batch RPC) | ${fmt(server.opsPerSec)} (${rounds(server.opsPerSecRounds)}) | ${ratio(server.opsPerSec, server.rawInsertOpsPerSec)} |`);
  md.push(`| function under Deno as deployed (posted straight to it, no gateway) | ${fmt(server.denoOpsPerSec)} (${rounds(server.denoOpsPerSecRounds)}) | ${ratio(server.denoOpsPerSec, server.rawInsertOpsPerSec)} |`);
  md.push(`| apply_batch RPC alone (the function's BatchStore, from this process) | ${fmt(server.rpcOpsPerSec)} (${rounds(server.rpcOpsPerSecRounds)}) | ${ratio(server.rpcOpsPerSec, server.rawInsertOpsPerSec)} |`);
  md.push(`| raw multi-row INSERT of the same card + ledger rows | ${fmt(server.rawInsertOpsPerSec)} (${rounds(server.rawInsertOpsPerSecRounds)}) | 1.000 |`);
  // Where one batch's time goes through the function (Node), each stage timed alone.
  const sp = server.split;
  md.push('', `Where a ${server.batchSize}-op batch's ${fmt(sp.totalMs, 1)} ms go through the function (Node; each stage timed alone in the bench's process, HTTP is the rest):`, '');
  md.push('| JWT | JSON parse | zod (body + ops) | RPC (postgres.js + database) | answer JSON | HTTP, body read, admission |', '| ---: | ---: | ---: | ---: | ---: | ---: |');
  md.push(`| ${[sp.jwtMs, sp.jsonParseMs, sp.checkMs, sp.rpcMs, sp.answerMs, sp.httpMs].map((ms) => `${fmt(ms, 2)} ms`).join(' | ')} |`);
  return md;
}

function serverTarget(server: ServerResult): Target {
  return { target: 'server opsPerSec ≥ 50% of raw INSERTs', value: `${fmt(server.opsPerSec)} / ${fmt(server.rawInsertOpsPerSec)} = ${fmt((100 * server.opsPerSec) / server.rawInsertOpsPerSec, 1)}%`, met: server.opsPerSec >= 0.5 * server.rawInsertOpsPerSec };
}

function enqueueMarkdown(enqueue: EnqueueResult): string[] {
  const md: string[] = [];
  md.push(`## Enqueue cost and memory (service offline, so everything stays queued)`, '');
  // Three rounds per level in this run, so the spread shows beside the median.
  md.push(`Per-op µs: the median of three rounds (each the mean of ${fmt(Math.floor(enqueue.sampleWrites / 3))} single \`addVerseCard\` writes; the rounds' means in brackets, then their medians; within a round the queues of every level and the floor's take turns write by write) once the queue holds that many ops (seeded with the rows imports write, 10,000 a transaction, then one real import of 1,000 where the level leaves room). Floor: the same writes through dataService with no BatchSyncService running. Bulk: that one import of 1,000 (\`addVerseCards\`) just below the level.`, '');
  md.push('| ops queued | per-op µs with orchestrator | per-op µs without (floor) | bulk import per-op µs |', '| ---: | ---: | ---: | ---: |');
  const rounds = (xs: number[]) => xs.map((x) => fmt(x, 1)).join(', ');
  for (const l of enqueue.levels) md.push(`| ${fmt(l.queued)} | ${fmt(l.perOpUs, 1)} (${rounds(l.perOpUsRounds)}; p50 ${rounds(l.p50UsRounds)}) | ${fmt(l.floorPerOpUs, 1)} (${rounds(l.floorPerOpUsRounds)}; p50 ${rounds(l.floorP50UsRounds)}) | ${l.bulkPerOpUs === null ? 'no room for one' : fmt(l.bulkPerOpUs, 1)} |`);
  md.push('', `Heap after gc with ${fmt(enqueue.levels[enqueue.levels.length - 1].queued)} ops queued: ${fmt(enqueue.heapMbWith, 1)} MB with the orchestrator, ${fmt(enqueue.heapMbWithout, 1)} MB without (fake-indexeddb's own storage); added by the orchestrator: **${fmt(enqueue.heapMbAdded, 1)} MB**.`);
  return md;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function enqueueTargets(enqueue: EnqueueResult): Target[] {
  const first = enqueue.levels[0];
  const last = enqueue.levels[enqueue.levels.length - 1];
  return [{ target: 'enqueue perOpUs100k ≤ 1.5× perOpUs1k', value: `${fmt(last.perOpUs, 1)} µs / ${fmt(first.perOpUs, 1)} µs = ${fmt(last.perOpUs / first.perOpUs, 2)}× (of the rounds' medians: ${fmt(median(last.p50UsRounds) / median(first.p50UsRounds), 2)}×)`, met: last.perOpUs <= 1.5 * first.perOpUs }];
}

const targetsMarkdown = (targets: Target[]) => ['## Targets', '', '| target | value | met |', '| --- | --- | --- |', ...targets.map((x) => `| ${x.target} | ${x.value} | ${x.met ? 'yes' : '**no**'} |`), ''];

// One section alone: its table and targets on stdout, its figures as JSON (no results files).
async function runSection(only: Section, env: BenchEnv, mode: Mode, json: string | undefined) {
  const plan = PLANS[mode];
  const md: string[] = [`# verses-sync bench, ${only} section only (${mode})`, '', `${new Date().toISOString()} · Postgres: ${env.stack.database.kind === 'server' ? 'real server (DATABASE_URL, isolated database)' : 'PGlite in-process'}`, ''];
  let figures: Record<string, unknown>;
  let targets: Target[];
  if (only === 'server') {
    await env.stack.sql`insert into public.verses (reference, translation)
      select r, 'ESV' from unnest(${allReferences()}::text[]) as r on conflict do nothing`;
    const server = await benchServer(env, { ops: plan.serverOps, batchSize: mode === 'tiny' ? 50 : 500 });
    md.push(...serverMarkdown(server), '');
    figures = { server };
    targets = [serverTarget(server)];
  } else if (only === 'browser' || only === 'browser-writes') {
    const log = (task: string) => process.stderr.write(`${task}\n`);
    if (only === 'browser') {
      const browser: BrowserResult = await benchBrowser(env, BROWSER_PLANS[mode], log);
      md.push(...browserMarkdown(browser, mode), '');
      figures = browserFigures(browser);
      targets = browserTargets(browser);
    } else {
      const writes = await benchBrowserWrites(env, BROWSER_PLANS[mode], log);
      md.push(...browserWritesMarkdown(writes, mode), '');
      figures = browserWritesFigures(writes);
      targets = browserWritesTargets(writes);
    }
  } else {
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const enqueue = await benchEnqueue(env, { levels: plan.enqueueLevels, sampleWrites: plan.sampleWrites, progress: log });
    const browserEnqueue = await benchBrowserEnqueue(env, BROWSER_PLANS[mode], log);
    md.push(...enqueueMarkdown(enqueue), '', ...browserEnqueueMarkdown(browserEnqueue, mode), '');
    figures = { enqueue, enqueueBrowser: browserEnqueue };
    targets = [...enqueueTargets(enqueue), browserEnqueueTarget(browserEnqueue)];
  }
  md.push(...targetsMarkdown(targets));
  process.stdout.write(`${md.join('\n')}\n`);
  if (json) await writeFile(json, `${JSON.stringify({ mode, only, database: env.stack.database.kind, generatedAt: new Date().toISOString(), ...figures, targets }, null, 2)}\n`);
}

async function main() {
  const { mode, json, only } = parseArgs(process.argv.slice(2));
  if (only) {
    const env = await startBenchEnv();
    try {
      await runSection(only, env, mode, json);
    } finally {
      await env.stop();
    }
    return;
  }
  const plan = PLANS[mode];
  const here = path.dirname(fileURLToPath(import.meta.url));
  const resultsDir = path.join(here, 'results');
  await mkdir(resultsDir, { recursive: true });

  const steps =
    plan.rtts.length * (1 + plan.importQualities.length * 2) + // per-op once per RTT, grouped and verses-sync per quality
    1 + plan.sessionQualities.length * 2 + 3 + 4 + 4 + 3 + 7 +
    6 + 1; // the browser section (its enqueue rounds are one call)
  // Without a terminal (a log file, CI) the bar still prints a line every 15 s.
  const bar = new cliProgress.SingleBar(
    { format: 'bench [{bar}] {value}/{total} {task}', hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 15_000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { task: 'starting the stack' });
  const tick = (task: string) => bar.increment(1, { task });
  const log: string[] = [];

  const env = await startBenchEnv();
  const started = Date.now();
  try {
    // The catalogue is shared: warm it so no path pays for first inserts the others do not.
    await env.stack.sql`insert into public.verses (reference, translation)
      select r, 'ESV' from unnest(${allReferences()}::text[]) as r on conflict do nothing`;

    // 1. Bulk import of 1,000 verses.
    const imports: Comparison[] = [];
    for (const rttMs of plan.rtts) {
      env.proxy.rttMs = rttMs;
      bar.update({ task: `import: per-op at ${rttMs} ms` });
      const perOp = await runPerOp(env, importWorkload(plan.importOps), { maxOps: plan.perOpMaxOps });
      tick(`import: per-op at ${rttMs} ms done`);
      for (const quality of plan.importQualities) {
        bar.update({ task: `import: grouped, ${quality}, ${rttMs} ms` });
        const grouped = await runGrouped(env, importWorkload(plan.importOps), quality);
        tick(`import: verses-sync, ${quality}, ${rttMs} ms`);
        const versesSync = await runVersesSync(env, importWorkload(plan.importOps), quality);
        tick(`import ${quality} ${rttMs} ms done`);
        imports.push({ quality, rttMs, perOp, grouped, versesSync });
      }
    }

    const partial = async (sections: Record<string, unknown>) => {
      if (json) await writeFile(json.replace(/(\.json)?$/, ".partial.json"), `${JSON.stringify({ mode, partial: true, ...sections }, null, 2)}\n`);
    };
    await partial({ importRuns: imports });

    // 2. A study session on each quality.
    env.proxy.rttMs = plan.sessionRtt;
    const sessions: Comparison[] = [];
    const sessionPerOp = await runPerOp(env, sessionWorkload());
    tick('session: per-op done');
    for (const quality of plan.sessionQualities) {
      const grouped = await runGrouped(env, sessionWorkload(), quality);
      tick(`session: grouped ${quality} done`);
      const versesSync = await runVersesSync(env, sessionWorkload(), quality);
      tick(`session: verses-sync ${quality} done`);
      sessions.push({ quality, rttMs: plan.sessionRtt, perOp: sessionPerOp, grouped, versesSync });
    }

    await partial({ importRuns: imports, session: sessions });

    // 2b. A paced study session (an action every 2–6 s) on a simulated clock, at the LTE-like 100 ms RTT.
    env.proxy.rttMs = 100;
    const actions = pacedActions(plan.pacedMs);
    const paced = {} as Record<SessionPath, PacedResult>;
    for (const p of ['perOp', 'grouped', 'versesSync'] as SessionPath[]) {
      bar.update({ task: `paced session: ${p}` });
      paced[p] = await runPacedSession(env, p, actions, plan.pacedMs);
      tick(`paced session: ${p} done`);
    }
    await partial({ importRuns: imports, session: sessions, paced });

    // 3. Local write latency.
    bar.update({ task: 'local writes' });
    const localWrite: LocalWriteResult = await benchLocalWrite(env, { writes: plan.writes, warmup: plan.warmup, rttMs: plan.localRtt, backlog: plan.backlog, onStep: () => tick('local writes') });

    await partial({ importRuns: imports, session: sessions, localWrite });

    // 4. Server apply throughput.
    const server: ServerResult = await benchServer(env, { ops: plan.serverOps, batchSize: mode === 'tiny' ? 50 : 500, onStep: () => tick('server throughput') });
    await partial({ importRuns: imports, session: sessions, localWrite, server });

    // 5. Enqueue cost and memory.
    const enqueue: EnqueueResult = await benchEnqueue(env, { levels: plan.enqueueLevels, sampleWrites: plan.sampleWrites, onStep: () => tick('enqueue') });
    // 6. ESV queries of the import, counted by the local ESV-compatible server.
    bar.update({ task: 'ESV queries of the import' });
    const esv = await measureEsvImport({ verses: plan.importOps, qualities: ['poor', 'good', 'excellent'], perOpMaxOps: plan.perOpMaxOps, onStep: () => tick('ESV queries') });

    // 7. The browser section (bench/browser.ts): local writes in Chromium, the peers, enqueue there.
    bar.update({ task: 'browser' });
    const browser: BrowserResult = await benchBrowser(env, BROWSER_PLANS[mode], tick);
    bar.update(steps, { task: 'done' });
    bar.stop();

    // Figures as JSON.
    const headline = imports.find((c) => c.quality === 'excellent' && c.rttMs === HEADLINE_RTT) ?? imports.find((c) => c.quality === 'excellent') ?? imports[0];
    const by = <K extends keyof RunResult>(c: Comparison, key: K) => ({ perOp: c.perOp[key], grouped: c.grouped[key], versesSync: c.versesSync[key] });
    const level = (i: number) => enqueue.levels[i];
    const figures = {
      mode,
      database: env.stack.database.kind,
      generatedAt: new Date().toISOString(),
      durationSec: Math.round((Date.now() - started) / 1000),
      import1000: {
        rttMs: headline.rttMs,
        quality: headline.quality,
        ops: plan.importOps,
        requests: by(headline, 'requests'),
        bytesSent: by(headline, 'bytesSent'),
        msToSynced: by(headline, 'msToSynced'),
        perOpExtrapolatedFrom: headline.perOp.extrapolatedFrom ?? null,
      },
      importRuns: imports,
      session: sessions,
      pacedSession: Object.fromEntries(Object.entries(paced).map(([k, v]) => [k, { ...v, timeline: undefined }])),
      localWrite: {
        idleP50Ms: localWrite.idle.p50,
        idleP99Ms: localWrite.idle.p99,
        drainingP50Ms: localWrite.draining.p50,
        drainingP99Ms: localWrite.draining.p99,
        floorP50Ms: localWrite.floorIdle.p50,
        floorP99Ms: localWrite.floorIdle.p99,
        floorDrainingP50Ms: localWrite.floorDraining.p50,
        floorDrainingP99Ms: localWrite.floorDraining.p99,
        writes: localWrite.idle.writes,
        drainingWrites: localWrite.draining.writes,
        backlog: plan.backlog,
        backlogLeftAfterDrainingWrites: localWrite.draining.backlogLeftAtEnd,
        rttMs: localWrite.rttMs,
      },
      server,
      enqueue: {
        perOpUs1k: level(0).perOpUs,
        perOpUs10k: level(1).perOpUs,
        perOpUs100k: level(2).perOpUs,
        floorPerOpUs1k: level(0).floorPerOpUs,
        floorPerOpUs10k: level(1).floorPerOpUs,
        floorPerOpUs100k: level(2).floorPerOpUs,
        heapMb100k: enqueue.heapMbAdded,
        heapMbWithOrchestrator: enqueue.heapMbWith,
        heapMbWithoutOrchestrator: enqueue.heapMbWithout,
        levels: enqueue.levels,
        sampleWrites: enqueue.sampleWrites,
      },
      ...browserFigures(browser),
      // Measured through each path against the local ESV-compatible server (section 6 below).
      esv,
      targets: [] as Array<{ target: string; value: string; met: boolean }>,
    };
    const t = figures.import1000;
    const target = (name: string, value: string, met: boolean) => figures.targets.push({ target: name, value, met });
    target('import1000 @100 ms: versesSync requests ≤ 1% of perOp', `${t.requests.versesSync} / ${t.requests.perOp} = ${ratio(t.requests.versesSync, t.requests.perOp)}`, t.requests.versesSync <= 0.01 * t.requests.perOp);
    target('import1000 @100 ms: versesSync ≥ 20× faster than perOp', `${fmt(t.msToSynced.perOp / t.msToSynced.versesSync, 1)}×`, t.msToSynced.perOp >= 20 * t.msToSynced.versesSync);
    target('import1000 @100 ms: versesSync ≥ 2× faster than grouped', `${fmt(t.msToSynced.grouped / t.msToSynced.versesSync, 1)}×`, t.msToSynced.grouped >= 2 * t.msToSynced.versesSync);
    const vs = paced.versesSync;
    const po = paced.perOp;
    target('paced session: versesSync ops per request ≥ 7.5 (probes counted)', `${fmt(vs.opsPerRequest, 2)} (${fmt(vs.opsPerBatchRequest, 2)} per batch request)`, vs.opsPerRequest >= 7.5);
    target('paced session: versesSync p95 enqueue → ack ≤ 30 s', `${fmt(vs.latencyMs.p95 / 1000, 1)} s`, vs.latencyMs.p95 <= 30_000);
    target('paced session: nothing lost', `${vs.opsAcked} / ${vs.ops} acked`, vs.opsAcked === vs.ops);
    target('paced session: versesSync LTE radio-active ≤ 40% of perOp', `${fmt(vs.radio.LTE.activeSPerHour)} / ${fmt(po.radio.LTE.activeSPerHour)} s per hour = ${fmt((100 * vs.radio.LTE.activeSPerHour) / po.radio.LTE.activeSPerHour, 1)}%`, vs.radio.LTE.activeSPerHour <= 0.4 * po.radio.LTE.activeSPerHour);
    const lw = figures.localWrite;
    target('localWrite idle p99 ≤ 2 ms', `${fmt(lw.idleP99Ms, 3)} ms (floor ${fmt(lw.floorP99Ms, 3)} ms)`, lw.idleP99Ms <= 2);
    target('localWrite draining p99 ≤ 1.5× idle p99', `${fmt(lw.drainingP99Ms, 3)} ms = ${fmt(lw.drainingP99Ms / lw.idleP99Ms, 2)}× idle`, lw.drainingP99Ms <= 1.5 * lw.idleP99Ms);
    figures.targets.push(serverTarget(server), ...enqueueTargets(enqueue));
    const e = figures.enqueue;
    for (const t of browserTargets(browser)) target(t.target, t.value, t.met);
    target('enqueue heapMb100k ≤ 50', `${fmt(e.heapMb100k, 1)} MB`, e.heapMb100k <= 50);

    // The table.
    const md: string[] = [];
    md.push(`# verses-sync bench (${mode}${mode !== 'full' ? ', reduced' : ''})`, '');
    md.push(`${figures.generatedAt} · Postgres: ${figures.database === 'server' ? 'real server (DATABASE_URL, isolated database)' : 'PGlite in-process'} · function run by Node · ` +
      `latency proxy on 127.0.0.1 adding the RTT per request (half each way, plus one RTT per new connection) · ${figures.durationSec} s`, '');
    md.push('Paths: **per-op** = the seed\'s dual write (local Dexie write, then one `functions.invoke` per op, awaited); ' +
      '**grouped** = the seed\'s queue (size/timeout per quality, one request per type group, groups in parallel); ' +
      '**verses-sync** = BatchSyncService + dataService, default configuration. Ratios are the path\'s figure ÷ per-op\'s.', '');
    const extrapolated = imports.some((c) => c.perOp.extrapolatedFrom);
    md.push(`## Bulk import of ${plan.importOps.toLocaleString('en-US')} verses`, '');
    if (extrapolated) md.push(`**per-op is EXTRAPOLATED** in this run: measured on the first ${imports[0].perOp.extrapolatedFrom} ops and scaled ×${plan.importOps / (imports[0].perOp.extrapolatedFrom ?? 1)} (requests, bytes, time). The full run measures all of them.`, '');
    md.push('per-op does not depend on the connection quality (it never batches): it is measured once per RTT and shown in both qualities\' rows.', '');
    md.push('| quality | RTT | figure | per-op | grouped | verses-sync | grouped ÷ per-op | verses-sync ÷ per-op |', '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const c of imports) {
      const row = (name: string, key: 'requests' | 'bytesSent' | 'msToSynced') =>
        md.push(`| ${c.quality} | ${c.rttMs} ms | ${name} | ${fmt(c.perOp[key])} | ${fmt(c.grouped[key])} | ${fmt(c.versesSync[key])} | ${ratio(c.grouped[key], c.perOp[key])} | ${ratio(c.versesSync[key], c.perOp[key])} |`);
      row('requests', 'requests');
      row('bytes sent', 'bytesSent');
      row('ms until all acked', 'msToSynced');
    }
    md.push('', `## Study session (10 adds, 3 aliases, 60 reviews, 2 profile updates, 1 delete = 76 ops, back to back) at ${plan.sessionRtt} ms RTT`, '');
    md.push('| quality | figure | per-op | grouped | verses-sync | grouped ÷ per-op | verses-sync ÷ per-op |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const c of sessions) {
      md.push(`| ${c.quality} | requests | ${fmt(c.perOp.requests)} | ${fmt(c.grouped.requests)} | ${fmt(c.versesSync.requests)} | ${ratio(c.grouped.requests, c.perOp.requests)} | ${ratio(c.versesSync.requests, c.perOp.requests)} |`);
      md.push(`| ${c.quality} | ms to synced | ${fmt(c.perOp.msToSynced)} | ${fmt(c.grouped.msToSynced)} | ${fmt(c.versesSync.msToSynced)} | ${ratio(c.grouped.msToSynced, c.perOp.msToSynced)} | ${ratio(c.versesSync.msToSynced, c.perOp.msToSynced)} |`);
      md.push(`| ${c.quality} | ops per batch | ${fmt(c.perOp.opsPerBatch, 1)} | ${fmt(c.grouped.opsPerBatch, 1)} | ${fmt(c.versesSync.opsPerBatch, 1)} | | |`);
      md.push(`| ${c.quality} | ops acked / op errors answered | ${c.perOp.opsAcked} / ${c.perOp.opErrors} | ${c.grouped.opsAcked} / ${c.grouped.opErrors} | ${c.versesSync.opsAcked} / ${c.versesSync.opErrors} | | |`);
    }
    md.push('', `## Paced study session (${fmt(plan.pacedMs / 60_000, 0)} min: an action every 2–6 s, 90% reviews, 10% new cards, one profile edit; ${vs.ops} ops) at 100 ms RTT, default options`, '');
    md.push('A simulated clock: the session\'s minutes pass in seconds; every request is real and sits on the timeline when it was sent, for as long as it took. ' +
      'per-op = one request per op at once; grouped = the seed\'s queue on excellent (20 ops or 2 s from the first); verses-sync = BatchSyncService with its defaults (latency budget 30 s, idle gap 10 s, the network measured by the round trips of its batches: no probe). ' +
      'Requests count every request, probes included; per hour = the session\'s figure scaled to an hour of the same study.', '');
    md.push('| figure | per-op | grouped | verses-sync | verses-sync ÷ per-op |', '| --- | ---: | ---: | ---: | ---: |');
    const prow = (name: string, get: (r: PacedResult) => number, digits = 0) =>
      md.push(`| ${name} | ${fmt(get(paced.perOp), digits)} | ${fmt(get(paced.grouped), digits)} | ${fmt(get(paced.versesSync), digits)} | ${ratio(get(paced.versesSync), get(paced.perOp))} |`);
    prow('requests (batches + probes)', (r) => r.requests);
    prow('ops per request', (r) => r.opsPerRequest, 2);
    prow('ops per batch request', (r) => r.opsPerBatchRequest, 2);
    prow('ops acked / ops', (r) => r.opsAcked / r.ops, 3);
    prow('p50 enqueue → ack (s)', (r) => r.latencyMs.p50 / 1000, 2);
    prow('p95 enqueue → ack (s)', (r) => r.latencyMs.p95 / 1000, 2);
    for (const m of RADIO_MODELS) {
      prow(`${m.name}: radio wake-ups per hour`, (r) => r.radio[m.name].wakeUpsPerHour);
      prow(`${m.name}: radio-active s per hour`, (r) => r.radio[m.name].activeSPerHour);
    }
    md.push('', 'Radio models (a battery proxy): requests that start within the tail of the previous one\'s end share a wake-up; a wake-up is on from its first start to its last end, plus the tail, plus the promotion. ' +
      'LTE after AT&T\'s ARO LTE profile: promotion 0.26 s (1.21 W), tail 10.1 s (1.06 W), about 11 J for an isolated request. 3G: tails of about 5 s and 12 s (17 s), promotion not modelled. WiFi: tail 0.25 s (0.40 W), promotion not modelled. ' +
      'Android\'s own guidance says a request every 15 s can keep the mobile radio on continuously, which is what per-op does here.', '');
    md.push(`![One paced session: ops, requests and the LTE radio](session-timeline${mode === 'full' ? '' : `-${mode}`}.svg)`, '');
    md.push('', '## Local write latency (`addVerseCard`, card + verse + outbox op in one Dexie transaction, fake-indexeddb)', '');
    md.push(`${lw.writes} timed writes after ${plan.warmup} warm-up writes, one at a time. Floor = the same card and op rows written by bare Dexie in one transaction (idle, and beside a bare loop that claims and settles the ${fmt(plan.backlog)}-op backlog in batches of 500 at the same RTT). ` +
      `Draining: the backlog (${fmt(plan.backlog)} ops queued offline) starts draining on excellent at ${lw.rttMs} ms RTT as the timed writes begin; ${fmt(lw.backlogLeftAfterDrainingWrites)} ops were still queued after the last timed write.`, '');
    md.push('| figure | verses-sync | bare Dexie floor | ÷ floor |', '| --- | ---: | ---: | ---: |');
    md.push(`| idle p50 (ms) | ${fmt(lw.idleP50Ms, 3)} | ${fmt(lw.floorP50Ms, 3)} | ${ratio(lw.idleP50Ms, lw.floorP50Ms)} |`);
    md.push(`| idle p99 (ms) | ${fmt(lw.idleP99Ms, 3)} | ${fmt(lw.floorP99Ms, 3)} | ${ratio(lw.idleP99Ms, lw.floorP99Ms)} |`);
    md.push(`| draining p50 (ms) | ${fmt(lw.drainingP50Ms, 3)} | ${fmt(lw.floorDrainingP50Ms, 3)} | ${ratio(lw.drainingP50Ms, lw.floorDrainingP50Ms)} |`);
    md.push(`| draining p99 (ms) | ${fmt(lw.drainingP99Ms, 3)} | ${fmt(lw.floorDrainingP99Ms, 3)} | ${ratio(lw.drainingP99Ms, lw.floorDrainingP99Ms)} |`);
    md.push('', ...serverMarkdown(server), '', ...enqueueMarkdown(enqueue), '');
    md.push(...browserMarkdown(browser, mode), '');
    md.push(esvImportMarkdown(figures.esv), '');
    const perOpSample = esv.rows.find((r) => r.path === 'perOp' && r.extrapolatedFrom)?.extrapolatedFrom;
    md.push(`Measured: each path imported ${fmt(esv.verses)} references new to the catalogue through the function, on a stack with the local ESV-compatible server, which counted the queries it answered (the function's ESV budget and the server's limits lifted for the run, so these are the queries each path asks for)${perOpSample ? `; per-op on ${fmt(perOpSample)} of them, scaled` : ''}. Minutes: from the first to the last query when every query waits for the ESV's sliding limits.`, '');
    md.push(...targetsMarkdown(figures.targets));
    const table = md.join('\n');
    process.stdout.write(`${table}\n`);
    if (mode !== 'tiny') {
      // The committed latest.md and chart are the last full run's; a quick run writes beside them.
      const suffix = mode === 'full' ? '' : `-${mode}`;
      await writeFile(path.join(resultsDir, `latest${suffix}.md`), `${table}\n`);
      const points: ChartPoint[] = imports.flatMap((c) =>
        (['perOp', 'grouped', 'versesSync'] as PathName[]).map((p) => ({ quality: c.quality, rttMs: c.rttMs, path: p, ms: c[p].msToSynced })),
      );
      const lte = RADIO_MODELS[0];
      await writeTimeline(path.join(resultsDir, `session-timeline${suffix}.svg`), `One paced study session (${fmt(plan.pacedMs / 60_000)} min, ${vs.ops} ops): requests and the LTE radio`, po.timeline.opsAtMs,
        (['perOp', 'grouped', 'versesSync'] as SessionPath[]).map((p) => ({ label: { perOp: 'per-op', grouped: 'grouped', versesSync: 'verses-sync' }[p], requests: paced[p].timeline.requests, radioOn: radioCost(paced[p].timeline.requests, lte).on })),
        plan.pacedMs + 40_000);
      await writeTimeChart(points, path.join(resultsDir, `time-to-synced${suffix}.svg`), `Bulk import of ${plan.importOps} verses: time to synced per RTT (${mode} run${extrapolated ? ', per-op extrapolated' : ''})`);
    }
    if (json) await writeFile(json, `${JSON.stringify(figures, null, 2)}\n`);
    void log;
  } finally {
    bar.stop();
    await env.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
