// Conflicts the server settles: its state wins, the local records follow, and a notice
// says what happened. Nothing here is a dead letter: there is nothing a person could retry.
import type { VersesDb } from '../db/database.ts';
import type { Notice, SyncOperation } from '../db/types.ts';
import { cardOf } from './dependants.ts';

export type ServerSettled = { op: SyncOperation; code: 'CARD_DELETED'; at: Date };

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Inside the caller's transaction: removes the ops, marks their cards deleted as the server
 * has them, drops the reviews and aliases the server never took, and records one notice per card.
 */
export async function settleByServer(db: VersesDb, items: ReadonlyArray<ServerSettled>): Promise<void> {
  if (items.length === 0) return;
  const byCard = new Map<string, ServerSettled[]>();
  for (const item of items) {
    const card = cardOf(item.op) ?? '';
    byCard.set(card, [...(byCard.get(card) ?? []), item]);
  }
  await db.syncOperations.bulkDelete(items.map((item) => item.op.id));
  const reviews = items.filter((item) => item.op.type === 'RECORD_REVIEW').map((item) => item.op.localRecordId ?? String(item.op.payload.reviewId));
  const aliases = items.filter((item) => item.op.type === 'CREATE_ALIAS').map((item) => item.op.localRecordId ?? String(item.op.payload.aliasId));
  await db.reviewLogs.bulkDelete(reviews);
  await db.aliases.bulkDelete(aliases);
  const notices: Notice[] = [];
  for (const [cardId, settled] of byCard) {
    const at = settled[0].at.toISOString();
    const card = cardId ? await db.verseCards.get(cardId) : undefined;
    if (card && card.deletedAt === undefined) await db.verseCards.update(card.id, { deletedAt: at, updatedAt: at, syncedAt: at });
    const nReviews = settled.filter((s) => s.op.type === 'RECORD_REVIEW').length;
    const nAliases = settled.length - nReviews;
    const what = [nReviews > 0 ? plural(nReviews, 'review', 'reviews') : '', nAliases > 0 ? plural(nAliases, 'alias', 'aliases') : ''].filter(Boolean).join(' and ');
    const name = card?.reference ?? 'a verse';
    const notice: Notice = {
      id: crypto.randomUUID(),
      kind: 'CARD_DELETED',
      at,
      message: `${name} was deleted on another device, so it is removed here too; ${what} made here could not be kept.`,
    };
    if (cardId) notice.recordId = cardId;
    notices.push(notice);
  }
  await db.notices.bulkAdd(notices);
}

/** The newest notices first, at most `limit`. */
export async function listNotices(db: VersesDb, limit = 50): Promise<Notice[]> {
  return db.notices.orderBy('at').reverse().limit(limit).toArray();
}
