// The batch history stays bounded however many batches go through the outbox.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Dexie } from 'dexie';
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import { BATCH_SEQ_META_KEY, createVersesDb, type SyncBatch, type VersesDb } from '../../src/db/index.ts';
import { claimBatch, enqueueOperations, pruneHistory, pruneInterval, recordResults, recoverInFlight, releaseBatch } from '../../src/outbox/index.ts';
import { freshDb, USER_A } from './fixtures.ts';
import { BOUNDS, type HistoryRun } from './historyDriver.ts';

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

const bySeq = (rows: SyncBatch[]) => rows.sort((a, b) => a.seq - b.seq);

/** Claims one batch of up to `maxOps` and answers it with `answer` per op. */
async function settleOne(maxOps: number, answer: (id: string, i: number) => OperationResult, history?: { completed?: number; failed?: number }) {
  const claimed = await claimBatch(db, { batchId: randomUUID(), maxOps, maxBytes: 512 * 1024 });
  if (!claimed) return null;
  return recordResults(db, { batchId: claimed.batchId, results: claimed.operations.map((o, i) => answer(o.id, i)) }, { history });
}

// Issue #7: 10,000 batches. They run in a child process (see historyDriver.ts for why not in
// Jest's own context); the assertions stay here.
const BATCHES = 10_000;
const root = path.resolve(__dirname, '..', '..');

function driveHistory(count: number): Promise<HistoryRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: '' };
    const driver = path.join(__dirname, 'historyDriver.ts');
    execFile(path.join(root, 'node_modules', '.bin', 'tsx'), [driver, String(count)], { cwd: root, env, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`history driver failed: ${error.message}\n${stderr.slice(-2000)}`)) : resolve(JSON.parse(stdout) as HistoryRun),
    );
  });
}

test('10,000 batches through enqueue → claim → record keep the history bounded to the newest rows', async () => {
  const run = await driveHistory(BATCHES);
  const { statuses, maxRows, rows } = run;
  console.log(`history: ${statuses.length} batches in ${run.elapsedMs} ms (child process); at most ${maxRows} rows kept, ${rows.length} at the end; child heap ${run.heapMb} MB`);

  expect(statuses.length).toBeGreaterThanOrEqual(BATCHES);
  expect(run.lastSeq).toBe(statuses.length);
  expect(statuses.filter((s) => s === 'failed').length).toBeGreaterThan(BATCHES / 10);
  expect(statuses.filter((s) => s === 'partial').length).toBeGreaterThan(BATCHES / 20);
  // Bounded: never more than each bound plus the prune interval (a tenth of the smaller bound), plus the one syncing.
  expect(BOUNDS).toEqual({ completed: 100, failed: 40 });
  expect(pruneInterval(BOUNDS)).toBe(4);
  expect(maxRows).toBeLessThanOrEqual(104 + 44 + 1);

  const completed = rows.filter((r) => r.status === 'completed');
  const failedOrPartial = rows.filter((r) => r.status === 'failed' || r.status === 'partial');
  expect(completed.length + failedOrPartial.length).toBe(rows.length);
  expect(completed.length).toBeGreaterThanOrEqual(100);
  expect(completed.length).toBeLessThanOrEqual(104);
  expect(failedOrPartial.length).toBeGreaterThanOrEqual(40);
  expect(failedOrPartial.length).toBeLessThanOrEqual(44);
  // The kept rows are the newest of their kind, with the status they settled with.
  const newest = (group: string[], n: number) =>
    statuses
      .map((status, i) => ({ seq: i + 1, status }))
      .filter((s) => group.includes(s.status))
      .slice(-n);
  expect(completed).toEqual(newest(['completed'], completed.length));
  expect(failedOrPartial).toEqual(newest(['failed', 'partial'], failedOrPartial.length));
  expect(run.opsLeft).toBe(0);
}, 240_000);

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
    await releaseBatch(db, { batchId: claimed!.batchId, failure: { kind: 'network', message: 'offline' } }, { history: { failed: 3 } });
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
  expect(db.verno).toBe(8); // through version 2 (this numbering) to the current one
  expect((await db.syncBatches.get('early'))?.seq).toBe(1);
  expect((await db.syncBatches.get('late'))?.seq).toBe(2);
  await enqueue(1);
  const claimed = await claimBatch(db, { batchId: 'next', maxOps: 1, maxBytes: 4096 }, { userId: USER_A });
  expect((await db.syncBatches.get(claimed!.batchId))?.seq).toBe(3);
});
