import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';

/**
 * Queued operations. With `userId`: the ones claimBatch would hand that user
 * (theirs plus user-less ones); without: every queued operation.
 *
 * Counting is O(range) on IndexedDB, so this counts the whole queue once and
 * subtracts the other users' ops (the two ranges of [status+userId] around
 * `userId`, empty on a device one person uses) instead of counting three ranges.
 * User-less ops are absent from [status+userId] (IndexedDB skips undefined keys), so they stay in.
 */
export async function countPending(db: VersesDb, userId?: string): Promise<number> {
  return db.transaction('r', db.syncOperations, async () => {
    const queued = await db.syncOperations.where('[status+seq]').between(['queued', Dexie.minKey], ['queued', Dexie.maxKey]).count();
    if (userId === undefined) return queued;
    const byUser = db.syncOperations.where('[status+userId]');
    const before = await byUser.between(['queued', Dexie.minKey], ['queued', userId], true, false).count();
    const after = await byUser.between(['queued', userId], ['queued', Dexie.maxKey], false, true).count();
    return queued - before - after;
  });
}
