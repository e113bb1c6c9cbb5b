import type { VersesDb } from '../db/database.ts';
import { countKey, readCounts } from '../db/counts.ts';
import type { CountedKind } from '../db/counts.ts';

// The counts are kept in `meta` in the same transaction as every write that changes them (see
// db/counts.ts), so a count is a key lookup, not a walk of the status's index range. A user's
// count includes the user-less ops (the ones claimBatch would hand them too). Every figure is
// read in one request, so they agree with each other.
const statusKeys = (status: CountedKind, userId?: string) =>
  userId === undefined ? [countKey(status, null)] : [countKey(status, userId), countKey(status, undefined)];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Queued operations: the ones claimBatch would hand `userId` (theirs plus user-less ones);
 * without `userId`, every queued operation. Set-aside ops are not counted: they wait for their time.
 */
export async function countPending(db: VersesDb, userId?: string): Promise<number> {
  const queued = statusKeys('queued', userId);
  const counts = await readCounts(db, [...queued, ...statusKeys('setAside', userId)]);
  return Math.max(0, sum(counts.slice(0, queued.length)) - sum(counts.slice(queued.length)));
}

export type UnsyncedCounts = {
  /** Every change not yet acknowledged by the server: queued + sending + waiting. */
  total: number;
  queued: number;
  /** In a request right now. */
  sending: number;
  /** Held back behind a refused change they depend on. */
  waiting: number;
  /** Of the queued, set aside: the server kept failing on each alone; retried later while the rest syncs. */
  setAside: number;
};

/** What the status shows as "not yet synced" (dead letters are counted apart, as refused). */
export async function countUnsynced(db: VersesDb, userId?: string): Promise<UnsyncedCounts> {
  const queuedKeys = statusKeys('queued', userId);
  // In flight and held are only ever the signed-in user's claims (and what waits on them).
  const counts = await readCounts(db, [...queuedKeys, countKey('inFlight', null), countKey('held', null), ...statusKeys('setAside', userId)]);
  const queued = sum(counts.slice(0, queuedKeys.length));
  const [sending, waiting] = counts.slice(queuedKeys.length, queuedKeys.length + 2);
  const setAside = sum(counts.slice(queuedKeys.length + 2));
  return { total: queued + sending + waiting, queued, sending, waiting, setAside };
}

/** countUnsynced and countDeadLetters in one read, so the two agree (and a write waits for one read, not two). */
export async function countOutbox(db: VersesDb, userId?: string): Promise<UnsyncedCounts & { dead: number }> {
  const queuedKeys = statusKeys('queued', userId);
  const setAsideKeys = statusKeys('setAside', userId);
  const counts = await readCounts(db, [...queuedKeys, countKey('inFlight', null), countKey('held', null), ...setAsideKeys, countKey('dead', null)]);
  const queued = sum(counts.slice(0, queuedKeys.length));
  const [sending, waiting] = counts.slice(queuedKeys.length, queuedKeys.length + 2);
  const setAside = sum(counts.slice(queuedKeys.length + 2, queuedKeys.length + 2 + setAsideKeys.length));
  const dead = counts[counts.length - 1];
  return { total: queued + sending + waiting, queued, sending, waiting, setAside, dead };
}

/** Dead letters on the device (every user's), from the kept count. */
export async function countDeadLetters(db: VersesDb): Promise<number> {
  return (await readCounts(db, [countKey('dead', null)]))[0];
}
