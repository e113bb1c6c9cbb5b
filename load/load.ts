// The load run: one stack (real Postgres from DATABASE_URL, the function under Deno as
// deployed), then for each N the per-op path and verses-sync, each N users at once.
import { DEFAULT_BATCH_CONFIG, DEFAULT_LATENCY_BUDGET, type Quality } from '../machines/types.ts';
import { startStack, type Stack } from '../src/stack/index.ts';
import { measureCeiling, type CeilingResult } from './ceiling.ts';
import { childPids } from './monitor.ts';
import { REFERENCE_COUNT, referenceOf, SESSION, type SessionShape } from './session.ts';
import { runStep, type StepResult, type WrittenOp } from './step.ts';
import type { PathName } from './users.ts';

export type LoadMode = 'full' | 'quick' | 'tiny';

/** Child processes that host a large step's users: one per core of these 2-core machines. */
const HOSTS = 2;

/** `burst`: verses-sync users that all act at the same instant, to make the function shed load. */
/** `ceilingSec`: how long each closed-loop ceiling measurement runs (none when absent). */
export type LoadPlan = { users: number[]; session: SessionShape; drainMs: number; burst?: number; ceilingSec?: number };

export const PLANS: Record<LoadMode, LoadPlan> = {
  // Sessions of 2 minutes: several 30 s budgets each, so the batches a study session makes are measured.
  full: { users: [50, 1_000], session: { ...SESSION, durationMs: 120_000 }, drainMs: 45_000, burst: 1_000, ceilingSec: 10 },
  quick: { users: [5, 25], session: { ...SESSION, durationMs: 60_000, rampMs: 2_000 }, drainMs: 45_000, burst: 1_000, ceilingSec: 4 },
  // The drain outlasts the idle gap (10 s) after the last action, so the last batch is in it.
  tiny: { users: [3], session: { ...SESSION, durationMs: 5_000, rampMs: 1_000, gapMs: [500, 1_500] }, drainMs: 25_000 },
};

export type LoadOptions = {
  mode: LoadMode;
  databaseUrl?: string;
  runtime?: 'deno' | 'node';
  quality?: Quality;
  /** Overrides the mode's N steps. */
  users?: number[];
  /** Overrides the mode's burst step size (0: none). */
  burst?: number;
  paths?: PathName[];
  seed?: number;
  /** Steps of more users than this run them in child processes (default 200). */
  oneProcessUpTo?: number;
  /** Child processes hosting the users of a step of N users (default: 2 beyond oneProcessUpTo, else none). */
  hostsFor?: (users: number, path: PathName) => number;
  /** Users reach the Deno function directly (default) or through the stack's Node gateway. */
  via?: 'direct' | 'gateway';
  log?: (line: string) => void;
  /** Called with every op written, before the stack (and its isolated database) goes away. */
  check?: (stack: Stack, written: WrittenOp[]) => Promise<void>;
};

export type LoadFigures = {
  mode: LoadMode;
  generatedAt: string;
  runtime: 'deno' | 'node';
  via: 'direct' | 'gateway';
  database: string;
  quality: Quality;
  /** p95 enqueue-to-ack bound both paths are held to: the latency budget of 'normal' and 'high' ops. */
  boundMs: number;
  maxUsers: Record<PathName, number>;
  /** N steps a path skipped after it stopped carrying its load. */
  skipped: Array<{ path: PathName; users: number }>;
  steps: StepResult[];
  /**
   * The server alone: closed loops of each path's request shape straight at the function, and
   * the users that rate would carry at the per-user request rate the steps measured.
   */
  ceiling: Array<CeilingResult & { projectedUsers: number | null; fullBatch?: boolean }>;
  /** The burst step (not part of maxUsers): how 429s and the retries after them spread. */
  burst: StepResult | null;
  durationSec: number;
  cores: number;
};

/** Runs every step of the plan and returns the figures; never throws for a saturated path. */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const log = options.log ?? (() => {});
  const plan = PLANS[options.mode];
  const quality = options.quality ?? 'excellent';
  const runtime = options.runtime ?? 'deno';
  const paths = options.paths ?? ['perOp', 'versesSync'];
  // A study session's bound is the latency budget (enqueue → acknowledged), for both paths.
  const boundMs = DEFAULT_LATENCY_BUDGET.normal;
  const started = Date.now();
  let denoOrigin: string | undefined;
  const stack = await startStack({
    databaseUrl: options.databaseUrl,
    isolateDatabase: true,
    runtime,
    log: (line) => {
      // The Deno function says where it listens; users may talk to it without the local gateway.
      const port = /verse-operations listening on (\d+)/.exec(line)?.[1];
      if (port) denoOrigin = `http://127.0.0.1:${port}`;
      log(`stack: ${line}`);
    },
  });
  try {
    // Users pick verses from one catalogue: warm it so the first adds do not race to create it.
    await stack.sql`insert into public.verses (reference, translation)
      select r, 'ESV' from unnest(${Array.from({ length: REFERENCE_COUNT }, (_, i) => referenceOf(i))}::text[]) as r on conflict do nothing`;
    const functionPid = runtime === 'deno' ? childPids(process.pid, 'deno')[0] : undefined;
    if (runtime === 'deno' && !functionPid) log('warning: the Deno function process was not found; its CPU is not measured');
    const direct = (options.via ?? 'direct') === 'direct' && denoOrigin !== undefined;
    const env = {
      // Deno.serve answers on any path, so supabase-js's /functions/v1/verse-operations reaches it.
      url: direct ? denoOrigin! : stack.url,
      anonKey: stack.anonKey,
      tokenFor: (userId: string) => stack.tokenFor(userId, { expiresIn: 3600 }),
      sql: stack.sql,
      functionPid,
      log,
    };
    const oneProcessUpTo = options.oneProcessUpTo ?? 200;
    const clientFor = (_users: number) => 'full' as const;
    // Both paths of a step get the same generator, so neither is limited by it sooner.
    const hostsFor = options.hostsFor ?? ((users: number) => (users > oneProcessUpTo ? HOSTS : 0));
    const steps: StepResult[] = [];
    const skipped: LoadFigures['skipped'] = [];
    const saturated = new Set<PathName>();
    const written: WrittenOp[] = [];
    for (const users of options.users ?? plan.users) {
      for (const path of paths) {
        if (saturated.has(path)) {
          skipped.push({ path, users });
          continue;
        }
        const step = await runStep(
          env,
          { path, users, quality, client: clientFor(users), session: plan.session, drainMs: plan.drainMs, boundMs, seed: options.seed ?? 9, hosts: hostsFor(users, path) },
          options.check ? written : undefined,
        );
        steps.push(step);
        log(
          `${path} × ${users}: ${step.carried ? 'carried' : 'NOT carried'}; p95 ${step.latencyMs.p95 ?? '∞'} ms, ` +
            `${step.requestsPerSec.toFixed(1)} req/s, ${step.opsPerSec.toFixed(1)} ops/s, 429 ${step.status.shed429}, 5xx ${step.status.server5xx}, ` +
            `net ${step.status.network} ${JSON.stringify(step.networkErrors)}, lost ${step.opsFailed + step.opsUnacked}/${step.ops}; fn ${step.server.functionCpuPct.toFixed(0)}% pg ${step.server.postgresCpuPct.toFixed(0)}% gen ${step.server.loadgenCpuPct.toFixed(0)}% lag p99 ${step.generatorLagP99Ms.toFixed(0)} ms; machine ${step.server.machineBusyPct.toFixed(0)}%`,
        );
        if (!step.carried) saturated.add(path);
      }
    }
    let burst: StepResult | null = null;
    const users = options.burst ?? plan.burst;
    if (users && paths.includes('versesSync')) {
      burst = await runStep(env, {
        path: 'versesSync',
        users,
        quality,
        client: clientFor(users),
        session: { ...plan.session, durationMs: 8_000, rampMs: 1 },
        drainMs: plan.drainMs,
        boundMs,
        seed: options.seed ?? 9,
        hosts: hostsFor(users, 'versesSync'),
      });
      log(`burst: versesSync × ${users} at one instant: 429 ${burst.status.shed429}, 5xx ${burst.status.server5xx}, retry gap p50 ${burst.retryGapMs.p50?.toFixed(0) ?? '–'} ms (min ${burst.retryGapMs.min?.toFixed(0) ?? '–'}, max ${burst.retryGapMs.max?.toFixed(0) ?? '–'}), lost ${burst.opsFailed + burst.opsUnacked}/${burst.ops}`);
    }
    const ceiling: LoadFigures['ceiling'] = [];
    if (plan.ceilingSec) {
      for (const shape of paths) {
        // The request shape and per-user rate of the path's largest carried step.
        const step = steps.filter((s) => s.path === shape && s.carried).sort((a, b) => b.users - a.users)[0];
        const opsPerRequest = shape === 'perOp' ? 1 : Math.max(1, Math.round(step?.opsPerRequest ?? 1));
        const result = await measureCeiling(env, shape, opsPerRequest, 32, plan.ceilingSec);
        const perUser = step ? step.requestsPerSec / step.users : 0;
        ceiling.push({ ...result, projectedUsers: perUser > 0 ? Math.floor(result.requestsPerSec / perUser) : null });
        log(`ceiling ${shape} (${opsPerRequest} op/request, 32 loops): ${result.requestsPerSec.toFixed(0)} req/s, p95 ${result.p95Ms.toFixed(0)} ms, 429 ${result.shed429}, failed ${result.failed}; fn ${result.server.functionCpuPct.toFixed(0)}% pg ${result.server.postgresCpuPct.toFixed(0)}%`);
      }
      if (paths.includes('versesSync')) {
        // Full batches of the quality: what users who fill their batches (imports, a backlog) would get.
        const size = DEFAULT_BATCH_CONFIG[quality].size;
        const result = await measureCeiling(env, 'versesSync', size, 32, plan.ceilingSec);
        ceiling.push({ ...result, projectedUsers: null, fullBatch: true });
        log(`ceiling versesSync (full batches of ${size}, 32 loops): ${result.requestsPerSec.toFixed(0)} req/s, ${result.opsPerSec.toFixed(0)} ops/s, p95 ${result.p95Ms.toFixed(0)} ms`);
      }
    }
    if (options.check) await options.check(stack, written);
    const maxUsers = Object.fromEntries(
      (['perOp', 'versesSync'] as PathName[]).map((p) => [p, Math.max(0, ...steps.filter((s) => s.path === p && s.carried).map((s) => s.users))]),
    ) as Record<PathName, number>;
    return {
      mode: options.mode,
      generatedAt: new Date().toISOString(),
      runtime,
      via: env.url === stack.url ? 'gateway' : 'direct',
      database: stack.database.kind,
      quality,
      boundMs,
      maxUsers,
      skipped,
      steps,
      ceiling,
      burst,
      durationSec: Math.round((Date.now() - started) / 1000),
      cores: (await import('node:os')).cpus().length,
    };
  } finally {
    await stack.stop();
  }
}
