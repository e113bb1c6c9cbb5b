// The server's answer written onto the local records the operations synced.
import type { OperationResult, ServerProfile } from '../../supabase/functions/_shared/protocol.ts';
import { Dexie } from 'dexie';
import type { VersesDb } from '../db/database.ts';
import type { Notice, Profile, SyncOperation, Verse, VerseCard } from '../db/types.ts';

/** Tables writeBack touches; recordResults' transaction includes them (and `notices`, which it adds itself). */
export const WRITE_BACK_TABLES = ['verseCards', 'verses', 'reviewLogs', 'aliases', 'profile'] as const;

export type Applied = { op: SyncOperation; result: OperationResult; syncedAt: string };

type Changes<T> = Map<string, Partial<T>>;
const merge = <T>(changes: Changes<T>, key: string, patch: Partial<T>) => changes.set(key, { ...changes.get(key), ...patch });
/** The row with the changes applied as Dexie's update applies them (an undefined value removes the field). */
function patched<T extends object>(row: T, changes: Partial<T>): T {
  const next = { ...row, ...changes } as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete next[key];
  return next as T;
}
const asUpdates = <T>(changes: Changes<T>) => [...changes].map(([key, c]) => ({ key, changes: c as Record<string, unknown> }));

/** The verse cards whose rows a write-back changes (for their synced mark, remote id or verse text). */
function cardIdsOf(applied: ReadonlyArray<Applied>): string[] {
  const ids = new Set<string>();
  for (const { op, result } of applied) {
    for (const filled of result.filledVerses ?? []) ids.add(filled.verseCardId);
    if (op.type === 'CREATE_VERSE' || op.type === 'DELETE_VERSE') ids.add(op.localRecordId ?? String(op.payload.verseCardId));
  }
  return [...ids];
}

type Cards = Map<string, VerseCard | undefined>;

/**
 * Reads the cards writeBack changes, as a Dexie promise, so the caller can read them beside its
 * own writes (one wait instead of two); hand the result to writeBack.
 */
export function readWriteBackCards(db: VersesDb, applied: ReadonlyArray<Applied>): Promise<Cards> {
  const ids = cardIdsOf(applied);
  if (ids.length === 0) return Dexie.Promise.resolve(new Map());
  return db.verseCards.bulkGet(ids).then((found) => new Map(ids.map((id, i) => [id, found[i]])));
}

/**
 * Marks the local records of successful operations as synced (syncedAt, and the
 * server's remoteId for CREATE_VERSE), inside the caller's transaction. Records
 * removed locally meanwhile are skipped. `cards` is readWriteBackCards' answer when the caller
 * read it already; `alongside` are the caller's own writes, awaited with these.
 */
export async function writeBack(db: VersesDb, applied: ReadonlyArray<Applied>, cards?: Cards, alongside: ReadonlyArray<Promise<unknown>> = []): Promise<void> {
  const cardChanges: Changes<VerseCard> = new Map();
  const remoteIds = new Map<string, string>(); // card id → catalogue verse id
  const reviews = new Map<string, { syncedAt: string }>();
  const aliases = new Map<string, { syncedAt: string }>();
  const profiles = new Map<string, { syncedAt: string }>();
  const superseded = new Map<string, { profile: ServerProfile; at: string }>(); // profile id → the server's newer one
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
        merge(cardChanges, cardId, remoteId ? { syncedAt, remoteId } : { syncedAt });
        if (remoteId) remoteIds.set(cardId, remoteId);
        const verse = result.verse;
        if (verse && typeof verse.text === 'string') texts.set(cardId, { text: verse.text, canonicalReference: verse.reference, textPending: false });
        else if (verse?.textPending) texts.set(cardId, { textPending: true });
        break;
      }
      case 'DELETE_VERSE':
        merge(cardChanges, id ?? String(op.payload.verseCardId), { syncedAt });
        break;
      case 'RECORD_REVIEW':
        reviews.set(id ?? String(op.payload.reviewId), { syncedAt });
        break;
      case 'CREATE_ALIAS':
        aliases.set(id ?? String(op.payload.aliasId), { syncedAt });
        break;
      case 'UPDATE_PROFILE':
        if (id !== undefined && result.superseded === true && result.profile) superseded.set(id, { profile: result.profile, at: syncedAt });
        else if (id !== undefined) profiles.set(id, { syncedAt });
        break;
    }
  }

  // Each card is read once, for its verse and for its own update, and each verse read and written
  // once; the writes go out together: this runs in every settle transaction, which local writes wait for.
  const stored = cards ?? (await readWriteBackCards(db, applied));
  const verses: Changes<Verse> = new Map();
  for (const [cardId, remoteId] of remoteIds) {
    const card = stored.get(cardId);
    if (card) merge(verses, card.verseId, { remoteId });
  }
  // The ESV text belongs to the card's local verse row; the reference the user typed stays.
  for (const [cardId, text] of texts) {
    const card = stored.get(cardId);
    if (card) merge(verses, card.verseId, text);
  }
  const verseIds = [...verses.keys()];
  const verseRows = verseIds.length > 0 ? await db.verses.bulkGet(verseIds) : [];
  const updatedVerses = verseRows.flatMap((verse, i) => (verse ? [patched(verse, verses.get(verseIds[i])!)] : []));
  const updatedCards = [...cardChanges].flatMap(([id, changes]) => {
    const card = stored.get(id);
    return card ? [{ ...card, ...changes }] : [];
  });
  await Dexie.Promise.all([
    ...alongside,
    updatedVerses.length > 0 ? db.verses.bulkPut(updatedVerses) : undefined,
    updatedCards.length > 0 ? db.verseCards.bulkPut(updatedCards) : undefined,
    reviews.size > 0 ? db.reviewLogs.bulkUpdate(asUpdates(reviews)) : undefined,
    aliases.size > 0 ? db.aliases.bulkUpdate(asUpdates(aliases)) : undefined,
    profiles.size > 0 ? db.profile.bulkUpdate(asUpdates(profiles)) : undefined,
  ]);
  for (const [id, { profile, at }] of superseded) await takeServerProfile(db, id, profile, at);
}

const PROFILE_FIELDS = ['displayName', 'translation', 'dailyGoal'] as const;

/**
 * An edit made here lost to a newer one from another device: the device takes the server's
 * profile, unless it has been edited here again since (that newer edit is queued and will win),
 * and a notice says what happened.
 */
async function takeServerProfile(db: VersesDb, id: string, server: ServerProfile, at: string): Promise<void> {
  const local = await db.profile.get(id);
  if (local && Date.parse(local.updatedAt) > Date.parse(server.updatedAt)) return;
  const next: Profile = { ...local, id, updatedAt: server.updatedAt, syncedAt: at };
  for (const field of PROFILE_FIELDS) {
    if (server[field] === undefined) delete next[field];
    else (next as Record<string, unknown>)[field] = server[field];
  }
  await db.profile.put(next);
  const kept = [
    server.displayName !== undefined ? `name "${server.displayName}"` : '',
    server.translation !== undefined ? `translation ${server.translation}` : '',
    server.dailyGoal !== undefined ? `daily goal ${server.dailyGoal}` : '',
  ].filter(Boolean);
  const notice: Notice = {
    id: crypto.randomUUID(),
    kind: 'PROFILE_SUPERSEDED',
    at,
    message: `A newer profile change made on another device was kept, so your earlier change here was replaced${kept.length > 0 ? ` (${kept.join(', ')})` : ''}. Edit the profile again if you want yours.`,
  };
  await db.notices.add(notice);
}
