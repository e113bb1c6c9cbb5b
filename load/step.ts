// One step of the load: N users of one path run their study sessions at once against the
// stack; the step measures what they saw and what the server spent.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type postgres from 'postgres';
import type { Quality } from '../machines/types.ts';
import { startMonitor, type ServerSample } from './monitor.ts';
import { Recorder, sharedNow, type OpRecord, type RequestRecord } from './recorder.ts';
import { studySession, type SessionShape } from './session.ts';
import {
  createPerOpUser,
  createVersesSyncUser,
  type ClientKind,
  type Identity,
  type LoadUser,
  type PathName,
  type UserEnv,
} from './users.ts';

export type StepPlan = {
  path: PathName;
  users: number;
  quality: Quality;
  /** verses-sync's client: the product's BatchSyncService. */
  client: ClientKind;
  session: SessionShape;
  /** Longest the step waits after the sessions end for outstanding ops. */
  drainMs: number;
  /** p95 enqueue-to-ack must stay under this for the step to count as carried. */
  boundMs: number;
  seed: number;
  /**
   * Child processes that host the users, split evenly (0 or absent: this process). One Node
   * event loop runs out of time before the server does; several use the machine's cores.
   */
  hosts?: number;
};

export type StepResult = {
  path: PathName;
  users: number;
  /** Which verses-sync client ran (per-op: always its own dual write). */
  client: ClientKind | 'dualWrite';
  quality: Quality;
  boundMs: number;
  /** From the first action to the last acknowledgement (or the drain deadline), s. */
  seconds: number;
  ops: number;
  opsAcked: number;
  /** Ops whose sync failed for good (per-op: its one request failed). */
  opsFailed: number;
  /** Ops still unacknowledged at the drain deadline. */
  opsUnacked: number;
  requests: number;
  requestsPerSec: number;
  opsPerSec: number;
  opsPerRequest: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** Sent → answered of the requests the function answered 200, as the clients saw them: the server's part of latencyMs. */
  requestMs: { p50: number | null; p95: number | null };
  status: { ok: number; shed429: number; server5xx: number; network: number; other4xx: number };
  /** Requests without an answer, by reason (e.g. the client's own timeout aborting them). */
  networkErrors: Record<string, number>;
  /** (failed + unacknowledged ops + 5xx + network errors) / ops */
  errorRate: number;
  carried: boolean;
  /**
   * Not carried, yet the server was mostly idle while this process's timers ran late: the
   * load generator, not the function or Postgres, was the limit of this step.
   */
  generatorBound: boolean;
  /** CPU of the function and Postgres per request, ms. */
  serverCpuMsPerRequest: number;
  /** Per user, the time from a 429's arrival to that user's next request (ms): 100 ms buckets, RETRY_GAP_CAP_MS and over in one. */
  retryGapHistogram: Array<{ fromMs: number; count: number }>;
  retryGapMs: { min: number | null; p50: number | null; max: number | null; samples: number };
  /** Requests sent per 250 ms of the step, and how many of them were shed. */
  timeline: Array<{ second: number; sent: number; shed: number }>;
  server: ServerSample;
  /** How late the generator's timers ran (p99, ms; the worst of its processes): high means the generator, not the server, was the limit. */
  generatorLagP99Ms: number;
  /** Processes the users ran in (1: this one; more: child processes beside it). */
  generatorProcesses: number;
  /** CPU of the busiest generator process, % of one core (server.loadgenCpuPct sums them all). */
  generatorBusiestCpuPct: number;
  setupSeconds: number;
  unmatchedAcks: number;
};

/** Retry gaps from this long on share the histogram's last bucket. */
export const RETRY_GAP_CAP_MS = 6_000;

/** An op a step wrote, for checking the database afterwards. */
export type WrittenOp = { path: PathName; userId: string; kind: string; localRecordId: string; acked: boolean };

export type StepEnv = {
  url: string;
  anonKey: string;
  tokenFor(userId: string): Promise<string>;
  sql: postgres.Sql;
  functionPid?: number;
  log(line: string): void;
};

/**
 * Not carried while the function and Postgres used under half a core, and either a generator
 * process was saturated (timers > 150 ms late or over 80% of a core) or the server answered the
 * requests within a tenth of the bound (p95): the time went on the clients' side, so the
 * generator, not the server, was the step's limit.
 */
export function isGeneratorBound(
  step: Pick<StepResult, 'carried' | 'generatorLagP99Ms' | 'server' | 'boundMs'> & { generatorBusiestCpuPct?: number; requestMs?: StepResult['requestMs'] },
): boolean {
  const { server } = step;
  const busiest = step.generatorBusiestCpuPct ?? server.loadgenCpuPct;
  const serverQuick = step.requestMs?.p95 != null && step.requestMs.p95 <= step.boundMs / 10;
  return !step.carried && (step.generatorLagP99Ms > 150 || busiest > 80 || serverQuick) && server.functionCpuPct + server.postgresCpuPct < 50;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return Number.isFinite(v) ? v : null;
}

async function inBatches<T>(count: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += width) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, k) => make(i + k)))));
  }
  return out;
}

function retryGaps(requests: RequestRecord[]): number[] {
  const byUser = new Map<number, RequestRecord[]>();
  for (const r of requests) byUser.set(r.user, [...(byUser.get(r.user) ?? []), r]);
  const gaps: number[] = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.sentAt - b.sentAt);
    list.forEach((r, i) => {
      if (r.status !== 429) return;
      const next = list.slice(i + 1).find((n) => n.sentAt >= r.endedAt);
      if (next) gaps.push(next.sentAt - r.endedAt);
    });
  }
  return gaps.sort((a, b) => a - b);
}

/** The users of a step one process hosts, and where they send. */
export type PartPlan = Pick<StepPlan, 'path' | 'client' | 'quality' | 'session' | 'seed' | 'drainMs'> & {
  url: string;
  anonKey: string;
  identities: Identity[];
};

/** What one process saw of its users in a step (times in ms since the step's shared start). */
export type PartResult = {
  ops: OpRecord[];
  requests: RequestRecord[];
  unmatchedAcks: number;
  /** The drain deadline passed with ops still unacknowledged. */
  drainAborted: boolean;
  /** When the part stopped waiting for acknowledgements. */
  endedAt: number;
  lagP99Ms: number;
  /** This process's CPU over the run, % of one core. */
  cpuPct: number;
};

export type Part = { users: LoadUser[]; recorder: Recorder; setupSeconds: number };

/** Creates a part's users (their databases, clients and services); not timed. */
export async function prepareUsers(plan: PartPlan): Promise<Part> {
  const recorder = new Recorder();
  const byIndex = new Map(plan.identities.map((identity) => [identity.index, identity]));
  const identity = (index: number) => {
    const found = byIndex.get(index);
    if (!found) throw new Error(`load: no identity for user ${index}`);
    return found;
  };
  const userEnv: UserEnv = { url: plan.url, anonKey: plan.anonKey, identity, recorder };
  const started = performance.now();
  const users = await inBatches(plan.identities.length, 50, (k) => {
    const index = plan.identities[k].index;
    return plan.path === 'perOp' ? createPerOpUser(userEnv, index) : createVersesSyncUser(userEnv, index, plan.quality);
  });
  return { users, recorder, setupSeconds: (performance.now() - started) / 1000 };
}

/** Runs the part's sessions from `startAt` (sharedNow's clock), then waits up to drainMs for their acks. */
export async function runUsers(part: Part, plan: PartPlan, startAt: number, log: (line: string) => void): Promise<PartResult> {
  const { users, recorder } = part;
  const early = startAt - sharedNow();
  if (early > 0) await new Promise((r) => setTimeout(r, early));
  recorder.restart(startAt);
  const cpuStart = process.cpuUsage();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const sessions = users.map(async (user) => {
    for (const action of studySession(user.index, plan.session, plan.seed)) {
      const wait = action.at - recorder.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await user.act(action).catch((error: Error) => log(`user ${user.index}: ${action.kind} failed locally: ${error.message}`));
    }
  });
  await Promise.all(sessions);
  const drain = new AbortController();
  const deadline = setTimeout(() => drain.abort(), plan.drainMs);
  await Promise.all(users.map((u) => u.settled(drain.signal)));
  // The answers of the last requests are read a moment after the outbox empties.
  while (recorder.outstanding > 0 && !drain.signal.aborted) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(deadline);
  const endedAt = recorder.now();
  recorder.close();
  lag.disable();
  const cpu = process.cpuUsage(cpuStart);
  return {
    ops: recorder.allOps(),
    requests: [...recorder.requests],
    unmatchedAcks: recorder.unmatchedAcks,
    drainAborted: drain.signal.aborted,
    endedAt,
    lagP99Ms: lag.percentile(99) / 1e6,
    cpuPct: (100 * (cpu.user + cpu.system)) / 1e3 / Math.max(1, endedAt),
  };
}

export async function closeUsers(part: Part): Promise<void> {
  await inBatches(part.users.length, 100, (i) => part.users[i].close().catch(() => undefined));
}

type HostMessage =
  | { type: 'ready'; setupSeconds: number }
  | { type: 'done'; result: PartResult }
  | { type: 'closed' }
  | { type: 'log'; line: string }
  | { type: 'error'; message: string };

/** A child process (load/host.ts) hosting a part of a step's users. */
function startHost(plan: PartPlan, log: (line: string) => void) {
  const child = fork(path.join(__dirname, 'host.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map<HostMessage['type'], (message: HostMessage) => void>();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiter of waiters.values()) waiter({ type: 'error', message: error.message });
  };
  child.on('message', (message: HostMessage) => {
    if (message.type === 'log') log(message.line);
    else if (message.type === 'error') fail(new Error(`load host: ${message.message}`));
    else waiters.get(message.type)?.(message);
  });
  child.on('exit', (code) => fail(new Error(`load host exited (code ${code}) before it finished`)));
  const expect = <T extends HostMessage['type']>(type: T, send?: object) =>
    new Promise<Extract<HostMessage, { type: T }>>((resolve, reject) => {
      if (failure) return reject(failure);
      waiters.set(type, (message) => {
        waiters.delete(type);
        if (message.type === 'error') reject(failure ?? new Error(message.message));
        else resolve(message as Extract<HostMessage, { type: T }>);
      });
      if (send) child.send(send);
    });
  const ready = expect('ready', { type: 'setup', plan });
  return {
    ready,
    run: (startAt: number) => expect('done', { type: 'run', startAt }),
    close: () => expect('closed', { type: 'close' }).catch(() => undefined),
    kill: () => child.kill(),
  };
}

/** Runs one step; users are created before the clock starts and closed after it stops. */
export async function runStep(env: StepEnv, plan: StepPlan, written?: WrittenOp[]): Promise<StepResult> {
  const identities: Identity[] = await inBatches(plan.users, 100, async (index) => {
    const userId = randomUUID();
    return { index, userId, token: await env.tokenFor(userId) };
  });
  const partOf = (ids: Identity[]): PartPlan => ({
    path: plan.path,
    client: plan.client,
    quality: plan.quality,
    session: plan.session,
    seed: plan.seed,
    drainMs: plan.drainMs,
    url: env.url,
    anonKey: env.anonKey,
    identities: ids,
  });
  const hosts = Math.min(plan.hosts ?? 0, plan.users);
  let parts: PartResult[];
  let server: ServerSample;
  let setupSeconds: number;
  const setupStarted = performance.now();
  if (hosts === 0) {
    const part = await prepareUsers(partOf(identities));
    setupSeconds = part.setupSeconds;
    env.log(`${plan.path} × ${plan.users}: users ready in ${setupSeconds.toFixed(1)} s; sessions of ${plan.session.durationMs / 1000} s`);
    // The clock of the step starts now; everything before was set-up.
    const monitor = startMonitor(env.sql, env.functionPid);
    const result = await runUsers(part, partOf(identities), sharedNow(), env.log);
    server = await monitor.stop();
    await closeUsers(part);
    parts = [result];
  } else {
    // Users dealt round-robin, so every host gets early and late starters alike.
    const started = Array.from({ length: hosts }, (_, h) => startHost(partOf(identities.filter((u) => u.index % hosts === h)), env.log));
    try {
      await Promise.all(started.map((host) => host.ready));
      setupSeconds = (performance.now() - setupStarted) / 1000;
      env.log(`${plan.path} × ${plan.users}: users ready in ${hosts} processes in ${setupSeconds.toFixed(1)} s; sessions of ${plan.session.durationMs / 1000} s`);
      const startAt = sharedNow() + 250;
      const monitor = startMonitor(env.sql, env.functionPid);
      parts = (await Promise.all(started.map((host) => host.run(startAt)))).map((message) => message.result);
      server = await monitor.stop();
      await Promise.all(started.map((host) => host.close()));
    } finally {
      for (const host of started) host.kill();
    }
    // This process only waited; the generator's CPU is all of its processes'.
    server = { ...server, loadgenCpuPct: server.loadgenCpuPct + parts.reduce((sum, p) => sum + p.cpuPct, 0) };
  }
  const generatorBusiestCpuPct = hosts === 0 ? server.loadgenCpuPct : Math.max(...parts.map((p) => p.cpuPct));
  const lagP99Ms = Math.max(...parts.map((p) => p.lagP99Ms));
  const ops = parts.flatMap((p) => p.ops);
  const requests = parts.flatMap((p) => p.requests).sort((a, b) => a.sentAt - b.sentAt);
  const userIdOf = new Map(identities.map((identity) => [identity.index, identity.userId]));
  for (const o of ops) written?.push({ path: plan.path, userId: userIdOf.get(o.user)!, kind: o.kind, localRecordId: o.localRecordId, acked: o.ackedAt !== undefined });
  const lastAck = Math.max(0, ...ops.map((o) => o.ackedAt ?? 0), ...requests.map((r) => r.endedAt), ...parts.filter((p) => p.drainAborted).map((p) => p.endedAt));
  const seconds = Math.max(0.001, lastAck / 1000);
  const latencies = ops.map((o) => (o.ackedAt !== undefined ? o.ackedAt - o.enqueuedAt : Infinity)).sort((a, b) => a - b);
  const opsAcked = ops.filter((o) => o.ackedAt !== undefined).length;
  const opsFailed = ops.filter((o) => o.ackedAt === undefined && o.failed !== undefined).length;
  const opsUnacked = ops.length - opsAcked - opsFailed;
  const status = { ok: 0, shed429: 0, server5xx: 0, network: 0, other4xx: 0 };
  const networkErrors: Record<string, number> = {};
  for (const r of requests) {
    if (r.status >= 200 && r.status < 300) status.ok++;
    else if (r.status === 429) status.shed429++;
    else if (r.status >= 500) status.server5xx++;
    else if (r.status === 0) {
      status.network++;
      networkErrors[r.error ?? 'unknown'] = (networkErrors[r.error ?? 'unknown'] ?? 0) + 1;
    }
    else status.other4xx++;
  }
  const gaps = retryGaps(requests);
  const histogram: StepResult['retryGapHistogram'] = [];
  for (const g of gaps) {
    const fromMs = Math.min(RETRY_GAP_CAP_MS, Math.floor(g / 100) * 100);
    const bucket = histogram.find((b) => b.fromMs === fromMs);
    if (bucket) bucket.count++;
    else histogram.push({ fromMs, count: 1 });
  }
  histogram.sort((a, b) => a.fromMs - b.fromMs);
  const timeline: StepResult['timeline'] = [];
  for (const r of requests) {
    const slot = Math.floor(r.sentAt / 250);
    while (timeline.length <= slot) timeline.push({ second: timeline.length / 4, sent: 0, shed: 0 });
    timeline[slot].sent++;
    if (r.status === 429) timeline[slot].shed++;
  }
  const errors = opsFailed + opsUnacked + status.server5xx + status.network;
  const latencyMs = { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
  const answered = requests.filter((r) => r.status === 200).map((r) => r.endedAt - r.sentAt).sort((a, b) => a - b);
  const requestMs = { p50: percentile(answered, 50), p95: percentile(answered, 95) };
  const carried = errors === 0 && latencyMs.p95 !== null && latencyMs.p95 <= plan.boundMs;
  const okOps = requests.filter((r) => r.status === 200).reduce((n, r) => n + r.ops, 0);
  return {
    path: plan.path,
    users: plan.users,
    client: plan.path === 'perOp' ? 'dualWrite' : plan.client,
    quality: plan.quality,
    boundMs: plan.boundMs,
    seconds,
    ops: ops.length,
    opsAcked,
    opsFailed,
    opsUnacked,
    requests: requests.length,
    requestsPerSec: requests.length / seconds,
    opsPerSec: opsAcked / seconds,
    opsPerRequest: status.ok ? okOps / status.ok : 0,
    latencyMs,
    requestMs,
    status,
    networkErrors,
    errorRate: ops.length ? errors / ops.length : 0,
    carried,
    generatorBound: isGeneratorBound({ carried, generatorLagP99Ms: lagP99Ms, server, generatorBusiestCpuPct, requestMs, boundMs: plan.boundMs }),
    serverCpuMsPerRequest: requests.length ? ((server.functionCpuPct + server.postgresCpuPct) * 10 * seconds) / requests.length : 0,
    retryGapHistogram: histogram,
    retryGapMs: { min: gaps[0] ?? null, p50: percentile(gaps, 50), max: gaps.at(-1) ?? null, samples: gaps.length },
    timeline,
    server,
    generatorLagP99Ms: lagP99Ms,
    generatorProcesses: hosts === 0 ? 1 : hosts,
    generatorBusiestCpuPct,
    setupSeconds,
    unmatchedAcks: parts.reduce((sum, p) => sum + p.unmatchedAcks, 0),
  };
}
