// A paced study session (an action every 2–6 s, as in load/session.ts) through each write path, on
// a simulated clock: the session's minutes pass in seconds, every request is real (stack, proxy,
// Postgres) and placed on the simulated timeline at the moment it was sent, lasting as long as it
// really took. verses-sync runs BatchSyncService with its default options; only xstate's clock and
// the queue's `now` are the simulated ones (every timer of the queue and batch machines honours them).
import WebSocket from 'ws';
import { SimulatedClock } from 'xstate';
import { studySession, type Action } from '../load/session.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService } from '../src/service/dataService.ts';
import { createSupabaseClient } from '../src/transport/supabaseClient.ts';
import type { OperationResult, OperationType } from '../supabase/functions/_shared/protocol.ts';
import type { BenchEnv } from './env.ts';
import { dropDb, freshDb, SEED_BATCH_CONFIG, SeedLocal, sendTyped } from './paths.ts';
import { RADIO_MODELS, radioCost, type Interval } from './radio.ts';
import type { Step } from './workloads.ts';

export type SessionPath = 'perOp' | 'grouped' | 'versesSync';

export type PacedRequest = Interval & { ops: number; method: string };

export type PacedResult = {
  path: SessionPath;
  sessionMs: number;
  ops: number;
  opsAcked: number;
  /** Every request: batches and probes. */
  requests: number;
  /** Requests that carried ops. */
  batchRequests: number;
  opsPerRequest: number;
  opsPerBatchRequest: number;
  latencyMs: { p50: number; p95: number; max: number };
  radio: Record<string, { wakeUpsPerHour: number; activeSPerHour: number; activeShare: number }>;
  timeline: { opsAtMs: number[]; requests: PacedRequest[] };
};

/** 5 minutes of session by default: users act every 2–6 s, 10% new cards, one profile edit. */
export function pacedActions(durationMs = 300_000, seed = 14): Action[] {
  return studySession(0, { durationMs, rampMs: 1, gapMs: [2_000, 6_000], addChance: 0.1 }, seed);
}

const stepOf = (a: Action): Step =>
  a.kind === 'add' ? { kind: 'add', ref: a.ref } : a.kind === 'review' ? { kind: 'review', card: a.card, correct: a.correct } : { kind: 'profile', patch: a.patch };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function summarize(path: SessionPath, sessionMs: number, ops: number, enqueuedAt: Map<string, number>, ackedAt: Map<string, number>, requests: PacedRequest[], opsAtMs: number[]): PacedResult {
  const latencies = [...ackedAt].map(([id, at]) => at - (enqueuedAt.get(id) ?? at));
  const hours = sessionMs / 3_600_000;
  const radio: PacedResult['radio'] = {};
  for (const model of RADIO_MODELS) {
    const cost = radioCost(requests, model);
    radio[model.name] = { wakeUpsPerHour: cost.wakeUps / hours, activeSPerHour: cost.activeS / hours, activeShare: Math.min(1, cost.activeS / (sessionMs / 1000)) };
  }
  const batches = requests.filter((r) => r.ops > 0).length;
  return {
    path,
    sessionMs,
    ops,
    opsAcked: ackedAt.size,
    requests: requests.length,
    batchRequests: batches,
    opsPerRequest: requests.length === 0 ? 0 : ackedAt.size / requests.length,
    opsPerBatchRequest: batches === 0 ? 0 : ackedAt.size / batches,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(0, ...latencies) },
    radio,
    timeline: { opsAtMs, requests },
  };
}

/** The seed's dual write: each action's request at once, awaited. */
async function runPerOpSession(env: BenchEnv, actions: Action[], sessionMs: number): Promise<PacedResult> {
  const { userId, client } = await env.newUser();
  const db = await freshDb();
  const local = new SeedLocal(db, userId);
  const requests: PacedRequest[] = [];
  const enqueuedAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  for (const action of actions) {
    for (const op of await local.apply(stepOf(action))) {
      enqueuedAt.set(op.id, action.at);
      const started = performance.now();
      const result = (await sendTyped(client, op.type, [op])).get(op.id);
      const endMs = action.at + (performance.now() - started);
      requests.push({ startMs: action.at, endMs, ops: 1, method: 'POST' });
      if (result?.success) ackedAt.set(op.id, endMs);
    }
  }
  await dropDb(db);
  return summarize('perOp', sessionMs, enqueuedAt.size, enqueuedAt, ackedAt, requests, actions.map((a) => a.at));
}

/** The seed's queue: `size` ops or `timeoutMs` after the first, one request per type group (in parallel). */
async function runGroupedSession(env: BenchEnv, actions: Action[], sessionMs: number): Promise<PacedResult> {
  const { userId, client } = await env.newUser();
  const db = await freshDb();
  const local = new SeedLocal(db, userId);
  const { size, timeoutMs } = SEED_BATCH_CONFIG.excellent;
  type Queued = { op: Awaited<ReturnType<SeedLocal['apply']>>[number]; retries: number };
  let queue: Queued[] = [];
  let timerAt: number | null = null;
  const requests: PacedRequest[] = [];
  const enqueuedAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const flush = async (at: number) => {
    timerAt = null;
    const batch = queue.splice(0, size);
    const groups = new Map<OperationType, Queued[]>();
    for (const q of batch) groups.set(q.op.type, [...(groups.get(q.op.type) ?? []), q]);
    await Promise.all(
      [...groups].map(async ([type, items]) => {
        const started = performance.now();
        const results = await sendTyped(client, type, items.map((i) => i.op));
        const endMs = at + (performance.now() - started);
        requests.push({ startMs: at, endMs, ops: items.length, method: 'POST' });
        for (const item of items) {
          if (results.get(item.op.id)?.success) ackedAt.set(item.op.id, endMs);
          else if (++item.retries < 3) queue.push(item); // the seed retries with a later batch
        }
      }),
    );
    if (queue.length >= size) await flush(at);
    else if (queue.length > 0) timerAt = at + timeoutMs;
  };
  for (const action of actions) {
    while (timerAt !== null && timerAt <= action.at) await flush(timerAt);
    for (const op of await local.apply(stepOf(action))) {
      enqueuedAt.set(op.id, action.at);
      queue.push({ op, retries: 0 });
      if (queue.length >= size) await flush(action.at);
      else timerAt ??= action.at + timeoutMs;
    }
  }
  while (timerAt !== null) await flush(timerAt);
  queue = [];
  await dropDb(db);
  return summarize('grouped', sessionMs, enqueuedAt.size, enqueuedAt, ackedAt, requests, actions.map((a) => a.at));
}

/** verses-sync with default options on the simulated clock; every request (probes too) recorded. */
async function runVersesSyncSession(env: BenchEnv, actions: Action[], sessionMs: number): Promise<PacedResult> {
  const clock = new SimulatedClock();
  const { userId, token } = await env.newUser();
  const requests: PacedRequest[] = [];
  const ackedAt = new Map<string, number>();
  const recording: typeof fetch = async (input, init) => {
    const startMs = clock.now();
    const started = performance.now();
    const method = init?.method ?? 'GET';
    let ops: Array<{ id: string; localRecordId?: string }> = [];
    if (typeof init?.body === 'string') ops = (JSON.parse(init.body) as { operations?: typeof ops }).operations ?? [];
    const response = await fetch(input, init);
    const endMs = startMs + (performance.now() - started);
    requests.push({ startMs, endMs, ops: ops.length, method });
    if (response.ok && ops.length > 0) {
      const byId = new Map(ops.map((op) => [op.id, op.localRecordId ?? op.id]));
      const { results } = (await response.clone().json()) as { results: OperationResult[] };
      for (const r of results) if (r.success) ackedAt.set(byId.get(r.id) ?? r.id, endMs);
    }
    return response;
  };
  const client = createSupabaseClient({ url: env.proxy.url, anonKey: env.stack.anonKey, accessToken: async () => token, webSocket: WebSocket, fetch: recording });
  const db = await freshDb();
  const sync = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    networkEvents: 'none',
    pageEvents: 'none',
    online: true,
    // The simulated clock: the only options that differ from an app's (budget, sizes, probe: defaults).
    clock,
    queue: { now: () => clock.now() },
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync.notifyEnqueued });
  await sync.start();
  const queue = sync.actor.system.get('queue');
  const network = sync.actor.system.get('network');
  const busy = () => queue.getSnapshot().hasTag('busy') || network.getSnapshot().matches({ online: 'probing' }) || JSON.stringify(network.getSnapshot().value).includes('measuring');
  const quiet = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    while (busy()) await new Promise((r) => setTimeout(r, 1));
  };
  await quiet();
  const enqueuedAt = new Map<string, number>();
  const cards: string[] = [];
  const STEP_MS = 100;
  const advanceTo = async (at: number) => {
    while (clock.now() + STEP_MS <= at) {
      clock.increment(STEP_MS);
      await quiet();
    }
    if (at > clock.now()) clock.increment(at - clock.now());
    await quiet();
  };
  for (const action of actions) {
    await advanceTo(action.at);
    if (action.kind === 'add') {
      const card = await data.addVerseCard(action.ref);
      cards.push(card.id);
      enqueuedAt.set(card.id, action.at);
    } else if (action.kind === 'review') {
      const review = await data.recordReview(cards[Math.min(action.card, cards.length - 1)], action.correct);
      enqueuedAt.set(review.id, action.at);
    } else {
      const profile = await data.updateProfile(action.patch);
      enqueuedAt.set(profile.id, action.at);
    }
    await quiet();
  }
  // After the last action the stream pauses: the idle gap (or the budget) sends the rest.
  const until = clock.now() + 130_000;
  while (ackedAt.size < enqueuedAt.size && clock.now() < until) await advanceTo(clock.now() + 1_000);
  await sync.stop();
  await dropDb(db);
  return summarize('versesSync', sessionMs, enqueuedAt.size, enqueuedAt, ackedAt, requests, actions.map((a) => a.at));
}

/** One paced session through `path`. */
export function runPacedSession(env: BenchEnv, path: SessionPath, actions: Action[], sessionMs: number): Promise<PacedResult> {
  if (path === 'perOp') return runPerOpSession(env, actions, sessionMs);
  if (path === 'grouped') return runGroupedSession(env, actions, sessionMs);
  return runVersesSyncSession(env, actions, sessionMs);
}
