// Refused changes and what hangs on them: dependants wait with their cause, Retry re-queues the
// group in order, Discard leaves the device as the server has it; conflicts the server settles.
import { randomUUID } from 'node:crypto';
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import type { VersesDb } from '../../src/db/index.ts';
import {
  claimBatch,
  countUnsynced,
  discardDeadLetter,
  listDeadLetters,
  listNotices,
  listRefusedChanges,
  recordResults,
  retryDeadLetter,
} from '../../src/outbox/index.ts';
import { freshDb, opsBySeq, serviceFor, USER_A } from './fixtures.ts';

let db: VersesDb;
let close: () => Promise<void>;
beforeEach(() => {
  ({ db, close } = freshDb());
});
afterEach(async () => {
  await close();
});

const claim = () => claimBatch(db, { batchId: randomUUID(), maxOps: 100, maxBytes: 512 * 1024 }, { userId: USER_A });
const answer = async (respond: (op: { id: string; type: string }) => OperationResult) => {
  const batch = await claim();
  if (!batch) return null;
  return recordResults(db, { batchId: batch.batchId, results: batch.operations.map(respond) });
};
const refused = (id: string, code: string): OperationResult => ({ id, success: false, error: { code, message: `server said ${code}`, retryable: false } });

describe('dependants of a refused create', () => {
  test.each([
    ['in the same batch (answered CARD_NOT_FOUND)', true],
    ['queued after it died (never sent)', false],
  ])('%s wait with it, listed once with their count; Retry re-queues the group in order', async (_, sameBatch) => {
    if (sameBatch) {
      // Learn the create's op id before the batch is answered.
      const data = serviceFor(db).service;
      const card = await data.addVerseCard('Isaiah 99:99');
      await data.recordReview(card.id, true);
      await data.recordReview(card.id, false);
      await data.createAlias(card.id, 'nowhere');
      const firstCreateId = (await opsBySeq(db))[0].id;
      const outcome = await answer((op) => (op.id === firstCreateId ? refused(op.id, 'UNKNOWN_REFERENCE') : refused(op.id, 'CARD_NOT_FOUND')));
      expect(outcome).toMatchObject({ succeeded: 0, dead: 1, held: 3, requeued: 0 });
    } else {
      const data = serviceFor(db).service;
      const card = await data.addVerseCard('Isaiah 99:99');
      expect(await answer((op) => refused(op.id, 'UNKNOWN_REFERENCE'))).toMatchObject({ dead: 1 });
      await data.recordReview(card.id, true);
      await data.recordReview(card.id, false);
      await data.createAlias(card.id, 'nowhere');
      await data.addVerseCard('John 3:16');
      // The next claim never sends the three: only the other card's create goes.
      const batch = await claim();
      expect(batch!.operations.map((o) => o.type)).toEqual(['CREATE_VERSE']);
      expect(await recordResults(db, { batchId: batch!.batchId, results: [{ id: batch!.operations[0].id, success: true }] })).toMatchObject({ succeeded: 1 });
    }
    expect(await listDeadLetters(db)).toHaveLength(1);
    const [change] = await listRefusedChanges(db);
    expect(change.op).toMatchObject({ type: 'CREATE_VERSE', lastError: { code: 'UNKNOWN_REFERENCE' } });
    expect(change.waiting).toEqual({ reviews: 2, aliases: 1, deletes: 0 });
    expect(await countUnsynced(db)).toMatchObject({ queued: 0, sending: 0, waiting: 3, total: 3 });
    expect(await claim()).toBeNull();

    await retryDeadLetter(db, change.op.id);
    const again = await claim();
    expect(again!.operations.map((o) => o.type)).toEqual(['CREATE_VERSE', 'RECORD_REVIEW', 'RECORD_REVIEW', 'CREATE_ALIAS']);
    expect(again!.operations.map((o) => o.seq)).toEqual([...again!.operations.map((o) => o.seq)].sort((a, b) => a - b));
  });

  test('Discard of a refused create removes the card, its reviews, aliases and every op of it at once', async () => {
    const data = serviceFor(db).service;
    const card = await data.addVerseCard('Isaiah 99:99');
    await answer((op) => refused(op.id, 'UNKNOWN_REFERENCE'));
    await data.recordReview(card.id, true);
    await data.createAlias(card.id, 'gone');
    const kept = await data.addVerseCard('John 3:16');
    await claim(); // holds the dependants, sends the other card's create
    const [change] = await listRefusedChanges(db);
    expect(await discardDeadLetter(db, change.op.id)).toBe(true);
    expect(await db.verseCards.get(card.id)).toBeUndefined();
    expect(await db.reviewLogs.where('verseCardId').equals(card.id).count()).toBe(0);
    expect(await db.aliases.where('verseCardId').equals(card.id).count()).toBe(0);
    expect((await opsBySeq(db)).map((o) => [o.type, o.localRecordId])).toEqual([['CREATE_VERSE', kept.id]]);
    expect(await db.verseCards.get(kept.id)).toBeDefined();
    expect(await countUnsynced(db)).toMatchObject({ waiting: 0 });
  });

  test('Discard of a refused review removes that review and gives back its count', async () => {
    const data = serviceFor(db).service;
    const card = await data.addVerseCard('John 3:16');
    await answer((op) => ({ id: op.id, success: true }));
    const review = await data.recordReview(card.id, true);
    await answer((op) => refused(op.id, 'VALIDATION_FAILED'));
    expect((await db.verseCards.get(card.id))?.reviewCount).toBe(1);
    const [dead] = await listDeadLetters(db);
    expect(await discardDeadLetter(db, dead.id)).toBe(true);
    expect(await db.reviewLogs.get(review.id)).toBeUndefined();
    expect(await db.verseCards.get(card.id)).toMatchObject({ reviewCount: 0, correctCount: 0 });
  });
});

describe('conflicts the server settles', () => {
  test('CARD_DELETED: the card takes the server state (deleted), the op is settled, a notice says why without ids', async () => {
    const data = serviceFor(db).service;
    const card = await data.addVerseCard('Romans 8:28');
    await answer((op) => ({ id: op.id, success: true }));
    const review = await data.recordReview(card.id, true);
    await data.recordReview(card.id, false);
    const outcome = await answer((op) => refused(op.id, 'CARD_DELETED'));
    expect(outcome).toMatchObject({ status: 'completed', succeeded: 2, dead: 0, held: 0, requeued: 0 });
    expect(await listDeadLetters(db)).toEqual([]);
    expect(await opsBySeq(db)).toEqual([]);
    expect((await db.verseCards.get(card.id))?.deletedAt).toEqual(expect.any(String));
    expect(await db.reviewLogs.get(review.id)).toBeUndefined();
    const notices = await listNotices(db);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ kind: 'CARD_DELETED', recordId: card.id });
    expect(notices[0].message).toContain('Romans 8:28 was deleted on another device');
    expect(notices[0].message).toContain('2 reviews');
    expect(notices[0].message).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
  });
});
