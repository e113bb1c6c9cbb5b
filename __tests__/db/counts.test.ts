// The outbox counts kept in meta agree with the rows after every kind of write, roll back with
// a failed transaction, and are filled by the upgrade from an older database.
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { COALESCED_TYPES, countKey, queuedOfTypeKey, readCounts } from '../../src/db/counts.ts';
import { createDataService } from '../../src/service/dataService.ts';
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

// The queued deletes and profile updates coalescing checks for, every user's: kept against the rows.
async function expectTypeCountsMatchRows() {
  const ops = await db.syncOperations.toArray();
  const want = COALESCED_TYPES.map((type) => ops.filter((o) => o.status === 'queued' && o.type === type).length);
  expect(await readCounts(db, COALESCED_TYPES.map(queuedOfTypeKey))).toEqual(want);
}

async function expectCountsMatchRows() {
  await expectTypeCountsMatchRows();
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

test('the queued deletes and profile updates coalescing looks for are counted through enqueue, claim, settle, release and coalesce', async () => {
  let userId = USER_A;
  const data = createDataService({ db, getUserId: () => userId });
  const kept = await data.addVerseCard('Ruth 1:1');
  const dropped = await data.addVerseCard('Ruth 1:2');
  await data.updateProfile({ dailyGoal: 5 });
  await data.updateProfile({ displayName: 'A' });
  await data.deleteVerse(dropped.id);
  userId = USER_B;
  const theirs = await data.addVerseCard('Ruth 1:3');
  await data.deleteVerse(theirs.id);
  await expectCountsMatchRows();
  expect(await readCounts(db, COALESCED_TYPES.map(queuedOfTypeKey))).toEqual([2, 2]);

  // B's create and delete go out and come back applied; A's first profile update is sent and released.
  const b = await claimBatch(db, { batchId: 'tb', maxOps: 10, maxBytes: 1 << 20 }, { userId: USER_B });
  expect(b!.operations.map((o) => o.type)).toEqual(['CREATE_VERSE', 'DELETE_VERSE']);
  await expectCountsMatchRows();
  await recordResults(db, { batchId: 'tb', results: b!.operations.map((o) => ({ id: o.id, success: true })) });
  await expectCountsMatchRows();
  const a = await claimBatch(db, { batchId: 'ta', maxOps: 3, maxBytes: 1 << 20 }, { userId: USER_A });
  expect(a!.operations.map((o) => o.type)).toEqual(['CREATE_VERSE', 'CREATE_VERSE', 'UPDATE_PROFILE']);
  await expectCountsMatchRows();
  await releaseBatch(db, { batchId: 'ta', failure: { kind: 'network', message: 'offline' } });
  await expectCountsMatchRows();
  expect(await readCounts(db, COALESCED_TYPES.map(queuedOfTypeKey))).toEqual([1, 2]);

  // The released create was on the wire, so its card is not cancelled; the profile updates merge.
  expect(await coalesceQueued(db)).toMatchObject({ cancelledCards: 0, mergedProfileUpdates: 1 });
  await expectCountsMatchRows();
  expect(await readCounts(db, COALESCED_TYPES.map(queuedOfTypeKey))).toEqual([1, 1]);
  const left = await db.syncOperations.orderBy('seq').toArray();
  expect(left.map((o) => [o.type, o.payload.verseCardId])).toEqual([
    ['CREATE_VERSE', kept.id],
    ['CREATE_VERSE', dropped.id],
    ['UPDATE_PROFILE', undefined],
    ['DELETE_VERSE', dropped.id],
  ]);
});

test('version 8 fills the counts of queued deletes and profile updates from the ops a version-7 database holds', async () => {
  const name = db.name;
  db.close();
  await Dexie.delete(name);
  const v7 = new Dexie(name);
  v7.version(7).stores({ syncOperations: 'id, &seq, [status+seq], [status+type], batchId, localRecordId, nextAttemptAt', meta: 'key' });
  const row = (seq: number, status: SyncOperation['status'], type: SyncOperation['type']) => ({
    id: randomUUID(), seq, status, type, userId: USER_A, payload: {}, timestamp: 0, priority: 'normal', retryCount: 0, maxRetries: 3, localRecordId: randomUUID(),
  });
  await v7.table('syncOperations').bulkAdd([
    row(1, 'queued', 'DELETE_VERSE'),
    row(2, 'inFlight', 'DELETE_VERSE'),
    row(3, 'queued', 'UPDATE_PROFILE'),
    row(4, 'queued', 'UPDATE_PROFILE'),
    row(5, 'dead', 'UPDATE_PROFILE'),
    row(6, 'queued', 'CREATE_VERSE'),
  ]);
  v7.close();
  db = createVersesDb(name);
  await db.open();
  expect(db.verno).toBe(8);
  expect(await readCounts(db, COALESCED_TYPES.map(queuedOfTypeKey))).toEqual([1, 2]);
  // The check reads them: the two profile updates merge.
  expect(await coalesceQueued(db)).toMatchObject({ mergedProfileUpdates: 1 });
});

test('version 5 fills the counts from the ops a version-4 database holds (versions 6 to 8 then change indexes)', async () => {
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
  expect(db.verno).toBe(8);
  expect(await db.meta.get(countKey('queued', null))).toEqual({ key: countKey('queued', null), value: 3 });
  await expectCountsMatchRows();
  expect(await countPending(db, USER_A)).toBe(2);
});
