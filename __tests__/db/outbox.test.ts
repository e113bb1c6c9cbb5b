import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import type { Priority } from '../../machines/types.ts';
import { createVersesDb, type SyncOperation, type VersesDb } from '../../src/db/index.ts';
import {
  claimBatch,
  countPending,
  countUnsynced,
  discardDeadLetter,
  enqueueOperation,
  enqueueOperations,
  jsonBytes,
  listDeadLetters,
  OutboxError,
  recordResults,
  recoverInFlight,
  releaseBatch,
  retryDeadLetter,
  OPS_PER_TRANSACTION,
} from '../../src/outbox/index.ts';
import { dump, freshDb, opsBySeq, serviceFor, USER_A, USER_B } from './fixtures.ts';

let db: VersesDb;
let name: string;
let close: () => Promise<void>;
beforeEach(() => {
  ({ db, name, close } = freshDb());
});
afterEach(async () => {
  await close();
});

const AT = new Date('2026-11-24T12:00:00.000Z');

type Extra = { priority?: Priority; userId?: string; maxRetries?: number; localRecordId?: string };
/** Enqueues one CREATE_VERSE (reference of `size` characters) in its own transaction. */
function enqueueVerse(extra: Extra = {}, reference = 'John 3:16'): Promise<SyncOperation> {
  return db.transaction('rw', db.syncOperations, db.meta, () => {
    const verseCardId = randomUUID();
    return enqueueOperation(db, { type: 'CREATE_VERSE', payload: { verseCardId, reference }, localRecordId: verseCardId, ...extra });
  });
}
const enqueueMany = async (n: number, extra: Extra = {}) => {
  const ops: SyncOperation[] = [];
  for (let i = 0; i < n; i++) ops.push(await enqueueVerse(extra, `Ps ${i + 1}:1`));
  return ops;
};
const ok = (id: string, extra: Partial<OperationResult> = {}): OperationResult => ({ id, success: true, appliedAt: AT.toISOString(), ...extra });
const fail = (id: string, retryable: boolean, code = retryable ? 'DEADLOCK' : 'VALIDATION_FAILED'): OperationResult => ({
  id,
  success: false,
  error: { code, message: `server said ${code}`, retryable },
});
const claim = (maxOps = 100, maxBytes = 512 * 1024, userId: string | undefined = USER_A) =>
  claimBatch(db, { batchId: randomUUID(), maxOps, maxBytes }, { userId, now: AT });

describe('enqueueOperation', () => {
  test('refuses to run outside a transaction', async () => {
    const error = await enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboxError);
    expect((error as OutboxError).code).toBe('NO_TRANSACTION');
    expect(await db.syncOperations.count()).toBe(0);
  });

  test('refuses a transaction without the outbox tables, or a read-only one', async () => {
    await db.open();
    const missing = await db
      .transaction('rw', db.syncOperations, () => enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } }))
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NO_TRANSACTION' });
    expect((missing as Error).message).toContain('meta');
    const readOnly = await db
      .transaction('r', db.syncOperations, db.meta, () => enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } }))
      .catch((e: unknown) => e);
    expect(readOnly).toMatchObject({ code: 'NO_TRANSACTION' });
  });

  test("refuses another database's transaction", async () => {
    const other = createVersesDb(`${name}-other`);
    try {
      const error = await other
        .transaction('rw', other.syncOperations, other.meta, () =>
          enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } }),
        )
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NO_TRANSACTION' });
    } finally {
      await other.delete();
    }
  });

  test('an invalid payload throws a typed error and writes nothing, not even a seq', async () => {
    await enqueueVerse();
    const before = await dump(db);
    await db.transaction('rw', db.syncOperations, db.meta, async () => {
      const error = await enqueueOperation(db, { type: 'CREATE_VERSE', payload: { verseCardId: 'nope', reference: '' } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutboxError);
      expect(error).toMatchObject({ code: 'INVALID_OPERATION', detail: { code: 'VALIDATION_FAILED', retryable: false } });
      expect((error as Error).message).toMatch(/verseCardId: must be a UUID/);
      const unknownType = await enqueueOperation(db, { type: 'DROP_TABLE' as never, payload: {} as never }).catch((e: unknown) => e);
      expect(unknownType).toMatchObject({ code: 'INVALID_OPERATION', detail: { code: 'UNKNOWN_TYPE' } });
      const badRetries = await enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() }, maxRetries: 0 }).catch((e: unknown) => e);
      expect(badRetries).toMatchObject({ code: 'INVALID_OPERATION' });
    });
    expect(await dump(db)).toEqual(before);
  });

  test('stores the cleaned payload and the seed fields', async () => {
    const verseCardId = randomUUID();
    const row = await db.transaction('rw', db.syncOperations, db.meta, () =>
      enqueueOperation(db, {
        type: 'CREATE_VERSE',
        payload: { verseCardId, reference: 'John 1:1', extra: 'dropped' } as never,
        priority: 'low',
        userId: USER_A,
        now: AT,
      }),
    );
    expect(row).toEqual({
      id: row.id,
      type: 'CREATE_VERSE',
      payload: { verseCardId, reference: 'John 1:1' },
      timestamp: AT.getTime(),
      priority: 'low',
      retryCount: 0,
      maxRetries: 3,
      seq: 1,
      status: 'queued',
      userId: USER_A,
    });
    expect(await db.syncOperations.get(row.id)).toEqual(row);
  });

  test('parallel enqueues inside one transaction get distinct, increasing seqs', async () => {
    const rows = await db.transaction('rw', db.syncOperations, db.meta, () =>
      Promise.all(Array.from({ length: 10 }, () => enqueueOperation(db, { type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } }))),
    );
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await db.meta.get('outbox.seq'))?.value).toBe(10);
  });
});

test('enqueueOperations validates every input before writing any, then takes consecutive seqs', async () => {
  await enqueueVerse();
  const before = await dump(db);
  const del = () => ({ type: 'DELETE_VERSE' as const, payload: { verseCardId: randomUUID() } });
  const rejected = await db
    .transaction('rw', db.syncOperations, db.meta, () => enqueueOperations(db, [del(), { type: 'DELETE_VERSE', payload: { verseCardId: 'x' } }, del()]))
    .catch((e: unknown) => e);
  expect(rejected).toMatchObject({ code: 'INVALID_OPERATION' });
  expect(await dump(db)).toEqual(before);
  const rows = await db.transaction('rw', db.syncOperations, db.meta, () => enqueueOperations(db, [del(), del(), del()]));
  expect(rows.map((r) => r.seq)).toEqual([2, 3, 4]);
  expect(await db.transaction('rw', db.syncOperations, db.meta, () => enqueueOperations(db, []))).toEqual([]);
});

describe('claimBatch', () => {
  test('returns null and writes no batch when nothing is queued', async () => {
    expect(await claim()).toBeNull();
    expect(await db.syncBatches.count()).toBe(0);
  });

  test('takes the oldest ops by seq up to maxOps, marks them inFlight and records a syncing batch', async () => {
    const ops = await enqueueMany(5);
    const first = await claim(2);
    expect(first?.operations.map((o) => o.id)).toEqual([ops[0].id, ops[1].id]);
    expect(first?.operations[0]).toEqual({ id: ops[0].id, seq: ops[0].seq, type: 'CREATE_VERSE', payload: ops[0].payload, localRecordId: ops[0].localRecordId });
    expect(first?.bytes).toBe(jsonBytes(first?.operations));
    const rows = await opsBySeq(db);
    expect(rows.map((r) => r.status)).toEqual(['inFlight', 'inFlight', 'queued', 'queued', 'queued']);
    expect(rows[0].batchId).toBe(first?.batchId);
    expect(await db.syncBatches.get(first!.batchId)).toEqual({
      id: first!.batchId,
      seq: 1,
      status: 'syncing',
      opIds: [ops[0].id, ops[1].id],
      opCount: 2,
      bytes: first!.bytes,
      createdAt: AT.toISOString(),
      successCount: 0,
      failureCount: 0,
      userId: USER_A,
    });
    const second = await claim(2);
    expect(second?.operations.map((o) => o.seq)).toEqual([3, 4]);
    expect((await db.syncBatches.get(second!.batchId))?.seq).toBe(2);
    expect((await claim(2))?.operations.map((o) => o.seq)).toEqual([5]);
    expect(await claim(2)).toBeNull();
  });

  test('the exact boundary: pending == maxOps empties the queue in one batch and the next claim is null', async () => {
    await enqueueMany(3);
    expect(await countPending(db)).toBe(3);
    const batch = await claim(3);
    expect(batch?.operations).toHaveLength(3);
    expect(await countPending(db)).toBe(0);
    expect(await claim(3)).toBeNull();
  });

  test('orders by seq only, never by priority', async () => {
    await enqueueVerse({ priority: 'low' });
    await enqueueVerse({ priority: 'immediate' });
    await enqueueVerse({ priority: 'normal' });
    await enqueueVerse({ priority: 'high' });
    expect((await claim())?.operations.map((o) => o.seq)).toEqual([1, 2, 3, 4]);
  });

  test('respects maxBytes exactly, and always takes at least one op', async () => {
    await enqueueMany(3);
    const all = (await opsBySeq(db)).map((op) => jsonBytes({ id: op.id, seq: op.seq, type: op.type, payload: op.payload, localRecordId: op.localRecordId }));
    const twoOps = 2 + all[0] + 1 + all[1];
    const fits = await claimBatch(db, { batchId: randomUUID(), maxOps: 10, maxBytes: twoOps }, { userId: USER_A });
    expect(fits?.operations.map((o) => o.seq)).toEqual([1, 2]);
    expect(fits?.bytes).toBe(twoOps);
    await recoverInFlight(db);
    const short = await claimBatch(db, { batchId: randomUUID(), maxOps: 10, maxBytes: twoOps - 1 }, { userId: USER_A });
    expect(short?.operations.map((o) => o.seq)).toEqual([1]);
    await recoverInFlight(db);
    const tiny = await claimBatch(db, { batchId: randomUUID(), maxOps: 10, maxBytes: 10 }, { userId: USER_A });
    expect(tiny?.operations.map((o) => o.seq)).toEqual([1]);
  });

  test('stops at an op that does not fit rather than letting a smaller later op overtake it', async () => {
    await enqueueVerse({}, 'A 1:1');
    await enqueueVerse({}, 'B'.repeat(200));
    await enqueueVerse({}, 'C 1:1');
    const sizes = (await opsBySeq(db)).map((op) => jsonBytes({ id: op.id, seq: op.seq, type: op.type, payload: op.payload, localRecordId: op.localRecordId }));
    const batch = await claim(10, 2 + sizes[0] + 1 + sizes[2]);
    expect(batch?.operations.map((o) => o.seq)).toEqual([1]);
  });

  test("skips other users' ops (they stay queued) and adopts user-less ones", async () => {
    await enqueueVerse({ userId: USER_A });
    const theirs = await enqueueVerse({ userId: USER_B });
    const orphan = await enqueueVerse({});
    await enqueueVerse({ userId: USER_A });
    expect(await countPending(db)).toBe(4);
    expect(await countPending(db, USER_A)).toBe(3);
    expect(await countPending(db, USER_B)).toBe(2);

    const batch = await claim(10, 512 * 1024, USER_A);
    expect(batch?.operations.map((o) => o.seq)).toEqual([1, 3, 4]);
    expect((await db.syncOperations.get(orphan.id))?.userId).toBe(USER_A);
    expect(await db.syncOperations.get(theirs.id)).toEqual(theirs);
    expect(await countPending(db, USER_A)).toBe(0);
    expect(await countPending(db, USER_B)).toBe(1);
    expect(await claim(10, 512 * 1024, USER_A)).toBeNull();
    expect((await claim(10, 512 * 1024, USER_B))?.operations.map((o) => o.seq)).toEqual([2]);
  });

  test('signed out, only user-less ops are claimed and none is given a user', async () => {
    await enqueueVerse({ userId: USER_A });
    const orphan = await enqueueVerse({});
    const batch = await claimBatch(db, { batchId: randomUUID(), maxOps: 10, maxBytes: 512 * 1024 }, {});
    expect(batch?.operations.map((o) => o.id)).toEqual([orphan.id]);
    expect((await db.syncOperations.get(orphan.id))?.userId).toBeUndefined();
  });

  test('walks past many skipped ops of another user (more than one page)', async () => {
    await enqueueMany(450, { userId: USER_B });
    const mine = await enqueueVerse({ userId: USER_A });
    expect((await claim(5))?.operations.map((o) => o.id)).toEqual([mine.id]);
  });

  test('refuses a reused batch id and bad bounds', async () => {
    await enqueueMany(2);
    const batchId = randomUUID();
    await claimBatch(db, { batchId, maxOps: 1, maxBytes: 1000 });
    await expect(claimBatch(db, { batchId, maxOps: 1, maxBytes: 1000 })).rejects.toMatchObject({ code: 'BATCH_EXISTS' });
    await expect(claimBatch(db, { batchId: randomUUID(), maxOps: 0, maxBytes: 1000 })).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
    await expect(claimBatch(db, { batchId: randomUUID(), maxOps: 1, maxBytes: 0 })).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
    expect(await countPending(db)).toBe(1);
  });
});

describe('recordResults', () => {
  test('successes leave the outbox and are written back onto every kind of local record', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('John 3:16');
    const review = await service.recordReview(card.id, true);
    const alias = await service.createAlias(card.id, 'gospel');
    const profile = await service.updateProfile({ displayName: 'Ann' });
    const gone = await service.addVerseCard('Jude 1:24');
    await service.deleteVerse(gone.id);
    const batch = await claim();
    expect(batch?.operations).toHaveLength(6);
    const remoteVerseId = randomUUID();
    const remoteGoneVerse = randomUUID();
    const [createOp, , , , createGone, deleteOp] = batch!.operations;

    const outcome = await recordResults(
      db,
      {
        batchId: batch!.batchId,
        results: batch!.operations.map((op) =>
          ok(op.id, op === createOp ? { remoteId: remoteVerseId } : op === createGone ? { remoteId: remoteGoneVerse } : {}),
        ),
      },
      { now: new Date('2026-11-24T12:00:05.000Z') },
    );
    expect(outcome).toEqual({ status: 'completed', succeeded: 6, requeued: 0, held: 0, dead: 0, pending: 0 });
    expect(await db.syncOperations.count()).toBe(0);
    const synced = AT.toISOString();
    expect(await db.verseCards.get(card.id)).toMatchObject({ syncedAt: synced, remoteId: remoteVerseId });
    expect((await db.verses.get(card.verseId))?.remoteId).toBe(remoteVerseId);
    expect((await db.reviewLogs.get(review.id))?.syncedAt).toBe(synced);
    expect((await db.aliases.get(alias.id))?.syncedAt).toBe(synced);
    expect((await db.profile.get(profile.id))?.syncedAt).toBe(synced);
    expect(await db.verseCards.get(gone.id)).toMatchObject({ syncedAt: synced, remoteId: remoteGoneVerse, deletedAt: expect.any(String) });
    expect(deleteOp.type).toBe('DELETE_VERSE');
    expect(await db.syncBatches.get(batch!.batchId)).toMatchObject({
      status: 'completed',
      successCount: 6,
      failureCount: 0,
      syncedAt: '2026-11-24T12:00:05.000Z',
    });
  });

  test('without appliedAt, syncedAt is the local time of the answer', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('Ruth 1:16');
    const batch = await claim();
    await recordResults(db, { batchId: batch!.batchId, results: [{ id: batch!.operations[0].id, success: true }] }, { now: AT });
    expect((await db.verseCards.get(card.id))?.syncedAt).toBe(AT.toISOString());
  });

  test('retryable errors requeue with retryCount+1 and lastError; fatal ones become dead letters; missing results retry without spending one', async () => {
    const ops = await enqueueMany(4);
    const batch = await claim();
    const outcome = await recordResults(
      db,
      { batchId: batch!.batchId, results: [ok(ops[0].id), fail(ops[1].id, true), fail(ops[2].id, false)] },
      { now: AT },
    );
    expect(outcome).toEqual({ status: 'partial', succeeded: 1, requeued: 2, held: 0, dead: 1, pending: 2 });
    expect(await db.syncOperations.get(ops[0].id)).toBeUndefined();
    const retry = await db.syncOperations.get(ops[1].id);
    expect(retry).toMatchObject({ status: 'queued', retryCount: 1, lastError: { code: 'DEADLOCK', message: 'server said DEADLOCK', retryable: true, at: AT.toISOString() } });
    expect(retry).not.toHaveProperty('batchId');
    expect(await db.syncOperations.get(ops[2].id)).toMatchObject({
      status: 'dead',
      lastError: { code: 'VALIDATION_FAILED', message: 'server said VALIDATION_FAILED', retryable: false },
    });
    expect(await db.syncOperations.get(ops[3].id)).toMatchObject({ status: 'queued', retryCount: 0, lastError: { code: 'NO_RESULT', retryable: true } });
    expect(await db.syncBatches.get(batch!.batchId)).toMatchObject({
      status: 'partial',
      successCount: 1,
      failureCount: 3,
      errorMessage: expect.stringContaining('3 of 4 operations failed; first: DEADLOCK'),
    });
    // requeued ops keep their place: the next batch carries them in seq order
    expect((await claim())?.operations.map((o) => o.id)).toEqual([ops[1].id, ops[3].id]);
  });

  test('a batch where nothing succeeded is failed', async () => {
    const ops = await enqueueMany(2);
    const batch = await claim();
    const outcome = await recordResults(db, { batchId: batch!.batchId, results: [fail(ops[0].id, true), fail(ops[1].id, true)] });
    expect(outcome).toMatchObject({ status: 'failed', succeeded: 0, requeued: 2, dead: 0, pending: 2 });
    expect((await db.syncBatches.get(batch!.batchId))?.status).toBe('failed');
  });

  test("retryable failures become dead once the server's retryable answers for the op reach maxRetries", async () => {
    const op = await enqueueVerse({ maxRetries: 2 });
    let batch = await claim();
    expect(await recordResults(db, { batchId: batch!.batchId, results: [fail(op.id, true)] })).toMatchObject({ requeued: 1, dead: 0 });
    batch = await claim();
    expect(await recordResults(db, { batchId: batch!.batchId, results: [fail(op.id, true)] })).toMatchObject({ requeued: 0, dead: 1, pending: 0 });
    expect(await db.syncOperations.get(op.id)).toMatchObject({ status: 'dead', retryCount: 2, lastError: { code: 'DEADLOCK' } });
    expect(await claim()).toBeNull();
  });

  test('an answer without the op, or a failure without a reason, never spends a retry: resent forever', async () => {
    const op = await enqueueVerse({ maxRetries: 2 });
    for (let i = 0; i < 10; i++) {
      const batch = await claim();
      const results = i % 2 === 0 ? [] : [{ id: op.id, success: false }];
      expect(await recordResults(db, { batchId: batch!.batchId, results })).toMatchObject({ requeued: 1, dead: 0, pending: 1 });
    }
    expect(await db.syncOperations.get(op.id)).toMatchObject({ status: 'queued', retryCount: 0, lastError: { code: 'OPERATION_FAILED' } });
  });

  test('results for ops outside the batch are ignored; an unknown batch is an error', async () => {
    const ops = await enqueueMany(2);
    const batch = await claim(1);
    const outcome = await recordResults(db, { batchId: batch!.batchId, results: [ok(ops[0].id), ok(ops[1].id)] });
    expect(outcome).toMatchObject({ succeeded: 1, pending: 1 });
    expect((await db.syncOperations.get(ops[1].id))?.status).toBe('queued');
    await expect(recordResults(db, { batchId: randomUUID(), results: [] })).rejects.toMatchObject({ code: 'BATCH_NOT_FOUND' });
  });

  test('a late answer for a batch already released changes nothing', async () => {
    const ops = await enqueueMany(1);
    const batch = await claim();
    await releaseBatch(db, { batchId: batch!.batchId, failure: { kind: 'timeout', message: 'no answer in 30 s' } });
    const before = await dump(db);
    const outcome = await recordResults(db, { batchId: batch!.batchId, results: [ok(ops[0].id)] });
    expect(outcome).toEqual({ status: 'failed', succeeded: 0, requeued: 0, held: 0, dead: 0, pending: 1 });
    expect(await dump(db)).toEqual(before);
  });

  test('lastError is plain data that survives structuredClone and JSON', async () => {
    const ops = await enqueueMany(2);
    const batch = await claim();
    await recordResults(db, { batchId: batch!.batchId, results: [fail(ops[0].id, false), fail(ops[1].id, true)] }, { now: AT });
    for (const row of await opsBySeq(db)) {
      expect(Object.keys(row.lastError!).sort()).toEqual(['at', 'code', 'message', 'retryable']);
      expect(structuredClone(row)).toEqual(row);
      expect(JSON.parse(JSON.stringify(row))).toEqual(row);
    }
  });
});

describe('releaseBatch', () => {
  const network = { kind: 'network' as const, message: 'Failed to fetch' };

  test('a 401: ops back to queued, no attempt spent, batch failed', async () => {
    const ops = await enqueueMany(3);
    const batch = await claim();
    const outcome = await releaseBatch(db, { batchId: batch!.batchId, failure: { kind: 'auth', message: 'JWT expired', status: 401 } }, { now: AT });
    expect(outcome).toEqual({ requeued: 3, dead: 0, pending: 3 });
    const rows = await opsBySeq(db);
    expect(rows.map((r) => [r.status, r.retryCount])).toEqual([
      ['queued', 0],
      ['queued', 0],
      ['queued', 0],
    ]);
    expect(rows[0].lastError).toEqual({ code: 'UNAUTHORIZED', message: 'JWT expired', retryable: true, at: AT.toISOString() });
    expect(rows.some((r) => 'batchId' in r)).toBe(false);
    expect(await db.syncBatches.get(batch!.batchId)).toMatchObject({ status: 'failed', errorMessage: 'JWT expired', failureCount: 3 });
    expect((await claim())?.operations.map((o) => o.id)).toEqual(ops.map((o) => o.id));
  });

  test('a failure of the whole request never kills an op, however often: no retry spent', async () => {
    await enqueueVerse({ maxRetries: 2 });
    const failures = [network, { ...network, code: 'ECONNRESET' }, { kind: 'timeout' as const, message: 'no answer' }, { kind: 'server' as const, message: 'HTTP 500', status: 500 }, { kind: 'rateLimited' as const, message: 'HTTP 429', status: 429 }];
    for (let i = 0; i < 20; i++) {
      const batch = await claim();
      expect(await releaseBatch(db, { batchId: batch!.batchId, failure: failures[i % failures.length] })).toEqual({ requeued: 1, dead: 0, pending: 1 });
    }
    expect((await opsBySeq(db))[0]).toMatchObject({ status: 'queued', retryCount: 0, lastError: { code: 'RATE_LIMITED' } });
    expect(await listDeadLetters(db)).toEqual([]);
  });

  test("fatal: every op of the batch becomes a dead letter with the failure's reason", async () => {
    await enqueueMany(2);
    const batch = await claim();
    const outcome = await releaseBatch(db, {
      batchId: batch!.batchId,
      failure: { kind: 'fatal', message: 'batch exceeds 1000 operations', status: 413, code: 'PAYLOAD_TOO_LARGE' },
    });
    expect(outcome).toEqual({ requeued: 0, dead: 2, pending: 0 });
    const dead = await listDeadLetters(db);
    expect(dead.map((d) => d.lastError)).toEqual([
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', message: 'batch exceeds 1000 operations', retryable: false }),
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', retryable: false }),
    ]);
  });

  test('a failure carrying non-serializable extras still stores plain data', async () => {
    await enqueueMany(1);
    const batch = await claim();
    const failure = { kind: 'server', message: 'Bad gateway', status: 502, cause: new Error('socket'), retry: () => undefined } as never;
    await releaseBatch(db, { batchId: batch!.batchId, failure }, { now: AT });
    const [row] = await opsBySeq(db);
    expect(row.lastError).toEqual({ code: 'SERVER_ERROR', message: 'Bad gateway', retryable: true, at: AT.toISOString() });
    expect(structuredClone(row)).toEqual(row);
  });

  test('only touches ops still inFlight in that batch; an unknown batch is a no-op', async () => {
    await enqueueMany(2);
    const first = await claim(1);
    const second = await claim(1);
    await releaseBatch(db, { batchId: first!.batchId, failure: network });
    const rows = await opsBySeq(db);
    expect(rows.map((r) => r.status)).toEqual(['queued', 'inFlight']);
    expect(rows[1].batchId).toBe(second!.batchId);
    const before = await dump(db);
    expect(await releaseBatch(db, { batchId: randomUUID(), failure: network })).toEqual({ requeued: 0, dead: 0, pending: 1 });
    expect(await dump(db)).toEqual(before);
  });
});

test('a release issued while its claim is still running waits for it and puts the ops back (claim timeout)', async () => {
  await enqueueMany(3);
  const batchId = randomUUID();
  const claiming = claimBatch(db, { batchId, maxOps: 10, maxBytes: 100_000 }, { userId: USER_A });
  const releasing = releaseBatch(db, { batchId, failure: { kind: 'timeout', message: 'claim took too long' } });
  const [claimed, released] = await Promise.all([claiming, releasing]);
  expect(claimed?.operations).toHaveLength(3);
  expect(released).toEqual({ requeued: 3, dead: 0, pending: 3 });
  expect((await opsBySeq(db)).map((op) => op.status)).toEqual(['queued', 'queued', 'queued']);
});

describe('a batch larger than one chunk (claimed and settled OPS_PER_TRANSACTION ops a transaction)', () => {
  const N = OPS_PER_TRANSACTION * 2 + 50;
  const writeNow = () => enqueueVerse({ userId: USER_A }, 'Write 1:1');

  test('claim: every op once, in seq order, under one batch row that lists them all', async () => {
    const ops = await enqueueMany(N, { userId: USER_A });
    const claimed = (await claim(1000))!;
    expect(claimed.operations.map((o) => o.id)).toEqual(ops.map((o) => o.id));
    const row = (await db.syncBatches.get(claimed.batchId))!;
    expect(row).toMatchObject({ status: 'syncing', opCount: N, bytes: claimed.bytes });
    expect(row.opIds).toEqual(ops.map((o) => o.id));
    expect(new Set((await opsBySeq(db)).map((op) => `${op.status}:${op.batchId}`))).toEqual(new Set([`inFlight:${claimed.batchId}`]));
  });

  test('onClaimed hears every claimed op across chunks, with its enqueue time, once the claim is written', async () => {
    const ops = await enqueueMany(N, { userId: USER_A });
    const heard: Array<{ id: string; timestamp: number }> = [];
    const claimed = (await claimBatch(db, { batchId: randomUUID(), maxOps: 1000, maxBytes: 512 * 1024 }, { userId: USER_A, onClaimed: (c) => heard.push(...c) }))!;
    expect(heard).toEqual(ops.map((o) => ({ id: o.id, timestamp: o.timestamp })));
    expect(claimed.operations).toHaveLength(N);
    expect(await claimBatch(db, { batchId: randomUUID(), maxOps: 10, maxBytes: 512 * 1024 }, { onClaimed: () => heard.push({ id: 'none', timestamp: 0 }) })).toBeNull();
    expect(heard).toHaveLength(N);
  });

  test('maxOps and maxBytes still hold across chunks', async () => {
    await enqueueMany(N, { userId: USER_A });
    expect((await claim(OPS_PER_TRANSACTION + 7))!.operations).toHaveLength(OPS_PER_TRANSACTION + 7);
    // Room for about one and a half chunks of these ops (~200–300 bytes each), so the limit falls inside the second chunk.
    const budget = OPS_PER_TRANSACTION * 450;
    const claimed = (await claim(1000, budget))!;
    expect(claimed.bytes).toBeLessThanOrEqual(budget);
    expect(claimed.operations.length).toBeGreaterThan(OPS_PER_TRANSACTION); // the limit spans chunks
    expect(claimed.operations.length).toBeLessThan(N - OPS_PER_TRANSACTION - 7);
  });

  test('a local write started during a large claim or settle commits before it ends (it waits for one chunk)', async () => {
    await enqueueMany(N, { userId: USER_A });
    const order: string[] = [];
    const claiming = claim(1000).then((c) => (order.push('claim'), c));
    await writeNow().then(() => order.push('write'));
    const claimed = (await claiming)!;
    expect(order).toEqual(['write', 'claim']);
    // The write committed between two chunks; being newest, a later chunk took it too.
    expect(claimed.operations).toHaveLength(N + 1);

    order.length = 0;
    const recording = recordResults(db, { batchId: claimed.batchId, results: claimed.operations.map((o) => ok(o.id)) }).then((r) => (order.push('record'), r));
    await writeNow().then(() => order.push('write'));
    expect(await recording).toEqual({ status: 'completed', succeeded: N + 1, requeued: 0, held: 0, dead: 0, pending: 1 });
    expect(order).toEqual(['write', 'record']);
  });

  test('record: mixed answers across chunks add up, the batch row is settled once at the end', async () => {
    await enqueueMany(N, { userId: USER_A, maxRetries: 3 });
    const claimed = (await claim(1000))!;
    const results = claimed.operations.map((o, i) => (i % 3 === 0 ? fail(o.id, true) : i % 7 === 0 ? fail(o.id, false) : ok(o.id)));
    const retry = results.filter((r) => !r.success && r.error?.retryable).length;
    const fatal = results.filter((r) => !r.success && !r.error?.retryable).length;
    const outcome = await recordResults(db, { batchId: claimed.batchId, results });
    expect(outcome).toEqual({ status: 'partial', succeeded: N - retry - fatal, requeued: retry, held: 0, dead: fatal, pending: retry });
    expect(await db.syncBatches.get(claimed.batchId)).toMatchObject({ status: 'partial', successCount: N - retry - fatal, failureCount: retry + fatal });
    expect(await db.syncOperations.where('batchId').equals(claimed.batchId).count()).toBe(0);
  });

  test('release: every chunk goes back; a release between two claim chunks stops the claim and leaves nothing in flight', async () => {
    await enqueueMany(N, { userId: USER_A });
    const claimed = (await claim(1000))!;
    expect(await releaseBatch(db, { batchId: claimed.batchId, failure: { kind: 'server', message: 'HTTP 503' } })).toEqual({ requeued: N, dead: 0, pending: N });

    const batchId = randomUUID();
    const claiming = claimBatch(db, { batchId, maxOps: 1000, maxBytes: 512 * 1024 }, { userId: USER_A });
    const releasing = releaseBatch(db, { batchId, failure: { kind: 'timeout', message: 'claim took too long' } });
    const [claimError, released] = await Promise.all([claiming.then(() => null, (e: unknown) => e), releasing]);
    expect(claimError).toBeInstanceOf(OutboxError);
    expect((claimError as OutboxError).code).toBe('BATCH_RELEASED');
    expect(released).toMatchObject({ dead: 0, pending: N });
    expect(released.requeued).toBeGreaterThanOrEqual(OPS_PER_TRANSACTION);
    expect((await opsBySeq(db)).filter((op) => op.status !== 'queued')).toEqual([]);
    expect(await db.syncBatches.get(batchId)).toMatchObject({ status: 'failed' });
  });

  test('a claim whose later chunk fails gives back what the earlier chunks took', async () => {
    await enqueueMany(N, { userId: USER_A });
    let puts = 0;
    const failLater = function (this: unknown) {
      if (++puts === OPS_PER_TRANSACTION + 1) throw new Error('disk full'); // once: the give-back must succeed
    };
    db.syncOperations.hook('updating', failLater);
    const error = await claim(1000).catch((e: unknown) => e);
    db.syncOperations.hook('updating').unsubscribe(failLater);
    expect(String(error)).toMatch(/disk full/);
    expect((await opsBySeq(db)).filter((op) => op.status !== 'queued')).toEqual([]);
    expect(await countPending(db, USER_A)).toBe(N);
    expect((await db.syncBatches.toArray()).map((b) => b.status)).toEqual(['failed']);
  });
});

describe('recoverInFlight', () => {
  test('after a reload, in-flight ops are queued again without spending an attempt and open batches fail as interrupted', async () => {
    const ops = await enqueueMany(3);
    const batch = await claim(2);
    await db.syncBatches.add({ id: 'never-sent', seq: 99, status: 'pending', opIds: [], opCount: 0, bytes: 0, createdAt: AT.toISOString(), successCount: 0, failureCount: 0 });
    db.close();
    const reloaded = createVersesDb(name);
    try {
      expect(await recoverInFlight(reloaded)).toBe(2);
      const rows = (await reloaded.syncOperations.toArray()).sort((a, b) => a.seq - b.seq);
      expect(rows.map((r) => [r.status, r.retryCount, r.batchId])).toEqual([
        ['queued', 0, undefined],
        ['queued', 0, undefined],
        ['queued', 0, undefined],
      ]);
      expect(await reloaded.syncBatches.get(batch!.batchId)).toMatchObject({ status: 'failed', errorMessage: 'interrupted' });
      expect(await reloaded.syncBatches.get('never-sent')).toMatchObject({ status: 'failed', errorMessage: 'interrupted' });
      expect(await countPending(reloaded, USER_A)).toBe(3);
      const again = await claimBatch(reloaded, { batchId: randomUUID(), maxOps: 10, maxBytes: 100_000 }, { userId: USER_A });
      expect(again?.operations.map((o) => o.id)).toEqual(ops.map((o) => o.id));
      expect(await recoverInFlight(reloaded)).toBe(3);
      expect(await recoverInFlight(reloaded)).toBe(0);
    } finally {
      reloaded.close();
      await db.open();
    }
  });

  test('leaves completed batches and dead letters alone', async () => {
    const ops = await enqueueMany(2);
    const batch = await claim();
    await recordResults(db, { batchId: batch!.batchId, results: [ok(ops[0].id), fail(ops[1].id, false)] });
    const before = await dump(db);
    expect(await recoverInFlight(db)).toBe(0);
    expect(await dump(db)).toEqual(before);
  });
});

describe('dead letters', () => {
  async function oneDead(): Promise<SyncOperation[]> {
    const ops = await enqueueMany(3);
    const batch = await claim(2);
    await recordResults(db, { batchId: batch!.batchId, results: [fail(ops[0].id, false), ok(ops[1].id)] }, { now: AT });
    return ops;
  }

  test('are listed in seq order with the reason', async () => {
    const ops = await oneDead();
    const dead = await listDeadLetters(db);
    expect(dead.map((d) => d.id)).toEqual([ops[0].id]);
    expect(dead[0].lastError).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(await listDeadLetters(db, USER_A)).toHaveLength(1);
    expect(await listDeadLetters(db, USER_B)).toHaveLength(0);
    expect(await countPending(db)).toBe(1);
  });

  test('retry puts one back at its seq place with a fresh budget, keeping lastError until success', async () => {
    const ops = await oneDead();
    const row = await retryDeadLetter(db, ops[0].id);
    expect(row).toMatchObject({ id: ops[0].id, status: 'queued', retryCount: 0, lastError: { code: 'VALIDATION_FAILED' } });
    expect(await db.syncOperations.get(ops[0].id)).toEqual(row);
    expect(await listDeadLetters(db)).toEqual([]);
    expect(await countPending(db)).toBe(2);
    const batch = await claim();
    expect(batch?.operations.map((o) => o.id)).toEqual([ops[0].id, ops[2].id]);
    await recordResults(db, { batchId: batch!.batchId, results: [ok(ops[0].id), ok(ops[2].id)] });
    expect(await db.syncOperations.count()).toBe(0);
  });

  test('discard deletes it for good', async () => {
    const ops = await oneDead();
    expect(await discardDeadLetter(db, ops[0].id)).toBe(true);
    expect(await db.syncOperations.get(ops[0].id)).toBeUndefined();
    expect(await discardDeadLetter(db, ops[0].id)).toBe(false);
  });

  test('retry and discard ignore ops that are not dead', async () => {
    const ops = await oneDead();
    const queued = ops[2];
    expect(await retryDeadLetter(db, queued.id)).toBeUndefined();
    expect(await discardDeadLetter(db, queued.id)).toBe(false);
    expect(await retryDeadLetter(db, randomUUID())).toBeUndefined();
    expect((await db.syncOperations.get(queued.id))?.status).toBe('queued');
  });
});

describe('countPending', () => {
  test('counts queued ops only: not inFlight, not dead', async () => {
    const ops = await enqueueMany(4, { userId: USER_A });
    await enqueueVerse({ userId: USER_B });
    await enqueueVerse({});
    expect(await countPending(db)).toBe(6);
    expect(await countPending(db, USER_A)).toBe(5);
    const batch = await claim(2);
    expect(await countPending(db, USER_A)).toBe(3);
    await recordResults(db, { batchId: batch!.batchId, results: [fail(ops[0].id, false), fail(ops[1].id, false)] });
    expect(await countPending(db)).toBe(4);
    expect(await countPending(db, USER_A)).toBe(3);
    expect(await countPending(db, USER_B)).toBe(2);
  });

  test('works inside a caller transaction', async () => {
    await enqueueMany(2);
    const n = await db.transaction('r', db.syncOperations, () => countPending(db));
    expect(n).toBe(2);
    expect(Dexie.currentTransaction).toBeFalsy();
  });
});

describe('set-aside ops (a lone op the server keeps failing on)', () => {
  const T0 = AT.getTime();
  const review = (verseCardId: string) =>
    db.transaction('rw', db.syncOperations, db.meta, () =>
      enqueueOperation(db, {
        type: 'RECORD_REVIEW',
        payload: { reviewId: randomUUID(), verseCardId, correct: true, reviewDate: AT.toISOString() },
        userId: USER_A,
      }),
    );
  const cardId = (op: SyncOperation) => op.payload.verseCardId as string;
  const claimAt = (at: number, maxOps = 100, trial = false) =>
    claimBatch(db, { batchId: randomUUID(), maxOps, maxBytes: 512 * 1024, now: at, ...(trial ? { trial } : {}) }, { userId: USER_A });
  /** Sets the op at the head of the queue aside on trial: claimed alone, its HALVE_AFTER-th lone 5xx. */
  const setAsideOnTrial = async (at: number) => {
    const b = await claimAt(at, 1);
    return releaseBatch(db, { batchId: b!.batchId, failure: serverError, setAside: { baseMs: CAP, streakReached: true }, now: at }, { random: () => 0.5 });
  };
  const serverError = { kind: 'server' as const, message: 'the server failed', status: 500 };
  const CAP = 60_000;

  test('set aside after the streak: skipped with its card\'s later ops until due, then claimed alone; success clears it; counts stay right', async () => {
    const poisoned = await enqueueVerse({ userId: USER_A });
    const poisonedReview = await review(cardId(poisoned));
    const others = await enqueueMany(3, { userId: USER_A });
    const otherReview = await review(cardId(others[0]!));

    // Alone, a 5xx before the streak is reached only requeues it.
    const lone = await claimAt(T0, 1);
    expect(lone!.operations.map((o) => o.id)).toEqual([poisoned.id]);
    expect(await releaseBatch(db, { batchId: lone!.batchId, failure: serverError, setAside: { baseMs: CAP, streakReached: false }, now: T0 })).toEqual({ requeued: 1, dead: 0, pending: 6 });
    expect((await db.syncOperations.get(poisoned.id))!.setAside).toBeUndefined();

    // The streak reached: set aside on trial, still queued and pending, no retry spent, not a dead letter.
    const released = await setAsideOnTrial(T0);
    expect(released).toEqual({ requeued: 1, dead: 0, pending: 6, setAside: 1 });
    expect(await db.syncOperations.get(poisoned.id)).toMatchObject({ status: 'queued', retryCount: 0, setAside: { count: 1, baseMs: CAP }, nextAttemptAt: T0 + 45_000 });
    expect((await db.syncOperations.get(poisoned.id))!.setAside!.confirmed).toBeUndefined();
    expect(await countUnsynced(db, USER_A)).toEqual({ total: 6, queued: 6, sending: 0, waiting: 0, setAside: 0 });
    expect(await countPending(db, USER_A)).toBe(6);

    // The trial batch: the other cards' ops go, the poisoned card's review waits behind its create.
    const rest = await claimAt(T0 + 1, 100, true);
    expect(rest!.operations.map((o) => o.id)).toEqual([...others.map((o) => o.id), otherReview.id]);
    // The server took them: the op stays set aside, confirmed, and waits for its time.
    expect(await recordResults(db, { batchId: rest!.batchId, results: rest!.operations.map((o) => ok(o.id)) })).toMatchObject({
      pending: 1,
      setAsideUntil: T0 + 45_000,
    });
    expect((await db.syncOperations.get(poisoned.id))!.setAside).toEqual({ count: 1, baseMs: CAP, confirmed: true });
    expect(await countUnsynced(db, USER_A)).toEqual({ total: 2, queued: 2, sending: 0, waiting: 0, setAside: 1 });
    expect(await countPending(db, USER_A)).toBe(1);
    expect(await claimAt(T0 + 44_999)).toBeNull();

    // Due: it goes alone, even with room for its review. Failing alone again, its wait doubles.
    const due = await claimAt(T0 + 45_000);
    expect(due!.operations.map((o) => o.id)).toEqual([poisoned.id]);
    const twice = await releaseBatch(db, { batchId: due!.batchId, failure: serverError, setAside: { baseMs: CAP, streakReached: false }, now: T0 + 45_000 }, { random: () => 1 });
    expect(twice).toMatchObject({ setAside: 1, setAsideUntil: T0 + 45_000 + 2 * CAP });
    // A 503 (the whole server away) or a network failure of a due one keeps it as it is.
    const third = await claimAt(T0 + 45_000 + 2 * CAP);
    const kept = await releaseBatch(db, { batchId: third!.batchId, failure: { ...serverError, status: 503 }, setAside: { baseMs: CAP, streakReached: true } });
    expect(kept).toEqual({ requeued: 1, dead: 0, pending: 1, setAsideUntil: T0 + 45_000 + 2 * CAP });
    expect((await db.syncOperations.get(poisoned.id))!.setAside).toEqual({ count: 2, baseMs: CAP, confirmed: true });
    // The longest wait is SET_ASIDE_MAX_FACTOR times the first.
    for (let i = 0; i < 8; i++) {
      const at = (await db.syncOperations.get(poisoned.id))!.nextAttemptAt!;
      const b = await claimAt(at);
      await releaseBatch(db, { batchId: b!.batchId, failure: serverError, setAside: { baseMs: CAP, streakReached: false }, now: at }, { random: () => 1 });
      expect((await db.syncOperations.get(poisoned.id))!.nextAttemptAt! - at).toBe(Math.min(CAP * 2 ** (i + 2), 32 * CAP));
    }

    // Healed: the answer clears it, and its card's review follows.
    const at = (await db.syncOperations.get(poisoned.id))!.nextAttemptAt!;
    const last = await claimAt(at);
    expect(last!.operations.map((o) => o.id)).toEqual([poisoned.id]);
    const recorded = await recordResults(db, { batchId: last!.batchId, results: [ok(poisoned.id)] });
    expect(recorded).toEqual({ status: 'completed', succeeded: 1, requeued: 0, held: 0, dead: 0, pending: 1 });
    expect(await countUnsynced(db, USER_A)).toEqual({ total: 1, queued: 1, sending: 0, waiting: 0, setAside: 0 });
    expect((await claimAt(at))!.operations.map((o) => o.id)).toEqual([poisonedReview.id]);
    expect(await listDeadLetters(db)).toEqual([]);
  });

  test('a lone op answered with a retryable per-op error leaves set-aside (the server answered for it)', async () => {
    const op = await enqueueVerse({ userId: USER_A });
    const other = await enqueueVerse({ userId: USER_A });
    await setAsideOnTrial(T0);
    const trial = await claimAt(T0, 100, true);
    expect(trial!.operations.map((o) => o.id)).toEqual([other.id]);
    await recordResults(db, { batchId: trial!.batchId, results: [ok(other.id)] });
    const due = await claimAt(T0 + 32 * CAP);
    expect(due!.operations.map((o) => o.id)).toEqual([op.id]);
    expect(await recordResults(db, { batchId: due!.batchId, results: [fail(op.id, true)] })).toMatchObject({ requeued: 1, pending: 1 });
    const row = (await db.syncOperations.get(op.id))!;
    expect(row.setAside).toBeUndefined();
    expect(row.nextAttemptAt).toBeUndefined();
    expect(row.retryCount).toBe(1);
  });

  test.each([
    ['a 5xx', serverError],
    ['a network failure', { kind: 'network' as const, message: 'network error' }],
  ])('the trial batch failing too (%s) gives the op its place back: the server fails on everything, not on it', async (_, failure) => {
    const first = await enqueueVerse({ userId: USER_A });
    const later = await enqueueMany(3, { userId: USER_A });
    await setAsideOnTrial(T0);
    const trial = await claimAt(T0 + 1, 100, true);
    expect(trial!.operations.map((o) => o.id)).toEqual(later.map((o) => o.id));
    expect(await releaseBatch(db, { batchId: trial!.batchId, failure, now: T0 + 2 })).toMatchObject({ pending: 4 });
    const row = (await db.syncOperations.get(first.id))!;
    expect(row.setAside).toBeUndefined();
    expect(row.nextAttemptAt).toBeUndefined();
    expect(row.lastError?.code).toBe('SERVER_ERROR');
    expect(await countUnsynced(db, USER_A)).toMatchObject({ queued: 4, setAside: 0 });
    // In its place: first in the next batch, ahead of the ops that were tried without it.
    expect((await claimAt(T0 + 3))!.operations.map((o) => o.id)).toEqual([first.id, ...later.map((o) => o.id)]);
  });

  test('the trial batch answered with nothing taken gives the op its place back too', async () => {
    const first = await enqueueVerse({ userId: USER_A });
    const later = await enqueueVerse({ userId: USER_A });
    await setAsideOnTrial(T0);
    const trial = await claimAt(T0 + 1, 100, true);
    await recordResults(db, { batchId: trial!.batchId, results: [fail(later.id, false)] });
    expect((await db.syncOperations.get(first.id))!.setAside).toBeUndefined();
    expect((await claimAt(T0 + 2))!.operations.map((o) => o.id)).toEqual([first.id]);
  });

  test('any claim but the trial batch gives an op on trial its place back (a reload, another tab)', async () => {
    const first = await enqueueVerse({ userId: USER_A });
    const later = await enqueueMany(2, { userId: USER_A });
    await setAsideOnTrial(T0);
    expect((await claimAt(T0 + 1))!.operations.map((o) => o.id)).toEqual([first.id, ...later.map((o) => o.id)]);
    expect((await db.syncOperations.get(first.id))!.setAside).toBeUndefined();
  });

  test('a trial batch with nothing else to send carries the op itself, back in its place', async () => {
    const first = await enqueueVerse({ userId: USER_A });
    const ownReview = await review(cardId(first));
    await setAsideOnTrial(T0);
    // Its card's review may not overtake it, and there is nothing else: the op goes, with its review.
    const trial = await claimAt(T0 + 1, 100, true);
    expect(trial!.operations.map((o) => o.id)).toEqual([first.id, ownReview.id]);
    expect((await db.syncOperations.get(first.id))!).toMatchObject({ status: 'inFlight' });
    expect((await db.syncOperations.get(first.id))!.setAside).toBeUndefined();
  });

  test('a confirmed op set aside stays so through an outage; only an op on trial goes back', async () => {
    const poisoned = await enqueueVerse({ userId: USER_A });
    const others = await enqueueMany(2, { userId: USER_A });
    await setAsideOnTrial(T0);
    const trial = await claimAt(T0, 1, true);
    await recordResults(db, { batchId: trial!.batchId, results: [ok(others[0]!.id)] });
    // The outage: the next op fails alone too and is set aside on trial; its trial batch has nothing else.
    await setAsideOnTrial(T0 + 10);
    const next = await claimAt(T0 + 11, 100, true);
    expect(next!.operations.map((o) => o.id)).toEqual([others[1]!.id]);
    await releaseBatch(db, { batchId: next!.batchId, failure: serverError, now: T0 + 12 });
    expect((await db.syncOperations.get(poisoned.id))!.setAside).toEqual({ count: 1, baseMs: CAP, confirmed: true });
    expect((await db.syncOperations.get(others[1]!.id))!.setAside).toBeUndefined();
  });
});
