import type { VersesDb } from '../db/database.ts';
import { countKey, readCounts } from '../db/counts.ts';
import type { OperationStatus } from '../db/types.ts';

// The counts are kept in `meta` in the same transaction as every write that changes them (see
// db/counts.ts), so a count is a key lookup, not a walk of the status's index range. A user's
// count includes the user-less ops (the ones claimBatch would hand them too). Every figure is
// read in one request, so they agree with each other.
const statusKeys = (status: OperationStatus, userId?: string) =>
  userId === undefined ? [countKey(status, null)] : [countKey(status, userId), countKey(status, undefined)];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Queued operations: the ones claimBatch would hand `userId` (theirs plus user-less ones);
 * without `userId`, every queued operation.
 */
export async function countPending(db: VersesDb, userId?: string): Promise<number> {
  return sum(await readCounts(db, statusKeys('queued', userId)));
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
  const queuedKeys = statusKeys('queued', userId);
  // In flight and held are only ever the signed-in user's claims (and what waits on them).
  const counts = await readCounts(db, [...queuedKeys, countKey('inFlight', null), countKey('held', null)]);
  const queued = sum(counts.slice(0, queuedKeys.length));
  const [sending, waiting] = counts.slice(queuedKeys.length);
  return { total: queued + sending + waiting, queued, sending, waiting };
}

/** Dead letters on the device (every user's), from the kept count. */
export async function countDeadLetters(db: VersesDb): Promise<number> {
  return (await readCounts(db, [countKey('dead', null)]))[0];
}
