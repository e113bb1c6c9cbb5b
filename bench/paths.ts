// The three write paths over one workload: the seed's per-op dual write, the seed's
// grouped batches, and verses-sync (BatchSyncService + dataService, default configuration).
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Quality } from '../machines/types.ts';
import { createVersesDb, type VersesDb } from '../src/db/index.ts';
import type { Verse, VerseCard } from '../src/db/types.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService } from '../src/service/dataService.ts';
import type { OperationResult, OperationType } from '../supabase/functions/_shared/protocol.ts';
import type { BenchEnv } from './env.ts';
import { opCount, type Step } from './workloads.ts';

export type PathName = 'perOp' | 'grouped' | 'versesSync';

export type RunResult = {
  requests: number;
  /** Bytes the client sent through the proxy (HTTP headers and bodies). */
  bytesSent: number;
  /** From the first local write to the last acknowledgement. */
  msToSynced: number;
  ops: number;
  opsAcked: number;
  /** Ops that ended failed (the seed's grouped path retries them; these ran out of retries). */
  opsFailed: number;
  /** Per-op errors the server answered along the way (e.g. a review before its card). */
  opErrors: number;
  opsPerBatch: number;
  /** Measured on the first `measuredOps` ops and scaled to the whole workload. */
  extrapolatedFrom?: number;
};

/**
 * The seed's own queue table (size, and a window from the first op): the grouped path is the seed's
 * queue, so it keeps the seed's numbers whatever verses-sync's defaults become.
 */
export const SEED_BATCH_CONFIG: Record<Quality, { size: number; timeoutMs: number }> = {
  poor: { size: 3, timeoutMs: 15_000 },
  good: { size: 10, timeoutMs: 5_000 },
  excellent: { size: 20, timeoutMs: 2_000 },
};

/** Latency the fake probe reports so the service settles on `quality` (≤100 excellent, ≤500 good). */
export const PROBE_MS: Record<Quality, number> = { excellent: 20, good: 300, poor: 800 };

type WireOp = { id: string; type: OperationType; payload: Record<string, unknown>; localRecordId: string };

const ACTIONS: Record<OperationType, string> = {
  CREATE_VERSE: 'batch_create_verses',
  RECORD_REVIEW: 'batch_record_reviews',
  UPDATE_PROFILE: 'batch_update_profiles',
  CREATE_ALIAS: 'batch_create_aliases',
  DELETE_VERSE: 'batch_delete_verses',
};

// The seed's local half of the dual write: the record in Dexie, no outbox.
export class SeedLocal {
  readonly cards: string[] = [];
  constructor(
    readonly db: VersesDb,
    readonly userId: string,
  ) {}

  async apply(step: Step): Promise<WireOp[]> {
    const { db } = this;
    const now = new Date().toISOString();
    const op = (type: OperationType, payload: Record<string, unknown>, localRecordId: string): WireOp => ({ id: randomUUID(), type, payload, localRecordId });
    switch (step.kind) {
      case 'addMany':
      case 'add': {
        const refs = step.kind === 'add' ? [step.ref] : step.refs;
        const verses: Verse[] = refs.map((reference) => ({ id: randomUUID(), reference, translation: 'ESV' }));
        const cards: VerseCard[] = refs.map((reference, i) => ({
          id: randomUUID(), verseId: verses[i].id, reference, createdAt: now, updatedAt: now, nextReviewAt: now, reviewCount: 0, correctCount: 0, userId: this.userId,
        }));
        await db.transaction('rw', db.verses, db.verseCards, async () => {
          await db.verses.bulkAdd(verses);
          await db.verseCards.bulkAdd(cards);
        });
        this.cards.push(...cards.map((c) => c.id));
        return cards.map((c) => op('CREATE_VERSE', { verseCardId: c.id, reference: c.reference, translation: 'ESV' }, c.id));
      }
      case 'review': {
        const id = randomUUID();
        const verseCardId = this.cards[step.card];
        await db.transaction('rw', db.reviewLogs, db.verseCards, async () => {
          await db.reviewLogs.add({ id, verseCardId, correct: step.correct, reviewDate: now });
          await db.verseCards.update(verseCardId, { updatedAt: now });
        });
        return [op('RECORD_REVIEW', { reviewId: id, verseCardId, correct: step.correct, reviewDate: now }, id)];
      }
      case 'profile':
        await db.profile.put({ id: this.userId, ...step.patch, updatedAt: now });
        return [op('UPDATE_PROFILE', { ...step.patch, updatedAt: now }, this.userId)];
      case 'alias': {
        const id = randomUUID();
        const verseCardId = this.cards[step.card];
        await db.aliases.add({ id, verseCardId, alias: step.alias, createdAt: now });
        return [op('CREATE_ALIAS', { aliasId: id, verseCardId, alias: step.alias }, id)];
      }
      case 'delete': {
        const verseCardId = this.cards[step.card];
        await db.verseCards.update(verseCardId, { deletedAt: now, updatedAt: now });
        return [op('DELETE_VERSE', { verseCardId }, verseCardId)];
      }
    }
  }
}

/** One request in the seed's per-type shape; results by op id (failures for a failed request). */
export async function sendTyped(client: SupabaseClient, type: OperationType, ops: WireOp[]): Promise<Map<string, OperationResult>> {
  const { data, error } = await client.functions.invoke('verse-operations', {
    body: { action: ACTIONS[type], batchId: randomUUID(), operations: ops.map((o) => ({ id: o.id, localRecordId: o.localRecordId, ...o.payload })) },
  });
  const out = new Map<string, OperationResult>();
  if (error) {
    for (const o of ops) out.set(o.id, { id: o.id, success: false, error: { code: 'REQUEST_FAILED', message: String(error.message), retryable: true } });
    return out;
  }
  for (const r of (data as { results: OperationResult[] }).results) out.set(r.id, r);
  return out;
}

export async function freshDb(): Promise<VersesDb> {
  const db = createVersesDb(`bench-${randomUUID()}`);
  await db.open();
  return db;
}

export async function dropDb(db: VersesDb): Promise<void> {
  db.close();
  await Dexie.delete(db.name);
}

const deadline = (ms: number) => performance.now() + ms;

/** The seed's dual write: local write, then one request per operation, awaited in turn. */
export async function runPerOp(env: BenchEnv, steps: Step[], options: { maxOps?: number } = {}): Promise<RunResult> {
  const { userId, client } = await env.newUser();
  const db = await freshDb();
  const local = new SeedLocal(db, userId);
  const total = opCount(steps);
  const limit = Math.min(options.maxOps ?? total, total);
  let sent = 0;
  let acked = 0;
  let opErrors = 0;
  env.resetCounters();
  const started = performance.now();
  outer: for (const step of steps) {
    // A bulk import in the seed is a loop of single adds, each a dual write.
    const singles: Step[] = step.kind === 'addMany' ? step.refs.map((ref) => ({ kind: 'add', ref })) : [step];
    for (const single of singles) {
      if (sent >= limit) break outer;
      for (const op of await local.apply(single)) {
        const result = (await sendTyped(client, op.type, [op])).get(op.id);
        sent++;
        if (result?.success) acked++;
        else opErrors++;
      }
    }
  }
  const ms = performance.now() - started;
  const scale = total / sent;
  const result: RunResult = {
    requests: Math.round(env.counter.requests * scale),
    bytesSent: Math.round(env.proxy.bytesUp * scale),
    msToSynced: ms * scale,
    ops: total,
    opsAcked: Math.round(acked * scale),
    opsFailed: Math.round((sent - acked) * scale),
    opErrors,
    opsPerBatch: 1,
  };
  if (sent < total) result.extrapolatedFrom = sent;
  await dropDb(db);
  return result;
}

type QueuedOp = WireOp & { retryCount: number };

/** The seed's queue: batches of `size` (or whatever waits when `timeoutMs` passes), grouped by type, groups in parallel. */
export async function runGrouped(env: BenchEnv, steps: Step[], quality: Quality): Promise<RunResult> {
  const { userId, client } = await env.newUser();
  const db = await freshDb();
  const local = new SeedLocal(db, userId);
  const { size, timeoutMs } = SEED_BATCH_CONFIG[quality];
  const total = opCount(steps);
  const queue: QueuedOp[] = [];
  let timer: NodeJS.Timeout | undefined;
  let processing = false;
  let acked = 0;
  let failed = 0;
  let opErrors = 0;
  let batches = 0;
  let batchOps = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const maybeFlush = () => {
    if (acked + failed === total) return finish();
    if (processing || queue.length === 0) return;
    if (queue.length >= size) {
      void processBatch();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void processBatch();
      }, timeoutMs);
    }
  };
  const processBatch = async () => {
    if (processing) return;
    clearTimeout(timer);
    timer = undefined;
    processing = true;
    const batch = queue.splice(0, size);
    batches++;
    batchOps += batch.length;
    const groups = new Map<OperationType, QueuedOp[]>();
    for (const op of batch) groups.set(op.type, [...(groups.get(op.type) ?? []), op]);
    await Promise.all(
      [...groups].map(async ([type, ops]) => {
        const results = await sendTyped(client, type, ops);
        for (const op of ops) {
          if (results.get(op.id)?.success) {
            acked++;
            continue;
          }
          opErrors++;
          // The seed retries a failed op with a later batch, up to its maxRetries (3).
          if (++op.retryCount < 3) queue.push(op);
          else failed++;
        }
      }),
    );
    processing = false;
    maybeFlush();
  };

  env.resetCounters();
  const started = performance.now();
  for (const step of steps) {
    for (const op of await local.apply(step)) {
      queue.push({ ...op, retryCount: 0 });
      maybeFlush();
    }
  }
  await finished;
  const ms = performance.now() - started;
  await dropDb(db);
  return {
    requests: env.counter.requests,
    bytesSent: env.proxy.bytesUp,
    msToSynced: ms,
    ops: total,
    opsAcked: acked,
    opsFailed: failed,
    opErrors,
    opsPerBatch: batchOps / Math.max(1, batches),
  };
}

/** A verses-sync device on a fresh Dexie database, started and settled on `quality`. */
export async function openVersesSync(env: BenchEnv, quality: Quality, options: { dbName?: string; online?: boolean } = {}) {
  const { userId, client } = await env.newUser();
  const db = options.dbName ? createVersesDb(options.dbName) : await freshDb();
  const sync = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    probeLatency: async () => PROBE_MS[quality],
    networkEvents: 'none',
    online: options.online ?? true,
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync.notifyEnqueued });
  await sync.start();
  const until = deadline(10_000);
  while ((options.online ?? true) && sync.getState().quality !== quality) {
    if (performance.now() > until) throw new Error(`verses-sync did not settle on ${quality}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return {
    db,
    sync,
    data,
    userId,
    async close() {
      await sync.stop();
      await dropDb(db);
    },
  };
}

export type Device = Awaited<ReturnType<typeof openVersesSync>>;

/** Ops not yet acknowledged (queued or in flight). */
export async function unsynced(db: VersesDb): Promise<number> {
  const range = (s: string) => db.syncOperations.where('[status+seq]').between([s, Dexie.minKey], [s, Dexie.maxKey]).count();
  return (await range('queued')) + (await range('inFlight'));
}

/** Resolves once the device's outbox holds nothing queued or in flight. */
export function drained(device: Device, timeoutMs = 15 * 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue = device.sync.actor.system.get('queue');
    const timeout = setTimeout(() => reject(new Error('verses-sync did not drain in time')), timeoutMs);
    let checking = false;
    const check = async () => {
      if (checking) return;
      checking = true;
      const left = await unsynced(device.db);
      checking = false;
      if (left === 0) {
        clearTimeout(timeout);
        sub.unsubscribe();
        resolve();
      }
    };
    const sub = queue.on('batch.settled', () => void check());
    void check();
  });
}

/** verses-sync: dataService writes (outbox in the same transaction), BatchSyncService sends. */
export async function runVersesSync(env: BenchEnv, steps: Step[], quality: Quality): Promise<RunResult> {
  const device = await openVersesSync(env, quality);
  const { data } = device;
  const cards: string[] = [];
  const total = opCount(steps);
  env.resetCounters();
  const started = performance.now();
  for (const step of steps) {
    switch (step.kind) {
      case 'addMany':
        cards.push(...(await data.addVerseCards(step.refs.map((reference) => ({ reference })))).map((c) => c.id));
        break;
      case 'add':
        cards.push((await data.addVerseCard(step.ref)).id);
        break;
      case 'review':
        await data.recordReview(cards[step.card], step.correct);
        break;
      case 'profile':
        await data.updateProfile(step.patch);
        break;
      case 'alias':
        await data.createAlias(cards[step.card], step.alias);
        break;
      case 'delete':
        await data.deleteVerse(cards[step.card]);
        break;
    }
  }
  await drained(device);
  const ms = performance.now() - started;
  const metrics = device.sync.getMetrics();
  const dead = await device.db.syncOperations.where('[status+seq]').between(['dead', Dexie.minKey], ['dead', Dexie.maxKey]).count();
  await device.close();
  return {
    requests: env.counter.requests,
    bytesSent: env.proxy.bytesUp,
    msToSynced: ms,
    ops: total,
    opsAcked: metrics.opsAcked,
    opsFailed: dead,
    opErrors: dead,
    opsPerBatch: metrics.opsPerBatch,
  };
}
