// The enqueue bench fills its queue with seedQueue instead of imports: what it leaves must be
// the queue addVerseCards would (row shapes, seq order, the pending counts), or the timed writes
// after it would be measured against a different store.
import { randomUUID } from 'node:crypto';
import { Dexie } from 'dexie';
import { seedQueue } from '../../bench/seedQueue.ts';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { countPending } from '../../src/outbox/pending.ts';
import { createDataService } from '../../src/service/dataService.ts';

let db: VersesDb;
let n = 0;
const nextReference = () => {
  const i = n++;
  return `Psalm ${1 + (i % 150)}:${1 + Math.floor(i / 150)}`;
};
beforeEach(async () => {
  db = createVersesDb(`seed-${randomUUID()}`);
  await db.open();
});
afterEach(async () => {
  db.close();
  await Dexie.delete(db.name);
});

// A row's shape: its keys and each value's type, ids and times left out.
const shape = (row: object): Record<string, string> =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(shape(v)) : typeof v]));

test('seeded ops, cards and verses have the shape of the rows an import writes, and the counts and seq carry on', async () => {
  const userId = randomUUID();
  const data = createDataService({ db, getUserId: () => userId });
  await data.addVerseCards([{ reference: nextReference() }, { reference: nextReference() }]);
  const chunks: number[] = [];
  // Chunks of 3 (default 10,000) so that several transactions are covered with a small count.
  await seedQueue(db, { count: 7, userId, nextReference, chunk: 3, onChunk: (added) => chunks.push(added) });
  expect(chunks).toEqual([3, 3, 1]);
  const after = await data.addVerseCard(nextReference());

  const ops = await db.syncOperations.orderBy('seq').toArray();
  expect(ops.map((op) => op.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const imported = ops[0];
  for (const op of ops.slice(2, 9)) {
    expect(shape(op)).toEqual(shape(imported));
    expect({ type: op.type, status: op.status, priority: op.priority, userId: op.userId, maxRetries: op.maxRetries, retryCount: op.retryCount }).toEqual({
      type: imported.type,
      status: 'queued',
      priority: imported.priority,
      userId,
      maxRetries: imported.maxRetries,
      retryCount: 0,
    });
    const card = await db.verseCards.get(op.localRecordId!);
    const importedCard = await db.verseCards.get(imported.localRecordId!);
    expect(shape(card!)).toEqual(shape(importedCard!));
    expect(card!.reference).toBe(op.payload.reference);
    const verse = await db.verses.get(card!.verseId);
    expect(shape(verse!)).toEqual(shape((await db.verses.get(importedCard!.verseId))!));
    expect(op.payload).toEqual({ verseCardId: card!.id, reference: card!.reference, translation: verse!.translation });
  }
  expect(ops[9].localRecordId).toBe(after.id);
  // The kept counts say what is there: 10 queued, for every user and for this one.
  expect(await countPending(db, userId)).toBe(10);
  expect(await countPending(db)).toBe(10);
  expect(await db.verseCards.count()).toBe(10);
  expect(await db.verses.count()).toBe(10);
});
