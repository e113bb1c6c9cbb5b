// Dead letters are operations with status 'dead': the server refused them for a reason that a
// resend cannot change (validation, unknown reference, not found, permission), or answered a
// retryable error for that very op maxRetries times. The user retries or discards them; the
// ops of the same card that depend on a refused create wait with it (status 'held').
import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';
import { cardOf, dependantsOf, heldOperations } from './dependants.ts';

/** Dead operations in seq order, with the reason in `lastError`. Only `userId`'s (and user-less ones) when given. */
export async function listDeadLetters(db: VersesDb, userId?: string): Promise<SyncOperation[]> {
  const dead = await db.syncOperations.where('[status+seq]').between(['dead', Dexie.minKey], ['dead', Dexie.maxKey]).toArray();
  return userId === undefined ? dead : dead.filter((op) => op.userId === undefined || op.userId === userId);
}

/** One refused change with what waits on it. */
export type RefusedChange = {
  op: SyncOperation;
  /** The held operations that wait on it, in seq order. */
  dependants: SyncOperation[];
  /** How many of each kind wait: for "2 reviews and 1 alias wait on it". */
  waiting: { reviews: number; aliases: number; deletes: number };
};

/** Dead letters, one per cause, each with the changes that wait on it. */
export async function listRefusedChanges(db: VersesDb, userId?: string): Promise<RefusedChange[]> {
  return db.transaction('r', db.syncOperations, async () => {
    const dead = await listDeadLetters(db, userId);
    const held = await heldOperations(db);
    return dead.map((op) => {
      const dependants = held.filter((h) => h.heldBy === op.id);
      const count = (type: SyncOperation['type']) => dependants.filter((d) => d.type === type).length;
      return { op, dependants, waiting: { reviews: count('RECORD_REVIEW'), aliases: count('CREATE_ALIAS'), deletes: count('DELETE_VERSE') } };
    });
  });
}

/**
 * Puts a dead operation back in the queue at its original place in seq order with a fresh
 * retry budget, and with it the ops that wait on it (they keep their places behind it);
 * lastError stays until it succeeds. Undefined when no such dead letter.
 */
export async function retryDeadLetter(db: VersesDb, opId: string): Promise<SyncOperation | undefined> {
  return db.transaction('rw', db.syncOperations, async () => {
    const op = await db.syncOperations.get(opId);
    if (!op || op.status !== 'dead') return undefined;
    const again = (o: SyncOperation): SyncOperation => {
      const { nextAttemptAt: _nextAttemptAt, batchId: _batchId, heldBy: _heldBy, ...rest } = o;
      return { ...rest, status: 'queued', retryCount: 0 };
    };
    const row = again(op);
    await db.syncOperations.bulkPut([row, ...(await dependantsOf(db, opId)).map(again)]);
    return row;
  });
}

/**
 * Deletes a dead operation for good, and what the device holds only because of it, in one
 * transaction, so the device matches what the server has: for a refused create, the local
 * card with its reviews, aliases and every op of that card; for a refused review or alias,
 * that local record. False when there was no such dead letter.
 */
export async function discardDeadLetter(db: VersesDb, opId: string): Promise<boolean> {
  return db.transaction('rw', ['syncOperations', 'verseCards', 'verses', 'reviewLogs', 'aliases'], async () => {
    const op = await db.syncOperations.get(opId);
    if (!op || op.status !== 'dead') return false;
    const card = cardOf(op);
    if (op.type === 'CREATE_VERSE' && card !== undefined) {
      // Every op of this card (queued, held; none can be in flight behind a dead create) goes too,
      // found through the local records they are about.
      const reviewIds = await db.reviewLogs.where('verseCardId').equals(card).primaryKeys();
      const aliasIds = await db.aliases.where('verseCardId').equals(card).primaryKeys();
      const cardOps = (await db.syncOperations.where('localRecordId').anyOf([card, ...reviewIds, ...aliasIds]).toArray()).filter(
        (o) => o.status !== 'inFlight' && cardOf(o) === card,
      );
      const held = (await dependantsOf(db, opId)).filter((o) => !cardOps.some((c) => c.id === o.id));
      await db.syncOperations.bulkDelete([opId, ...cardOps.map((o) => o.id), ...held.map((o) => o.id)]);
      const local = await db.verseCards.get(card);
      await db.reviewLogs.where('verseCardId').equals(card).delete();
      await db.aliases.where('verseCardId').equals(card).delete();
      await db.verseCards.delete(card);
      // The local catalogue row goes too when no other card uses it (the server never had it for us).
      if (local && (await db.verseCards.where('verseId').equals(local.verseId).count()) === 0) {
        const verse = await db.verses.get(local.verseId);
        if (verse && verse.remoteId === undefined) await db.verses.delete(verse.id);
      }
      return true;
    }
    await db.syncOperations.delete(opId);
    if (op.type === 'RECORD_REVIEW') {
      const reviewId = op.localRecordId ?? String(op.payload.reviewId);
      const review = await db.reviewLogs.get(reviewId);
      if (review) {
        await db.reviewLogs.delete(reviewId);
        const local = await db.verseCards.get(review.verseCardId);
        if (local) {
          await db.verseCards.update(local.id, {
            reviewCount: Math.max(0, local.reviewCount - 1),
            correctCount: Math.max(0, local.correctCount - (review.correct ? 1 : 0)),
          });
        }
      }
    } else if (op.type === 'CREATE_ALIAS') {
      await db.aliases.delete(op.localRecordId ?? String(op.payload.aliasId));
    }
    return true;
  });
}
