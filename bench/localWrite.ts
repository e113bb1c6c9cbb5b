// Latency of one local write (addVerseCard: the card, its verse and its outbox op in one
// transaction) while idle and while a 10,000-op backlog (by default) drains, next to the floor: the same
// card and op rows written by bare Dexie, idle and beside a bare drain loop.
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import { createVersesDb, type VersesDb } from '../src/db/index.ts';
import type { SyncOperation, VerseCard } from '../src/db/types.ts';
import type { BenchEnv } from './env.ts';
import { drained, openVersesSync, unsynced } from './paths.ts';

export type Latency = { p50: number; p99: number; writes: number };
export type LocalWriteResult = {
  idle: Latency;
  draining: Latency & { backlogLeftAtEnd: number };
  floorIdle: Latency;
  floorDraining: Latency & { backlogLeftAtEnd: number };
  rttMs: number;
};

export function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), writes: sorted.length };
}

let refCounter = 0;
// A real book: the client refuses a reference whose book it does not know before writing anything.
const uniqueRef = () => {
  const n = refCounter++;
  return `Psalm ${1 + (n % 150)}:${1 + Math.floor(n / 150)}`;
};

async function timed(writes: number, warmup: number, write: () => Promise<unknown>, keepGoing: () => boolean = () => true): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await write();
  const samples: number[] = [];
  for (let i = 0; i < writes && keepGoing(); i++) {
    const t = performance.now();
    await write();
    samples.push(performance.now() - t);
  }
  return samples;
}

// The floor's rows: what addVerseCard writes for the card and its op, nothing else.
function bareWriter(db: VersesDb, userId: string, firstSeq: number) {
  let seq = firstSeq;
  return async () => {
    const now = new Date();
    const iso = now.toISOString();
    const card: VerseCard = { id: randomUUID(), verseId: randomUUID(), reference: uniqueRef(), createdAt: iso, updatedAt: iso, nextReviewAt: iso, reviewCount: 0, correctCount: 0, userId };
    const op: SyncOperation = {
      id: randomUUID(), type: 'CREATE_VERSE', payload: { verseCardId: card.id, reference: card.reference, translation: 'ESV' }, timestamp: now.getTime(),
      priority: 'normal', retryCount: 0, maxRetries: 3, status: 'queued', seq: seq++, localRecordId: card.id, userId,
    };
    await db.transaction('rw', db.verseCards, db.syncOperations, async () => {
      await db.verseCards.add(card);
      await db.syncOperations.add(op);
    });
  };
}

// What a drain does to IndexedDB, without any orchestrator: claim 500, wait a round trip, settle them.
async function bareDrain(db: VersesDb, rttMs: number, isDone: () => boolean): Promise<void> {
  for (;;) {
    const batchId = randomUUID();
    const ops = await db.transaction('rw', db.syncOperations, async () => {
      const page = await db.syncOperations.where('[status+seq]').between(['queued', Dexie.minKey], ['queued', Dexie.maxKey]).limit(500).toArray();
      await db.syncOperations.bulkPut(page.map((op) => ({ ...op, status: 'inFlight' as const, batchId })));
      return page;
    });
    if (ops.length === 0 || isDone()) return;
    await new Promise((r) => setTimeout(r, rttMs + 30));
    const at = new Date().toISOString();
    await db.transaction('rw', db.syncOperations, db.verseCards, async () => {
      await db.syncOperations.bulkDelete(ops.map((o) => o.id));
      await db.verseCards.bulkUpdate(ops.map((o) => ({ key: String(o.localRecordId), changes: { syncedAt: at } })));
    });
  }
}

export async function benchLocalWrite(env: BenchEnv, options: { writes: number; warmup: number; rttMs: number; backlog?: number; onStep?: () => void }): Promise<LocalWriteResult> {
  const { writes, warmup, rttMs } = options;
  const BACKLOG = options.backlog ?? 10_000;
  env.proxy.rttMs = rttMs;
  const step = options.onStep ?? (() => {});

  // Floor, idle.
  let db = createVersesDb(`bench-floor-${randomUUID()}`);
  const floorIdle = latencyOf(await timed(writes, warmup, bareWriter(db, 'u', 1)));
  db.close();
  await Dexie.delete(db.name);
  step();

  // Floor, beside a bare drain of a 10,000-op backlog.
  db = createVersesDb(`bench-floor-${randomUUID()}`);
  {
    const fill = bareWriter(db, 'u', 1);
    for (let i = 0; i < BACKLOG; i++) await fill();
  }
  const writeFloor = bareWriter(db, 'u', BACKLOG + 1);
  for (let i = 0; i < warmup; i++) await writeFloor();
  let floorDrainDone = false;
  const floorDrain = bareDrain(db, rttMs, () => floorDrainDone);
  const floorSamples = await timed(writes, 0, writeFloor);
  floorDrainDone = true;
  const floorLeft = await db.syncOperations.where('[status+seq]').between(['queued', Dexie.minKey], ['queued', Dexie.maxKey]).count();
  await floorDrain;
  db.close();
  await Dexie.delete(db.name);
  const floorDraining = { ...latencyOf(floorSamples), backlogLeftAtEnd: floorLeft };
  step();

  // verses-sync, idle: the service runs (excellent), no backlog; it sends what the writes queue.
  let device = await openVersesSync(env, 'excellent');
  const idle = latencyOf(await timed(writes, warmup, () => device.data.addVerseCard(uniqueRef())));
  await drained(device);
  await device.close();
  step();

  // verses-sync while a 10,000-op backlog drains: queue it offline, then go online and write.
  device = await openVersesSync(env, 'excellent', { online: false });
  for (let i = 0; i < BACKLOG; i += 1000) {
    await device.data.addVerseCards(Array.from({ length: 1000 }, () => ({ reference: uniqueRef() })));
  }
  for (let i = 0; i < warmup; i++) await device.data.addVerseCard(uniqueRef());
  device.sync.setOnline(true);
  const drainedAll = drained(device);
  const samples = await timed(writes, 0, () => device.data.addVerseCard(uniqueRef()));
  const left = await unsynced(device.db);
  await drainedAll;
  await device.close();
  step();

  return { idle, draining: { ...latencyOf(samples), backlogLeftAtEnd: left }, floorIdle, floorDraining, rttMs };
}
