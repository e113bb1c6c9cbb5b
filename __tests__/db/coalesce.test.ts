import { randomUUID } from 'node:crypto';
import type { VersesDb } from '../../src/db/index.ts';
import { claimBatch, coalesceQueued, recoverInFlight, releaseBatch } from '../../src/outbox/index.ts';
import { useFreshDb, opsBySeq, serviceFor, USER_A, USER_B } from './fixtures.ts';

const fresh = useFreshDb();
let db: VersesDb;
beforeEach(() => {
  db = fresh();
});

test('a card created and deleted before sending cancels with its reviews and aliases; other cards stay', async () => {
  const { service } = serviceFor(db);
  const keep = await service.addVerseCard('Keep 1:1');
  const card = await service.addVerseCard('Drop 1:1');
  await service.recordReview(card.id, true);
  await service.createAlias(card.id, 'dropped');
  await service.recordReview(keep.id, false);
  await service.deleteVerse(card.id);
  expect(await coalesceQueued(db)).toEqual({ cancelledCards: 1, mergedProfileUpdates: 0, removed: 4 });
  const ops = await opsBySeq(db);
  expect(ops.map((op) => [op.type, op.payload.verseCardId])).toEqual([
    ['CREATE_VERSE', keep.id],
    ['RECORD_REVIEW', keep.id],
  ]);
  expect(await coalesceQueued(db)).toEqual({ cancelledCards: 0, mergedProfileUpdates: 0, removed: 0 });
});

test('a card whose create is already on the wire is not cancelled', async () => {
  const { service } = serviceFor(db);
  const card = await service.addVerseCard('Sent 1:1');
  await claimBatch(db, { batchId: randomUUID(), maxOps: 1, maxBytes: 10_000 }, { userId: USER_A });
  await service.recordReview(card.id, true);
  await service.deleteVerse(card.id);
  expect(await coalesceQueued(db)).toMatchObject({ removed: 0 });
  expect(await db.syncOperations.count()).toBe(3);
});

test('a card whose create was sent once and came back (answer lost, or recovered after a reload) is not cancelled', async () => {
  const { service } = serviceFor(db);
  const card = await service.addVerseCard('Lost 1:1');
  const first = randomUUID();
  await claimBatch(db, { batchId: first, maxOps: 1, maxBytes: 10_000 }, { userId: USER_A });
  await releaseBatch(db, { batchId: first, failure: { kind: 'network', message: 'answer lost' } });
  const second = randomUUID();
  await claimBatch(db, { batchId: second, maxOps: 1, maxBytes: 10_000 }, { userId: USER_A });
  await recoverInFlight(db);
  const [create] = await opsBySeq(db);
  expect(create).toMatchObject({ type: 'CREATE_VERSE', status: 'queued', claimedAt: expect.any(Number) });
  await service.recordReview(card.id, true);
  await service.deleteVerse(card.id);
  // The server may hold the card: its delete (and the review before it) must still travel.
  expect(await coalesceQueued(db)).toMatchObject({ cancelledCards: 0, removed: 0 });
  expect((await opsBySeq(db)).map((op) => op.type)).toEqual(['CREATE_VERSE', 'RECORD_REVIEW', 'DELETE_VERSE']);
});

test('repeated profile updates merge field by field into the last one, per user; reviews never merge', async () => {
  const ctl = serviceFor(db);
  const card = await ctl.service.addVerseCard('Ps 1:1');
  await ctl.service.updateProfile({ displayName: 'Ann', dailyGoal: 3 });
  await ctl.service.recordReview(card.id, true);
  await ctl.service.recordReview(card.id, true);
  ctl.setClock(new Date('2026-11-24T10:05:00.000Z'));
  await ctl.service.updateProfile({ dailyGoal: 7, translation: 'KJV' });
  ctl.setUser(USER_B);
  await ctl.service.updateProfile({ displayName: 'Bob' });
  expect(await coalesceQueued(db)).toEqual({ cancelledCards: 0, mergedProfileUpdates: 1, removed: 1 });
  const ops = await opsBySeq(db);
  expect(ops.map((op) => op.type)).toEqual(['CREATE_VERSE', 'RECORD_REVIEW', 'RECORD_REVIEW', 'UPDATE_PROFILE', 'UPDATE_PROFILE']);
  expect(ops[3]).toMatchObject({ seq: 5, userId: USER_A, payload: { displayName: 'Ann', dailyGoal: 7, translation: 'KJV', updatedAt: '2026-11-24T10:05:00.000Z' } });
  expect(ops[4]).toMatchObject({ userId: USER_B, payload: { displayName: 'Bob' } });
});
