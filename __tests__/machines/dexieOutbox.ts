// The real outbox (src/outbox on a fresh Dexie database in fake-indexeddb) behind the interface the
// machine tests use, so a model test checks each state against what IndexedDB really holds.
import { randomUUID } from 'node:crypto';
import { createVersesDb } from '../../src/db/index.ts';
import { claimBatch, enqueueOperations, OUTBOX_TABLES, recordResults, releaseBatch, type EnqueueInput } from '../../src/outbox/index.ts';
import { MODEL_MAX_RETRIES, withHarness, type OutboxOptions, type OutboxUnderTest } from './outboxUnderTest.ts';

/** The signed-in user the ops belong to (claimBatch hands a user only theirs). */
export const DEXIE_USER_ID = '00000000-0000-4000-8000-0000000000d1';

export function createDexieOutbox(options: OutboxOptions = {}): OutboxUnderTest {
  const db = createVersesDb(`verses-sync-machines-${randomUUID()}`);
  const maxRetries = options.maxRetries ?? MODEL_MAX_RETRIES;
  let written = 0;

  // Two kinds of op, so a batch carries more than one shape of payload.
  const draft = (): EnqueueInput => {
    written += 1;
    const base = { userId: DEXIE_USER_ID, maxRetries };
    return written % 2 === 1
      ? { ...base, type: 'UPDATE_PROFILE', payload: { dailyGoal: 1 + (written % 100), updatedAt: new Date().toISOString() } }
      : { ...base, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: `Psalm ${written}:1` } };
  };
  const enqueue = async (count: number) => {
    if (count <= 0) return;
    const drafts = Array.from({ length: count }, draft);
    await db.transaction('rw', OUTBOX_TABLES.map((t) => db.table(t)), () => enqueueOperations(db, drafts));
  };

  return withHarness(
    {
      kind: 'dexie',
      claimBatch: (input) => claimBatch(db, input, { userId: DEXIE_USER_ID }),
      recordResults: (input) => recordResults(db, input),
      releaseBatch: (input) => releaseBatch(db, input),
      enqueue,
      async setQueued(count) {
        const queued = (await db.syncOperations.toArray()).filter((op) => op.status === 'queued' && !op.setAside).sort((a, b) => a.seq - b.seq);
        // Keeps the oldest `count`, as the fake does.
        await db.syncOperations.bulkDelete(queued.slice(count).map((op) => op.id));
        await enqueue(count - queued.length);
      },
      async rows() {
        return db.transaction('r', db.syncOperations, db.syncBatches, async () => {
          const ops = (await db.syncOperations.toArray()).sort((a, b) => a.seq - b.seq);
          // In claim order (by id, 'b10' would come before 'b2').
          const batches = (await db.syncBatches.toArray()).sort((a, b) => a.seq - b.seq);
          return {
            ops: ops.map((op) => ({ id: op.id, seq: op.seq, status: op.status, batchId: op.batchId ?? null, retryCount: op.retryCount, setAside: op.setAside ? (op.setAside.confirmed ? 'confirmed' : 'trial') : false })),
            batches: batches.map((b) => ({ id: b.id, status: b.status, opIds: [...b.opIds] })),
          };
        });
      },
      close: () => db.delete(),
    },
    options,
  );
}
