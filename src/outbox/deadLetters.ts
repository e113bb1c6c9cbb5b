// Dead letters are operations with status 'dead': they can never succeed as
// they are; the user retries or discards them.
import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';

/** Dead operations in seq order, with the reason in `lastError`. Only `userId`'s (and user-less ones) when given. */
export async function listDeadLetters(db: VersesDb, userId?: string): Promise<SyncOperation[]> {
  const dead = await db.syncOperations.where('[status+seq]').between(['dead', Dexie.minKey], ['dead', Dexie.maxKey]).toArray();
  return userId === undefined ? dead : dead.filter((op) => op.userId === undefined || op.userId === userId);
}

/**
 * Puts a dead operation back in the queue at its original place in seq order
 * with a fresh retry budget; lastError stays until it succeeds. Undefined when no such dead letter.
 */
export async function retryDeadLetter(db: VersesDb, opId: string): Promise<SyncOperation | undefined> {
  return db.transaction('rw', db.syncOperations, async () => {
    const op = await db.syncOperations.get(opId);
    if (!op || op.status !== 'dead') return undefined;
    const { nextAttemptAt: _nextAttemptAt, batchId: _batchId, ...rest } = op;
    const row: SyncOperation = { ...rest, status: 'queued', retryCount: 0 };
    await db.syncOperations.put(row);
    return row;
  });
}

/** Deletes a dead operation for good; false when there was no such dead letter. */
export async function discardDeadLetter(db: VersesDb, opId: string): Promise<boolean> {
  return db.transaction('rw', db.syncOperations, async () => {
    const op = await db.syncOperations.get(opId);
    if (!op || op.status !== 'dead') return false;
    await db.syncOperations.delete(opId);
    return true;
  });
}
