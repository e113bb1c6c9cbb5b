import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { OperationStatus } from '../db/types.ts';

// Counting is O(range) on IndexedDB, so this counts the whole status range once and subtracts
// the other users' ops (the two ranges of [status+userId] around `userId`, empty on a device one
// person uses) instead of counting three ranges. User-less ops are absent from [status+userId]
// (IndexedDB skips undefined keys), so they stay in.
async function countStatus(db: VersesDb, status: OperationStatus, userId?: string): Promise<number> {
  const all = await db.syncOperations.where('[status+seq]').between([status, Dexie.minKey], [status, Dexie.maxKey]).count();
  if (userId === undefined) return all;
  const byUser = db.syncOperations.where('[status+userId]');
  const before = await byUser.between([status, Dexie.minKey], [status, userId], true, false).count();
  const after = await byUser.between([status, userId], [status, Dexie.maxKey], false, true).count();
  return all - before - after;
}

/**
 * Queued operations: the ones claimBatch would hand `userId` (theirs plus user-less ones);
 * without `userId`, every queued operation.
 */
export async function countPending(db: VersesDb, userId?: string): Promise<number> {
  return db.transaction('r', db.syncOperations, () => countStatus(db, 'queued', userId));
}

export type UnsyncedCounts = {
  /** Every change not yet acknowledged by the server: queued + sending + waiting. */
  total: number;
  queued: number;
  /** In a request right now. */
  sending: number;
  /** Held back behind a refused change they depend on. */
  waiting: number;
};

/** What the status shows as "not yet synced" (dead letters are counted apart, as refused). */
export async function countUnsynced(db: VersesDb, userId?: string): Promise<UnsyncedCounts> {
  return db.transaction('r', db.syncOperations, async () => {
    const queued = await countStatus(db, 'queued', userId);
    // In flight and held are only ever the signed-in user's claims (and what waits on them):
    // one index range each, without the per-user subtraction.
    const sending = await countStatus(db, 'inFlight');
    const waiting = await countStatus(db, 'held');
    return { total: queued + sending + waiting, queued, sending, waiting };
  });
}
