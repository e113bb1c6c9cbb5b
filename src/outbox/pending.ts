import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';

const queuedRange = (db: VersesDb, index: '[status+seq]' | '[status+userId]') =>
  db.syncOperations.where(index).between(['queued', Dexie.minKey], ['queued', Dexie.maxKey]);

/**
 * Queued operations. With `userId`: the ones claimBatch would hand that user
 * (theirs plus user-less ones); without: every queued operation.
 */
export async function countPending(db: VersesDb, userId?: string): Promise<number> {
  const queued = await queuedRange(db, '[status+seq]').count();
  if (userId === undefined) return queued;
  // User-less ops are absent from [status+userId] (IndexedDB skips undefined keys).
  const owned = await queuedRange(db, '[status+userId]').count();
  const mine = await db.syncOperations.where('[status+userId]').equals(['queued', userId]).count();
  return queued - owned + mine;
}
