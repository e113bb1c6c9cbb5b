// The server's answer written onto the local records the operations synced.
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation, Verse, VerseCard } from '../db/types.ts';

/** Tables writeBack touches; recordResults' transaction includes them. */
export const WRITE_BACK_TABLES = ['verseCards', 'verses', 'reviewLogs', 'aliases', 'profile'] as const;

export type Applied = { op: SyncOperation; result: OperationResult; syncedAt: string };

type Changes<T> = Map<string, Partial<T>>;
const merge = <T>(changes: Changes<T>, key: string, patch: Partial<T>) => changes.set(key, { ...changes.get(key), ...patch });
const asUpdates = <T>(changes: Changes<T>) => [...changes].map(([key, c]) => ({ key, changes: c as Record<string, unknown> }));

/**
 * Marks the local records of successful operations as synced (syncedAt, and the
 * server's remoteId for CREATE_VERSE), inside the caller's transaction. Records
 * removed locally meanwhile are skipped.
 */
export async function writeBack(db: VersesDb, applied: ReadonlyArray<Applied>): Promise<void> {
  const cards: Changes<VerseCard> = new Map();
  const remoteIds = new Map<string, string>(); // card id → catalogue verse id
  const reviews = new Map<string, { syncedAt: string }>();
  const aliases = new Map<string, { syncedAt: string }>();
  const profiles = new Map<string, { syncedAt: string }>();
  const texts = new Map<string, Partial<Verse>>(); // card id → its verse's ESV text (or pending)

  for (const { op, result, syncedAt } of applied) {
    const id = op.localRecordId;
    for (const filled of result.filledVerses ?? []) {
      texts.set(filled.verseCardId, { text: filled.text, canonicalReference: filled.reference, textPending: false });
    }
    switch (op.type) {
      case 'CREATE_VERSE': {
        const cardId = id ?? String(op.payload.verseCardId);
        const remoteId = typeof result.remoteId === 'string' ? result.remoteId : undefined;
        merge(cards, cardId, remoteId ? { syncedAt, remoteId } : { syncedAt });
        if (remoteId) remoteIds.set(cardId, remoteId);
        const verse = result.verse;
        if (verse && typeof verse.text === 'string') texts.set(cardId, { text: verse.text, canonicalReference: verse.reference, textPending: false });
        else if (verse?.textPending) texts.set(cardId, { textPending: true });
        break;
      }
      case 'DELETE_VERSE':
        merge(cards, id ?? String(op.payload.verseCardId), { syncedAt });
        break;
      case 'RECORD_REVIEW':
        reviews.set(id ?? String(op.payload.reviewId), { syncedAt });
        break;
      case 'CREATE_ALIAS':
        aliases.set(id ?? String(op.payload.aliasId), { syncedAt });
        break;
      case 'UPDATE_PROFILE':
        if (id !== undefined) profiles.set(id, { syncedAt });
        break;
    }
  }

  if (remoteIds.size > 0) {
    const ids = [...remoteIds.keys()];
    const found = await db.verseCards.bulkGet(ids);
    const verses = new Map<string, { remoteId: string }>();
    found.forEach((card, i) => {
      if (card) verses.set(card.verseId, { remoteId: remoteIds.get(ids[i])! });
    });
    if (verses.size > 0) await db.verses.bulkUpdate(asUpdates(verses));
  }
  if (texts.size > 0) {
    // The ESV text belongs to the card's local verse row; the reference the user typed stays.
    const ids = [...texts.keys()];
    const found = await db.verseCards.bulkGet(ids);
    const verses: Changes<Verse> = new Map();
    found.forEach((card, i) => {
      if (card) merge(verses, card.verseId, texts.get(ids[i])!);
    });
    if (verses.size > 0) await db.verses.bulkUpdate(asUpdates(verses));
  }
  if (cards.size > 0) await db.verseCards.bulkUpdate(asUpdates(cards));
  if (reviews.size > 0) await db.reviewLogs.bulkUpdate(asUpdates(reviews));
  if (aliases.size > 0) await db.aliases.bulkUpdate(asUpdates(aliases));
  if (profiles.size > 0) await db.profile.bulkUpdate(asUpdates(profiles));
}
