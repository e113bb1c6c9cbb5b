// The batch history stays bounded however many batches go through the outbox.
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import { BATCH_SEQ_META_KEY, createVersesDb, type SyncBatch, type VersesDb } from '../../src/db/index.ts';
import { claimBatch, enqueueOperations, pruneHistory, pruneInterval, recordResults, recoverInFlight, releaseBatch } from '../../src/outbox/index.ts';
import { freshDb, USER_A } from './fixtures.ts';

let db: VersesDb;
let name: string;
let close: () => Promise<void>;
beforeEach(() => {
  ({ db, name, close } = freshDb());
});
afterEach(async () => {
  await close();
});

const enqueue = (n: number) =>
  db.transaction('rw', db.syncOperations, db.meta, () =>
    enqueueOperations(
      db,
      Array.from({ length: n }, (_, i) => {
        const verseCardId = randomUUID();
        return { type: 'CREATE_VERSE' as const, payload: { verseCardId, reference: `Ps ${i + 1}:1` }, localRecordId: verseCardId };
      }),
    ),
  );

const ok = (id: string): OperationResult => ({ id, success: true });
const retry = (id: string): OperationResult => ({ id, success: false, error: { code: 'DEADLOCK', message: 'try again', retryable: true } });

const bySeq = (rows: SyncBatch[]) => rows.sort((a, b) => a.seq - b.seq);

/** Claims one batch of up to `maxOps` and answers it with `answer` per op. */
async function settleOne(maxOps: number, answer: (id: string, i: number) => OperationResult, history?: { completed?: number; failed?: number }) {
  const claimed = await claimBatch(db, { batchId: randomUUID(), maxOps, maxBytes: 512 * 1024 });
  if (!claimed) return null;
  return recordResults(db, { batchId: claimed.batchId, results: claimed.operations.map((o, i) => answer(o.id, i)) }, { history });
}

// 2,000 batches, not the 10,000 of issue #7: two fake-indexeddb transactions a batch cost 3–12 ms here,
// and 10,000 took 2–8 minutes (once running the worker out of heap) inside the loaded full suite.
const BATCHES = 2_000;

test('thousands of batches through enqueue → claim → record keep the history bounded to the newest rows', async () => {
  const bounds = { completed: 100, failed: 40 };
  const started = Date.now();
  const seen: Array<{ seq: number; status: string }> = [];
  let maxRows = 0;
  // A short queue (10 user-less ops at a time, refilled when empty): the cost under test is the history's, not a backlog's.
  for (let n = 0; n < BATCHES; n++) {
    if (n % 10 === 0) maxRows = Math.max(maxRows, await db.syncBatches.count());
    // Every 7th batch fails (its op goes back and is sent by the next batch), every 11th is partial.
    const partial = n % 11 === 5;
    const answer = (id: string, k: number) => (n % 7 === 3 || (partial && k === 1) ? retry(id) : ok(id));
    let outcome = await settleOne(partial ? 2 : 1, answer, bounds);
    if (!outcome) {
      await enqueue(10);
      outcome = (await settleOne(partial ? 2 : 1, answer, bounds))!;
    }
    seen.push({ seq: n + 1, status: outcome.status });
  }
  // Drain what the failures left behind.
  for (let outcome = await settleOne(100, ok, bounds); outcome; outcome = await settleOne(100, ok, bounds)) {
    seen.push({ seq: seen.length + 1, status: outcome.status });
  }
  const elapsed = Date.now() - started;
  console.log(`history: ${seen.length} batches in ${elapsed} ms; at most ${maxRows} rows kept`);

  expect(seen.length).toBeGreaterThanOrEqual(BATCHES);
  expect(seen.filter((s) => s.status === 'failed').length).toBeGreaterThan(BATCHES / 10);
  expect(seen.filter((s) => s.status === 'partial').length).toBeGreaterThan(BATCHES / 20);
  // Bounded: never more than each bound plus the prune interval (a tenth of the smaller bound), plus the one syncing.
  expect(pruneInterval(bounds)).toBe(4);
  expect(maxRows).toBeLessThanOrEqual(104 + 44 + 1);

  const rows = bySeq(await db.syncBatches.toArray());
  const completed = rows.filter((r) => r.status === 'completed');
  const failedOrPartial = rows.filter((r) => r.status === 'failed' || r.status === 'partial');
  expect(completed.length).toBeGreaterThanOrEqual(100);
  expect(completed.length).toBeLessThanOrEqual(104);
  expect(failedOrPartial.length).toBeGreaterThanOrEqual(40);
  expect(failedOrPartial.length).toBeLessThanOrEqual(44);
  // The kept rows are the newest of their kind: no pruned row is newer than a kept one.
  const lastSeq = (await db.meta.get(BATCH_SEQ_META_KEY))!.value as number;
  const allSeqs = Array.from({ length: lastSeq }, (_, i) => i + 1);
  const keptSeqs = new Set(rows.map((r) => r.seq));
  const statusOf = new Map(seen.map((s) => [s.seq, s.status]));
  for (const r of rows) statusOf.set(r.seq, r.status);
  const newest = (group: string[]) =>
    allSeqs
      .filter((s) => group.includes(statusOf.get(s) ?? ''))
      .slice(-rows.filter((r) => group.includes(r.status)).length);
  expect(completed.map((r) => r.seq)).toEqual(newest(['completed']));
  expect(failedOrPartial.map((r) => r.seq)).toEqual(newest(['failed', 'partial']));
  expect(keptSeqs.size).toBe(rows.length);
  expect(await db.syncOperations.count()).toBe(0);
}, 120_000);

test('pruning runs once per interval and cuts back to the bound; a syncing batch is never pruned', async () => {
  await enqueue(30);
  const bounds = { completed: 20, failed: 20 };
  expect(pruneInterval(bounds)).toBe(2);
  const open = await claimBatch(db, { batchId: 'open', maxOps: 1, maxBytes: 4096 }, { userId: USER_A }); // seq 1
  for (let i = 0; i < 22; i++) expect(await settleOne(1, ok, bounds)).not.toBeNull(); // seqs 2..23; pruned at 22
  const completed = async () => bySeq(await db.syncBatches.where('status').equals('completed').toArray()).map((r) => r.seq);
  expect(await completed()).toHaveLength(21);
  await settleOne(1, ok, bounds); // seq 24: prune
  expect(await completed()).toEqual(Array.from({ length: 20 }, (_, i) => i + 5));
  expect((await db.syncBatches.get(open!.batchId))?.status).toBe('syncing');
});

test('releaseBatch and recoverInFlight prune failed rows too', async () => {
  await enqueue(3);
  for (let i = 0; i < 8; i++) {
    const claimed = await claimBatch(db, { batchId: randomUUID(), maxOps: 1, maxBytes: 4096 }, { userId: USER_A });
    await releaseBatch(db, { batchId: claimed!.batchId, failure: { kind: 'network', message: 'offline' }, countAttempt: false }, { history: { failed: 3 } });
  }
  expect(await db.syncBatches.count()).toBe(3); // interval 1: every release prunes
  await claimBatch(db, { batchId: randomUUID(), maxOps: 1, maxBytes: 4096 }, { userId: USER_A });
  await claimBatch(db, { batchId: randomUUID(), maxOps: 1, maxBytes: 4096 }, { userId: USER_A });
  expect(await recoverInFlight(db, { history: { failed: 3 } })).toBe(2);
  const rows = bySeq(await db.syncBatches.toArray());
  expect(rows.map((r) => r.seq)).toEqual([8, 9, 10]);
  expect(rows.every((r) => r.status === 'failed')).toBe(true);
});

test('the defaults keep the newest 100 completed and the newest 1,000 failed or partial', async () => {
  const row = (seq: number, status: SyncBatch['status']): SyncBatch => ({
    id: `b${seq}`,
    seq,
    status,
    opIds: [],
    opCount: 0,
    bytes: 0,
    createdAt: new Date(seq).toISOString(),
    successCount: 0,
    failureCount: 0,
  });
  const statuses: SyncBatch['status'][] = ['completed', 'failed', 'partial'];
  await db.syncBatches.bulkAdd(Array.from({ length: 3_600 }, (_, i) => row(i + 1, i < 3_000 ? statuses[i % 3] : 'failed')));
  const outcome = await db.transaction('rw', db.syncBatches, () => pruneHistory(db));
  const rows = bySeq(await db.syncBatches.toArray());
  const completed = rows.filter((r) => r.status === 'completed');
  const failed = rows.filter((r) => r.status !== 'completed');
  expect(completed).toHaveLength(100);
  expect(completed[0].seq).toBe(2_701);
  expect(failed).toHaveLength(1_000);
  expect(failed[0].seq).toBe(2_402);
  expect(outcome.removed).toBe(3_600 - 1_100);
});

test('bounds must be whole numbers', async () => {
  await expect(db.transaction('rw', db.syncBatches, () => pruneHistory(db, { completed: -1 }))).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
});

test('version 2 numbers an existing version-1 history by creation time and claims continue after it', async () => {
  db.close();
  await Dexie.delete(name);
  const v1 = new Dexie(name);
  v1.version(1).stores({ syncBatches: 'id, status, createdAt', syncOperations: 'id, &seq, [status+seq], [status+userId], batchId, localRecordId, userId', meta: 'key' });
  await v1.table('syncBatches').bulkAdd([
    { id: 'late', status: 'completed', opIds: [], opCount: 0, bytes: 0, createdAt: '2026-11-24T12:00:01.000Z', successCount: 0, failureCount: 0 },
    { id: 'early', status: 'failed', opIds: [], opCount: 0, bytes: 0, createdAt: '2026-11-24T12:00:00.000Z', successCount: 0, failureCount: 0 },
  ]);
  v1.close();
  db = createVersesDb(name);
  await db.open();
  expect(db.verno).toBe(3); // through version 2 (this numbering) to the current one
  expect((await db.syncBatches.get('early'))?.seq).toBe(1);
  expect((await db.syncBatches.get('late'))?.seq).toBe(2);
  await enqueue(1);
  const claimed = await claimBatch(db, { batchId: 'next', maxOps: 1, maxBytes: 4096 }, { userId: USER_A });
  expect((await db.syncBatches.get(claimed!.batchId))?.seq).toBe(3);
});
