// The batch history stays small: settled batches are kept only as far back as
// someone may look (the newest N completed, the newest M failed or partial);
// long-run numbers live in the metrics' counters, not in these rows.
import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { SyncBatchStatus } from '../db/types.ts';
import { OutboxError } from './errors.ts';

export type HistoryBounds = {
  /** Completed batches kept, newest first (default 100). */
  completed: number;
  /** Failed and partial batches kept together, newest first (default 1,000). */
  failed: number;
};

export const DEFAULT_HISTORY_BOUNDS: HistoryBounds = { completed: 100, failed: 1_000 };

export type PruneOutcome = { removed: number };

/**
 * Settled batches between two prunes: a tenth of the smaller bound, so each
 * group holds at most its bound plus this many rows, and a settle usually costs no extra query.
 */
export function pruneInterval(bounds: Partial<HistoryBounds> = {}): number {
  const { completed, failed } = checkBounds(bounds);
  return Math.max(1, Math.ceil(Math.min(completed, failed) / 10));
}

function checkBounds(bounds: Partial<HistoryBounds>): HistoryBounds {
  const checked: HistoryBounds = {
    completed: bounds.completed ?? DEFAULT_HISTORY_BOUNDS.completed,
    failed: bounds.failed ?? DEFAULT_HISTORY_BOUNDS.failed,
  };
  for (const [key, value] of Object.entries(checked)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new OutboxError('INVALID_OPERATION', `history.${key} must be a whole number of at least 0, got ${String(value)}`);
    }
  }
  return checked;
}

const range = (db: VersesDb, status: SyncBatchStatus) =>
  db.syncBatches.where('[status+seq]').between([status, Dexie.minKey], [status, Dexie.maxKey]);

/** The ids of the `count` oldest batches (by seq) across `statuses`. */
async function oldest(db: VersesDb, statuses: SyncBatchStatus[], count: number): Promise<string[]> {
  // Each status's oldest `count` are enough candidates. Sequential awaits: nested
  // Promise.all of native async functions let the IndexedDB transaction commit early.
  const candidates: Array<{ id: string; seq: number }> = [];
  for (const status of statuses) {
    // Whole rows (one getAll) rather than keys(): Dexie walks keys() with a cursor, about 4 ms a row on fake-indexeddb.
    for (const row of await range(db, status).limit(count).toArray()) candidates.push({ id: row.id, seq: row.seq });
  }
  return candidates
    .sort((a, b) => a.seq - b.seq)
    .slice(0, count)
    .map((c) => c.id);
}

async function pruneGroup(db: VersesDb, statuses: SyncBatchStatus[], bound: number): Promise<number> {
  let total = 0;
  for (const status of statuses) total += await range(db, status).count();
  if (total <= bound) return 0;
  const ids = await oldest(db, statuses, total - bound);
  await db.syncBatches.bulkDelete(ids);
  return ids.length;
}

/**
 * Deletes the oldest settled batches beyond the bounds. Call inside a 'rw'
 * transaction that includes syncBatches; batches still syncing are never touched.
 */
export async function pruneHistory(db: VersesDb, bounds: Partial<HistoryBounds> = {}): Promise<PruneOutcome> {
  const { completed, failed } = checkBounds(bounds);
  const removed = (await pruneGroup(db, ['completed'], completed)) + (await pruneGroup(db, ['failed', 'partial'], failed));
  return { removed };
}

/** pruneHistory once every pruneInterval batches: when the batch just settled has a seq on the interval. */
export async function pruneHistoryAfter(db: VersesDb, batchSeq: number, bounds: Partial<HistoryBounds> = {}): Promise<PruneOutcome> {
  if (batchSeq % pruneInterval(bounds) !== 0) return { removed: 0 };
  return pruneHistory(db, bounds);
}
