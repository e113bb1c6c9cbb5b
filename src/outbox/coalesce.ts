// Queued operations that need not travel (DESIGN, decision 7): a card created
// and deleted before it was ever sent cancels out with its reviews and aliases;
// repeated profile updates merge field by field. Reviews never merge.
import { Dexie } from 'dexie';
import { queuedOfTypeKey, readCounts } from '../db/counts.ts';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';

export type CoalesceOutcome = {
  /** Cards whose whole unsent history was dropped. */
  cancelledCards: number;
  /** Profile updates folded into a later one. */
  mergedProfileUpdates: number;
  /** Operations removed from the outbox in total. */
  removed: number;
};

const cardOf = (op: SyncOperation) => (typeof op.payload.verseCardId === 'string' ? op.payload.verseCardId : undefined);

/** Cancels and merges queued operations in one transaction; inFlight and dead ones are never touched. */
export async function coalesceQueued(db: VersesDb): Promise<CoalesceOutcome> {
  return db.transaction('rw', db.syncOperations, async () => {
    // Nothing to do unless a delete or a second profile update waits: two counts the outbox
    // keeps in `meta` (one request) instead of reading the whole queue before every batch.
    const [deletes, profileUpdates] = await readCounts(db, [queuedOfTypeKey('DELETE_VERSE'), queuedOfTypeKey('UPDATE_PROFILE')]);
    if (deletes === 0 && profileUpdates < 2) {
      return { cancelledCards: 0, mergedProfileUpdates: 0, removed: 0 };
    }
    const range = (status: 'queued' | 'inFlight') =>
      db.syncOperations.where('[status+seq]').between([status, Dexie.minKey], [status, Dexie.maxKey]).toArray();
    const queued = await range('queued');
    // A card with an op on the wire, or one that ever was (its answer lost, the page closed
    // mid-request), may already exist on the server: leave its history alone.
    const everSent = [...(await range('inFlight')), ...queued.filter((op) => op.claimedAt !== undefined)];
    const cardsOnTheWire = new Set(everSent.map(cardOf).filter((id) => id !== undefined));
    const remove = new Set<string>();

    const creates = new Map<string, SyncOperation>();
    for (const op of queued) {
      const card = cardOf(op);
      if (op.type === 'CREATE_VERSE' && card) creates.set(card, op);
    }
    let cancelledCards = 0;
    for (const op of queued) {
      const card = cardOf(op);
      if (op.type !== 'DELETE_VERSE' || !card || cardsOnTheWire.has(card)) continue;
      const create = creates.get(card);
      if (!create || create.seq > op.seq || create.userId !== op.userId) continue;
      for (const other of queued) {
        if (cardOf(other) === card && other.userId === op.userId) remove.add(other.id);
      }
      cancelledCards++;
    }

    const updatesByUser = new Map<string, SyncOperation[]>();
    for (const op of queued) {
      if (op.type !== 'UPDATE_PROFILE') continue;
      const key = op.userId ?? '';
      updatesByUser.set(key, [...(updatesByUser.get(key) ?? []), op]);
    }
    let mergedProfileUpdates = 0;
    for (const updates of updatesByUser.values()) {
      if (updates.length < 2) continue;
      // The last update keeps its place in the queue and carries every field, later values winning.
      const last = updates[updates.length - 1];
      const payload = Object.assign({}, ...updates.map((u) => u.payload)) as Record<string, unknown>;
      await db.syncOperations.put({ ...last, payload: { ...payload, updatedAt: last.payload.updatedAt } });
      for (const earlier of updates.slice(0, -1)) remove.add(earlier.id);
      mergedProfileUpdates += updates.length - 1;
    }

    await db.syncOperations.bulkDelete([...remove]);
    return { cancelledCards, mergedProfileUpdates, removed: remove.size };
  });
}
