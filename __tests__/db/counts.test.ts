// The outbox counts kept in meta agree with the rows after every kind of write, roll back with
// a failed transaction, and are filled by the upgrade from an older database.
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { countKey } from '../../src/db/counts.ts';
import type { SyncOperation } from '../../src/db/types.ts';
import {
  claimBatch,
  coalesceQueued,
  countDeadLetters,
  countPending,
  countUnsynced,
  discardDeadLetter,
  enqueueOperation,
  recordResults,
  releaseBatch,
  retryDeadLetter,
} from '../../src/outbox/index.ts';

const USER_A = '00000000-0000-4000-8000-00000000000a';
const USER_B = '00000000-0000-4000-8000-00000000000b';

let db: VersesDb;
beforeEach(async () => {
  db = createVersesDb(`counts-${randomUUID()}`);
  await db.open();
});
afterEach(async () => {
  db.close();
  await Dexie.delete(db.name);
});

const enqueue = (userId: string | undefined, n = 1) =>
  db.transaction('rw', db.syncOperations, db.meta, async () => {
    for (let i = 0; i < n; i++) {
      await enqueueOperation(db, { type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: `Psalm 1:${i + 1}` }, userId });
    }
  });

// What the counts must be: read from the rows themselves.
async function fromRows(userId?: string) {
  const ops = await db.syncOperations.toArray();
  const mine = (o: SyncOperation) => userId === undefined || o.userId === undefined || o.userId === userId;
  const of = (status: SyncOperation['status']) => ops.filter((o) => o.status === status);
  const queued = of('queued').filter(mine).length;
  // Set aside on trial is still pending; confirmed, it waits apart.
  const setAside = of('queued').filter(mine).filter((o) => o.setAside?.confirmed === true).length;
  const sending = of('inFlight').length;
  const waiting = of('held').length;
  return { pending: queued - setAside, unsynced: { total: queued + sending + waiting, queued, sending, waiting, setAside }, dead: of('dead').length };
}

async function expectCountsMatchRows() {
  for (const userId of [undefined, USER_A, USER_B]) {
    const want = await fromRows(userId);
    expect(await countPending(db, userId)).toBe(want.pending);
    expect(await countUnsynced(db, userId)).toEqual(want.unsynced);
    expect(await countDeadLetters(db)).toBe(want.dead);
  }
}

test('every kind of outbox write keeps the counts equal to the rows', async () => {
  await enqueue(USER_A, 5);
  await enqueue(USER_B, 2);
  await enqueue(undefined, 1);
  await expectCountsMatchRows();

  const claimed = await claimBatch(db, { batchId: 'b1', maxOps: 4, maxBytes: 1 << 20 }, { userId: USER_A });
  expect(claimed!.operations).toHaveLength(4);
  await expectCountsMatchRows();
  expect((await countUnsynced(db, USER_A)).sending).toBe(4);

  const [ok, refused, retry] = claimed!.operations;
  await recordResults(db, {
    batchId: 'b1',
    results: [
      { id: ok.id, success: true },
      { id: refused.id, success: false, error: { code: 'UNKNOWN_REFERENCE', message: 'no such verse', retryable: false } },
      { id: retry.id, success: false, error: { code: 'TRANSIENT', message: 'busy', retryable: true } },
    ],
  });
  await expectCountsMatchRows();
  expect(await countDeadLetters(db)).toBe(1);

  const again = await claimBatch(db, { batchId: 'b2', maxOps: 10, maxBytes: 1 << 20 }, { userId: USER_A });
  expect(again).not.toBeNull();
  await expectCountsMatchRows();
  await releaseBatch(db, { batchId: 'b2', failure: { kind: 'network', message: 'offline' } });
  await expectCountsMatchRows();

  await retryDeadLetter(db, refused.id);
  await expectCountsMatchRows();
  expect(await countDeadLetters(db)).toBe(0);
  const third = await claimBatch(db, { batchId: 'b3', maxOps: 10, maxBytes: 1 << 20 }, { userId: USER_A });
  await recordResults(db, {
    batchId: 'b3',
    results: third!.operations.map((o) => ({ id: o.id, success: false, error: { code: 'UNKNOWN_REFERENCE', message: 'no', retryable: false } })),
  });
  await expectCountsMatchRows();
  await discardDeadLetter(db, third!.operations[0].id);
  await expectCountsMatchRows();

  await coalesceQueued(db);
  await db.syncOperations.filter((op) => op.userId === USER_B).modify({ status: 'held' });
  await expectCountsMatchRows();
  await db.syncOperations.filter((op) => op.userId === USER_B).delete();
  await expectCountsMatchRows();
  await db.syncOperations.clear();
  await expectCountsMatchRows();
  expect(await countPending(db)).toBe(0);
});

test('an op set aside on trial, confirmed, and given its place back keeps the counts equal to the rows', async () => {
  await enqueue(USER_A, 4);
  const serverError = { kind: 'server' as const, message: 'the server failed', status: 500 };
  const setAside = { baseMs: 60_000, streakReached: true };
  for (const [n, confirm] of [[1, true], [2, false]] as const) {
    const lone = await claimBatch(db, { batchId: `lone${n}`, maxOps: 1, maxBytes: 1 << 20 }, { userId: USER_A });
    await releaseBatch(db, { batchId: lone!.batchId, failure: serverError, setAside });
    await expectCountsMatchRows();
    expect((await countUnsynced(db, USER_A)).setAside).toBe(n - 1); // on trial: not yet apart
    const trial = await claimBatch(db, { batchId: `trial${n}`, maxOps: 1, maxBytes: 1 << 20, trial: true }, { userId: USER_A });
    if (confirm) await recordResults(db, { batchId: trial!.batchId, results: trial!.operations.map((o) => ({ id: o.id, success: true })) });
    else await releaseBatch(db, { batchId: trial!.batchId, failure: serverError });
    await expectCountsMatchRows();
    expect((await countUnsynced(db, USER_A)).setAside).toBe(1);
  }
});

test('rows read earlier in the transaction, then changed by the caller and written, are counted from what was stored', async () => {
  await enqueue(USER_A, 3);
  await db.transaction('rw', db.syncOperations, db.meta, async () => {
    const [first, second, third] = await db.syncOperations.orderBy('seq').toArray();
    // The caller changes the objects it was given before writing them: the old status is the stored one.
    first.status = 'dead';
    await db.syncOperations.put(first);
    const again = (await db.syncOperations.get(second.id))!;
    again.status = 'inFlight';
    await db.syncOperations.bulkPut([again, { ...third, status: 'held' }]);
    await db.syncOperations.bulkDelete([first.id, first.id]);
    await db.syncOperations.put({ ...first, id: randomUUID(), seq: 99, status: 'queued' });
  });
  await expectCountsMatchRows();
});

test('a write whose transaction fails leaves the counts as they were', async () => {
  await enqueue(USER_A, 2);
  await expect(
    db.transaction('rw', db.syncOperations, async () => {
      await db.syncOperations.update((await db.syncOperations.toCollection().first())!.id, { status: 'dead' });
      throw new Error('the caller gave up');
    }),
  ).rejects.toThrow('the caller gave up');
  await expectCountsMatchRows();
  expect(await countPending(db, USER_A)).toBe(2);
});

test('counts read inside a caller transaction on the outbox alone', async () => {
  await enqueue(USER_A, 3);
  expect(await db.transaction('r', db.syncOperations, () => countUnsynced(db, USER_A))).toEqual({ total: 3, queued: 3, sending: 0, waiting: 0, setAside: 0 });
  expect(await db.transaction('rw', db.syncOperations, () => countPending(db, USER_A))).toBe(3);
});

test('version 5 fills the counts from the ops a version-4 database holds (versions 6 and 7 then change indexes)', async () => {
  const name = db.name;
  db.close();
  await Dexie.delete(name);
  const v4 = createVersesDb(name);
  v4.close();
  // A version-4 database: the same tables, written without the counting middleware.
  const old = new Dexie(name);
  old.version(4).stores({
    syncOperations: 'id, &seq, [status+seq], [status+userId], [status+type], batchId, localRecordId, userId',
    meta: 'key',
  });
  const row = (seq: number, status: SyncOperation['status'], userId?: string) => ({
    id: randomUUID(), seq, status, userId, type: 'CREATE_VERSE', payload: {}, timestamp: 0, priority: 'normal', retryCount: 0, maxRetries: 3, localRecordId: randomUUID(),
  });
  await old.table('syncOperations').bulkAdd([row(1, 'queued', USER_A), row(2, 'queued'), row(3, 'dead', USER_A), row(4, 'inFlight', USER_A), row(5, 'queued', USER_B)]);
  old.close();
  db = createVersesDb(name);
  await db.open();
  expect(db.verno).toBe(7);
  expect(await db.meta.get(countKey('queued', null))).toEqual({ key: countKey('queued', null), value: 3 });
  await expectCountsMatchRows();
  expect(await countPending(db, USER_A)).toBe(2);
});
