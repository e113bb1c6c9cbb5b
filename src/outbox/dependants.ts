// Which operations hang on which: a review, alias or delete of a card needs that card's create.
import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';

const CARD_OPS: ReadonlySet<SyncOperation['type']> = new Set(['CREATE_VERSE', 'RECORD_REVIEW', 'CREATE_ALIAS', 'DELETE_VERSE']);

/** The verse card an operation is about, or undefined (a profile update). */
export function cardOf(op: Pick<SyncOperation, 'type' | 'payload'>): string | undefined {
  if (!CARD_OPS.has(op.type)) return undefined;
  const id = op.payload.verseCardId;
  return typeof id === 'string' ? id : undefined;
}

const inStatus = (db: VersesDb, status: SyncOperation['status']) =>
  db.syncOperations.where('[status+seq]').between([status, Dexie.minKey], [status, Dexie.maxKey]).toArray();

/**
 * Cards whose create was refused, each with the dead CREATE_VERSE that later ops of the card
 * wait on. Read inside the caller's transaction; dead letters are few, so this is cheap.
 */
export function refusedCards(db: VersesDb): Promise<Map<string, string>> {
  // A Dexie promise (no native await), so a caller can read it beside its other reads.
  return inStatus(db, 'dead').then((dead) => {
    const causes = new Map<string, string>();
    for (const op of dead) {
      const card = op.type === 'CREATE_VERSE' ? cardOf(op) : undefined;
      if (card !== undefined) causes.set(card, op.id);
    }
    return causes;
  });
}

/** The held operations waiting on `causeId`, in seq order. */
export async function dependantsOf(db: VersesDb, causeId: string): Promise<SyncOperation[]> {
  return (await inStatus(db, 'held')).filter((op) => op.heldBy === causeId);
}

/** Every held operation, in seq order. */
export const heldOperations = (db: VersesDb): Promise<SyncOperation[]> => inStatus(db, 'held');
