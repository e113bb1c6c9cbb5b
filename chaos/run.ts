// `npm run chaos`: the chaos run of issue #6. Real Chromiums on persistent profiles
// write through dataService while a fault proxy breaks 30% of their requests and
// the runner SIGKILLs them at random moments; then an outage (every request answered
// 500 or dropped) while they keep writing; then the faults stop, the outboxes drain,
// and Postgres is compared with what the pages said they committed. The pages keep
// the product's default maxRetries: no transient fault may turn a change into a dead letter.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { startFaultProxy, seededRandom, type FaultProxy } from '../src/stack/faultProxy.ts';
import { startStack, type Stack } from '../src/stack/index.ts';
import { launchBrowser, type RunningBrowser } from './browser.ts';
import { check, installLedgerAudit, type Verdict } from './checker.ts';
import { startCorsRelay, type CorsRelay } from './corsRelay.ts';
import { Oracle, opsOf, type ClientOutcome } from './oracle.ts';
import type { ChaosApi, ChaosCommand, CommandOutcome, OutboxState } from './protocol.ts';

export type ChaosOptions = {
  /** Ops to commit across all clients (at least). */
  ops: number;
  /** Browser kills during the run (at least). */
  kills: number;
  seed: number;
  /** A real Postgres server (an isolated database on it); PGlite when absent. */
  databaseUrl?: string;
  /** Share of requests the proxy breaks while ops are issued. */
  faultRate?: number;
  /** Coalescing in the pages (the product's default: on). */
  coalesce?: boolean;
  /** How long the outboxes get to drain once faults stop. */
  drainTimeoutMs?: number;
  /** How long the outage phase lasts (every request answered 500 or dropped, writes continuing). */
  outageMs?: number;
  log?: (line: string) => void;
};

export type ChaosReport = {
  ops: number;
  clients: number;
  faultsInjected: number;
  crashes: number;
  lost: number;
  /** Kills after which Chromium deleted a profile's IndexedDB as corrupt (its log says so). */
  browserResets: number;
  /** Ops committed and not yet synced that went with those databases (see Verdict). */
  lostToBrowserReset: number;
  duplicated: number;
  reordered: number;
  foreignWrites: number;
  /** Dead letters left in the outboxes: every fault here is transient, so any is a failure. */
  deadLetters: number;
  /** Ops committed during the outage phase. */
  opsDuringOutage: number;
  drained: boolean;
};

export type ChaosResult = { report: ChaosReport; verdict: Verdict; seed: number; proxy: Pick<FaultProxy, 'log' | 'counts'> };

// The quick run's outage is 20 s, not 60: it runs inside a 180 s Jest test on a shared machine,
// next to the page build, 1,000 ops with kills and the drain. A 90 s outage under the product's
// default options is its own integration test (__tests__/integration/outage.test.ts), and the
// full run's outage is 60 s.
export const QUICK: Pick<ChaosOptions, 'ops' | 'kills' | 'outageMs'> = { ops: 1_000, kills: 4, outageMs: 20_000 };
export const FULL: Pick<ChaosOptions, 'ops' | 'kills' | 'outageMs'> = { ops: 10_000, kills: 24, outageMs: 60_000 };
/** Between two commands of one page during the outage: steady writes, not a flood of backlog. */
const OUTAGE_PACE_MS = 250;

/** True when the run found nothing wrong. */
export const passed = (r: ChaosReport): boolean =>
  r.lost === 0 && r.duplicated === 0 && r.reordered === 0 && r.foreignWrites === 0 && r.deadLetters === 0 && r.drained;

/** What Chromium logs when it deletes an IndexedDB it found corrupt on opening it. */
const RESET_LINE = /IndexedDB recovering from a corrupted \(and deleted\) database/;

const CHAOS_DIR = resolve(__dirname);
const PAGE_PATH = '/chaos/';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Card = { id: string; live: boolean };

type Client = {
  name: string;
  /** What the last killed Chromium of this client wrote to stderr. */
  killedStderr?: string[];
  userId: string;
  token: string;
  profileDir: string;
  relay: CorsRelay;
  random: () => number;
  browser: RunningBrowser | null;
  /** Resolves when the browser is up again after a kill. */
  up: Promise<RunningBrowser>;
  cards: Card[];
  /** Cards a kill may have deleted (the delete call was cut before it answered). */
  doubtful: Set<string>;
};

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** The next command of a client: the five op types with their real dependencies. */
function nextCommand(client: Client): ChaosCommand {
  const { random } = client;
  const live = client.cards.filter((c) => c.live);
  const r = random();
  const reference = () => `${pick(random, ['Psalm', 'John', 'Romans', 'Isaiah', 'Matthew'])} ${1 + Math.floor(random() * 150)}:${1 + Math.floor(random() * 40)}`;
  if (live.length === 0 || r < 0.2) {
    const n = random() < 0.2 ? 2 + Math.floor(random() * 3) : 1;
    return { kind: 'createCards', references: Array.from({ length: n }, reference) };
  }
  if (r < 0.6) return { kind: 'review', cardId: pick(random, live).id, correct: random() < 0.7 };
  if (r < 0.75) return { kind: 'alias', cardId: pick(random, live).id, alias: `alias ${Math.floor(random() * 1e6)}` };
  if (r < 0.87) {
    return {
      kind: 'profile',
      patch: {
        displayName: `reader ${Math.floor(random() * 1e4)}`,
        translation: pick(random, ['ESV', 'KJV', 'NIV', 'NASB']),
        dailyGoal: 1 + Math.floor(random() * 50),
      },
    };
  }
  // Half the deletes hit one of the newest cards, often still queued or on the wire.
  const target = random() < 0.5 ? pick(random, live.slice(-3)) : pick(random, live);
  return { kind: 'delete', cardId: target.id };
}

function applyOutcome(client: Client, command: ChaosCommand, outcome: CommandOutcome, oracle: Oracle): void {
  if (outcome.ok) {
    oracle.record(client.name, client.userId, outcome.ops);
    if (command.kind === 'createCards') for (const op of outcome.ops) if (op.cardId) client.cards.push({ id: op.cardId, live: true });
    if (command.kind === 'delete') for (const c of client.cards) if (c.id === command.cardId) c.live = false;
    return;
  }
  if ((outcome.code === 'CARD_DELETED' || outcome.code === 'CARD_NOT_FOUND') && 'cardId' in command) {
    for (const c of client.cards) if (c.id === command.cardId) c.live = false;
    if (!client.doubtful.has(command.cardId)) oracle.unexplainedRefusals.push({ client: client.name, cardId: command.cardId, code: outcome.code });
    return;
  }
  throw new Error(`${client.name}: ${command.kind} failed in the page: ${outcome.code}: ${outcome.message}`);
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** Bundles the client page with Vite into `outDir`. */
async function buildClient(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: join(CHAOS_DIR, 'client'),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, minify: false, target: 'es2022', reportCompressedSize: false },
  });
}

/** Serves the built page under /chaos/ (the stack's fallback: same origin for every client). */
function servePage(outDir: string) {
  return async (req: Request): Promise<Response> => {
    const { pathname } = new URL(req.url);
    if (!pathname.startsWith(PAGE_PATH)) return new Response('not found', { status: 404 });
    const rel = normalize(pathname.slice(PAGE_PATH.length) || 'index.html').replace(/^(\.\.[/\\])+/, '');
    try {
      const body = await readFile(join(outDir, rel));
      return new Response(new Uint8Array(body), { headers: { 'Content-Type': CONTENT_TYPES[extname(rel)] ?? 'application/octet-stream' } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
}

async function readOutbox(client: Client): Promise<OutboxState | null> {
  const b = client.browser;
  if (!b) return null;
  return b.page.evaluate(() => (window as unknown as { chaos: ChaosApi }).chaos.outbox()).catch(() => null);
}

/** Runs the chaos scenario and judges it; never throws for a product fault (the verdict says it). */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const random = seededRandom(options.seed);
  const work = await mkdtemp(join(tmpdir(), 'verses-chaos-'));
  const outDir = join(work, 'page');
  const cleanups: Array<() => Promise<unknown>> = [];
  const started = Date.now();
  const oracle = new Oracle();
  let crashes = 0;
  let stack: Stack | undefined;
  let proxy: FaultProxy | undefined;
  const clients: Client[] = [];
  try {
    await buildClient(outDir);
    stack = await startStack({
      databaseUrl: options.databaseUrl,
      isolateDatabase: options.databaseUrl !== undefined,
      runtime: 'node',
      fallback: servePage(outDir),
    });
    cleanups.push(() => stack!.stop());
    await installLedgerAudit(stack.sql);
    proxy = await startFaultProxy({ target: stack.url, seed: options.seed, rate: options.faultRate ?? 0.3, delayMs: 200 });
    cleanups.push(() => proxy!.close());
    log(`chaos: seed ${options.seed}, ${options.ops} ops, ${options.kills} kills, coalescing ${options.coalesce === false ? 'off' : 'on'}, ${options.databaseUrl ? 'PostgreSQL' : 'PGlite'}; stack ${stack.url}, proxy ${proxy.url}`);

    // Two users on one device each, and a third user on two devices.
    const users = [uuidFrom(random), uuidFrom(random), uuidFrom(random)];
    const plan = [
      { name: 'solo-1', userId: users[0] },
      { name: 'solo-2', userId: users[1] },
      { name: 'shared-a', userId: users[2] },
      { name: 'shared-b', userId: users[2] },
    ];
    for (const [i, p] of plan.entries()) {
      const relay = await startCorsRelay(proxy.url);
      cleanups.push(() => relay.close());
      const client: Client = {
        ...p,
        token: await stack.tokenFor(p.userId, { expiresIn: 24 * 3600 }),
        profileDir: join(work, `profile-${p.name}`),
        relay,
        random: seededRandom(options.seed * 31 + i + 1),
        browser: null,
        up: Promise.resolve(null as unknown as RunningBrowser),
        cards: [],
        doubtful: new Set(),
      };
      clients.push(client);
    }
    const pageUrl = (c: Client) =>
      `${stack!.url}${PAGE_PATH}index.html?` +
      new URLSearchParams({ url: c.relay.url, anonKey: stack!.anonKey, token: c.token, userId: c.userId, coalesce: options.coalesce === false ? '0' : '1' });
    const boot = async (c: Client) => {
      c.browser = await launchBrowser(c.profileDir, pageUrl(c), (page) =>
        page.on('pageerror', (error) => log(`${c.name}: page error: ${error.message}`)),
      );
      // After a kill the page must still hold every card it reported created.
      const cardIds = () => c.browser!.page.evaluate(() => (window as unknown as { chaos: ChaosApi }).chaos.cardIds());
      const present = new Set(c.cards.length > 0 ? await cardIds() : []);
      const missing = c.cards.filter((card) => !present.has(card.id));
      // Chromium's word that it deleted this profile's IndexedDB as corrupt (a kill can tear a
      // LevelDB write, and Chromium checks every record when it opens the database again). Its
      // stderr comes through a pipe: a line written while the page opened may still be on its way.
      const resetLine = () => c.browser!.stderr().find((line) => RESET_LINE.test(line));
      let reset = resetLine();
      if (!reset && missing.length > 0) {
        await sleep(500);
        reset = resetLine();
      }
      if (reset) {
        oracle.browserResets.push({ client: c.name, throughIndex: oracle.committedBy(c.name), chromiumSaid: reset.replace(/^\[[^\]]*\]\s*/, '') });
        log(`chaos: ${c.name}: Chromium deleted its IndexedDB as corrupt after the kill; what it had not synced is counted as lost to the browser, and the runner stops using its lost cards`);
      }
      const known = c.cards.length;
      if (reset) c.cards = c.cards.filter((card) => present.has(card.id));
      if (missing.length > 0) {
        log(`chaos: ${c.name} came back without ${missing.length} of the ${known} cards it had created (${present.size} cards in its IndexedDB)`);
        // Chromium's word on it: a backing store it judged corrupt is deleted and made anew.
        const said = (lines: string[]) => lines.filter((line) => /indexed|leveldb|corrupt|backing store|storage/i.test(line)).slice(-20);
        for (const line of said(c.killedStderr ?? [])) log(`chaos: ${c.name}, killed Chromium: ${line}`);
        for (const line of said(c.browser.stderr())) log(`chaos: ${c.name}, new Chromium: ${line}`);
        const files = await readdir(join(c.profileDir, 'Default', 'IndexedDB'), { recursive: true }).catch((error: Error) => [`(unreadable: ${error.message})`]);
        log(`chaos: ${c.name}'s IndexedDB directory now: ${files.join(', ')}`);
      }
      return c.browser;
    };
    cleanups.push(async () => {
      for (const c of clients) await c.browser?.close();
    });
    for (const c of clients) c.up = boot(c);
    await Promise.all(clients.map((c) => c.up));
    log(`chaos: ${clients.length} browsers up after ${Date.now() - started} ms`);

    // --- the op phase, with kills ---------------------------------------------
    let failure: unknown;
    const target = options.ops;
    let killsDone = options.kills === 0;
    // Clients keep writing until the last kill is done, so every kill lands on a busy page.
    const driving = clients.map(async (c) => {
      while ((oracle.ops.length < target || !killsDone) && failure === undefined) {
        const b = await c.up;
        const command = nextCommand(c);
        let outcome: CommandOutcome;
        try {
          outcome = await b.page.evaluate((cmd) => (window as unknown as { chaos: ChaosApi }).chaos.run(cmd), command);
        } catch (error) {
          if (c.browser === b) throw error; // the page failed on its own: a real error
          // Killed mid-call: it may have committed. Keep it out of the oracle, bound what it may add.
          oracle.inDoubt.push({ client: c.name, tokenUser: c.userId, command, maxOps: opsOf(command) });
          if (command.kind === 'delete') c.doubtful.add(command.cardId);
          continue;
        }
        const refusals = oracle.unexplainedRefusals.length;
        applyOutcome(c, command, outcome, oracle);
        if (oracle.unexplainedRefusals.length > refusals) {
          // Say what the page holds at that moment: one missing card, or a database emptied under it.
          const ids = await b.page.evaluate(() => (window as unknown as { chaos: ChaosApi }).chaos.cardIds()).catch(() => null);
          log(`chaos: ${c.name} refused card ${command.kind === 'createCards' || command.kind === 'profile' ? '' : command.cardId} (${outcome.ok ? '' : outcome.code}); its IndexedDB holds ${ids?.length ?? 'unknown'} cards, the runner knows ${c.cards.length}`);
        }
      }
    });
    const killing = (async () => {
      for (let k = 1; k <= options.kills && failure === undefined; k++) {
        const threshold = Math.floor((target * k) / (options.kills + 1));
        while (oracle.ops.length < threshold && failure === undefined) await sleep(10);
        const victim = pick(random, clients);
        const b = await victim.up;
        const inFlight = random() < 0.6;
        if (inFlight) {
          // Right after this client's request reached the proxy: a batch is on the wire.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => done(), 3_000);
            const off = victim.relay.onPost(() => done());
            function done() {
              clearTimeout(timer);
              off();
              resolve();
            }
          });
          await sleep(random() * 40);
        }
        victim.browser = null;
        b.kill();
        victim.killedStderr = b.stderr();
        const killedAt = Date.now();
        crashes++;
        log(`chaos: kill ${crashes} ${victim.name} (${inFlight ? 'batch in flight' : 'random moment'}) at ${oracle.ops.length} ops`);
        const downMs = 100 + random() * 700;
        // Back up after the down time, and never before every process of the killed one is gone:
        // two Chromiums on one profile at once is no power cut (the new one finds the old one's
        // IndexedDB still locked).
        victim.up = Promise.all([sleep(downMs), b.gone()]).then(([, left]) => {
          const goneMs = Date.now() - killedAt;
          if (left.length > 0) log(`chaos: ${victim.name}: after ${goneMs} ms these killed processes were still there: ${left.join(', ')}`);
          else if (goneMs > downMs + 50) log(`chaos: ${victim.name}'s killed processes took ${goneMs} ms to go (down time ${Math.round(downMs)} ms)`);
          return boot(victim);
        });
        await victim.up;
      }
      killsDone = true;
    })();
    const progress = setInterval(() => {
      const counts = proxy!.counts();
      const faults = Object.entries(counts).reduce((n, [k, v]) => n + (k === 'pass' ? 0 : v), 0);
      log(`chaos: ${oracle.ops.length} ops, ${crashes} kills, ${proxy!.log.length} requests, ${faults} faults, ${Math.round((Date.now() - started) / 1000)} s`);
    }, 5_000);
    cleanups.push(async () => clearInterval(progress));
    await Promise.all([...driving, killing]).catch((error) => {
      failure = error;
    });
    if (failure !== undefined) throw failure;

    // --- the outage: every request answered 500 or dropped, the pages keep writing ---
    const outageMs = options.outageMs ?? FULL.outageMs!;
    const opsBeforeOutage = oracle.ops.length;
    proxy.setOutage(true);
    log(`chaos: outage for ${Math.round(outageMs / 1000)} s (every request answered 500 or dropped), writes continue`);
    const outageEnds = Date.now() + outageMs;
    await Promise.all(
      clients.map(async (c) => {
        while (Date.now() < outageEnds) {
          const b = await c.up;
          const command = nextCommand(c);
          applyOutcome(c, command, await b.page.evaluate((cmd) => (window as unknown as { chaos: ChaosApi }).chaos.run(cmd), command), oracle);
          await sleep(OUTAGE_PACE_MS);
        }
      }),
    );
    proxy.setOutage(false);
    const opsDuringOutage = oracle.ops.length - opsBeforeOutage;
    log(`chaos: outage over after ${opsDuringOutage} ops written during it`);

    // --- faults stop; the outboxes drain ---------------------------------------
    proxy.setRate(0);
    const drainDeadline = Date.now() + (options.drainTimeoutMs ?? 60_000);
    let outboxes: Array<OutboxState | null> = [];
    for (;;) {
      outboxes = await Promise.all(clients.map(readOutbox));
      const settled = outboxes.every((o) => o !== null && o.queued + o.inFlight === 0);
      if (settled || Date.now() > drainDeadline) break;
      await sleep(250);
    }
    clearInterval(progress);
    log(`chaos: faults stopped; outboxes ${outboxes.map((o, i) => `${clients[i].name}=${o ? `${o.queued}q/${o.inFlight}f/${o.dead.length}d` : 'down'}`).join(' ')} after ${Math.round((Date.now() - started) / 1000)} s`);

    const outcomes: ClientOutcome[] = clients.map((c, i) => ({ name: c.name, userId: c.userId, outbox: outboxes[i] }));
    const verdict = await check(stack.sql, oracle, outcomes);
    const counts = proxy.counts();
    const report: ChaosReport = {
      ops: oracle.ops.length,
      clients: clients.length,
      faultsInjected: Object.entries(counts).reduce((n, [k, v]) => n + (k === 'pass' ? 0 : v), 0),
      crashes,
      lost: verdict.lost,
      browserResets: oracle.browserResets.length,
      lostToBrowserReset: verdict.lostToBrowserReset,
      duplicated: verdict.duplicated,
      reordered: verdict.reordered,
      foreignWrites: verdict.foreignWrites,
      deadLetters: outboxes.reduce((n, o) => n + (o?.dead.length ?? 0), 0),
      opsDuringOutage,
      drained: verdict.drained,
    };
    const log_ = [...proxy.log];
    return { report, verdict, seed: options.seed, proxy: { log: log_, counts: () => counts } };
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((e) => log(`chaos: cleanup: ${(e as Error).message}`));
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

function parseArgs(argv: string[]) {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const base = quick ? QUICK : FULL;
  return {
    ops: Number(value('--ops') ?? base.ops),
    kills: Number(value('--kills') ?? base.kills),
    seed: Number(value('--seed') ?? Math.floor(Math.random() * 2 ** 31)),
    json: value('--json'),
    coalesce: !argv.includes('--no-coalesce'),
    outageMs: Number(value('--outage-ms') ?? base.outageMs),
    drainTimeoutMs: quick ? 45_000 : 120_000,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const result = await runChaos({ ops: args.ops, kills: args.kills, seed: args.seed, coalesce: args.coalesce, outageMs: args.outageMs, databaseUrl: process.env.DATABASE_URL, drainTimeoutMs: args.drainTimeoutMs });
  const json = JSON.stringify(result.report, null, 2);
  console.log(json);
  if (args.json) await writeFile(args.json, `${json}\n`);
  const { evidence } = result.verdict;
  for (const note of evidence.notes) console.error(`note: ${note}`);
  for (const reset of evidence.browserResets) console.error(`browser reset: ${reset}`);
  if (!passed(result.report)) {
    const logFile = join(tmpdir(), `verses-chaos-proxy-log-${result.seed}.json`);
    await writeFile(logFile, JSON.stringify({ seed: result.seed, counts: result.proxy.counts(), log: result.proxy.log }, null, 1));
    console.error(`chaos FAILED (replay: npm run chaos -- --seed ${result.seed} --ops ${args.ops} --kills ${args.kills}${args.coalesce ? '' : ' --no-coalesce'}; the seed fixes users, ops and fault order, not timing)`);
    console.error(`fault proxy seed ${result.seed}; counts ${JSON.stringify(result.proxy.counts())}; log of ${result.proxy.log.length} requests in ${logFile}`);
    for (const [kind, lines] of Object.entries(evidence)) {
      if (kind === 'notes' || kind === 'browserResets') continue;
      for (const line of lines) console.error(`${kind}: ${line}`);
    }
    process.exitCode = 1;
  } else {
    console.error(`chaos passed (seed ${result.seed})`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(2);
  });
}
