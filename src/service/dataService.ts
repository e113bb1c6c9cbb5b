// The app's write path: each call writes the local records and their sync
// operation in one Dexie transaction and returns at once; the network is the
// sync machines' business.
import { LIMITS, type OperationPayloads } from '../../supabase/functions/_shared/protocol.ts';
import { referenceProblem } from '../../supabase/functions/_shared/reference.ts';
import type { Priority } from '../../machines/types.ts';
import type { VersesDb } from '../db/database.ts';
import type { Alias, Profile, ReviewLog, Verse, VerseCard } from '../db/types.ts';
import { Dexie } from 'dexie';
import { enqueueOperation, enqueueOperations, OUTBOX_TABLES, readSeqAhead } from '../outbox/enqueue.ts';
import { OutboxError } from '../outbox/errors.ts';
import { CodedError } from '../errors.ts';
import { scheduleNextReview } from './reviewSchedule.ts';

export type DataServiceErrorCode = 'INVALID_INPUT' | 'UNKNOWN_REFERENCE' | 'CARD_NOT_FOUND' | 'CARD_DELETED';

/** A write the data service refused; nothing was written (neither the record nor its operation). */
export class DataServiceError extends CodedError<DataServiceErrorCode> {}

export type EnqueuedEvent = { priority: Priority; count: number };

export type DataServiceOptions = {
  db: VersesDb;
  /** The signed-in user, stamped on new cards and operations; undefined before sign-in. */
  getUserId: () => string | undefined;
  /** Called after a write committed, to nudge the queue. */
  onEnqueued?: (event: EnqueuedEvent) => void;
  now?: () => Date;
};

export type WriteOptions = { priority?: Priority };
export type NewVerseCard = { reference: string; customText?: string };
export type ProfilePatch = { displayName?: string; translation?: string; dailyGoal?: number };

export type DataService = {
  addVerseCard(reference: string, customText?: string, options?: WriteOptions): Promise<VerseCard>;
  addVerseCards(cards: NewVerseCard[], options?: WriteOptions): Promise<VerseCard[]>;
  recordReview(verseCardId: string, correct: boolean, options?: WriteOptions): Promise<ReviewLog>;
  updateProfile(patch: ProfilePatch, options?: WriteOptions): Promise<Profile>;
  createAlias(verseCardId: string, alias: string, options?: WriteOptions): Promise<Alias>;
  deleteVerse(verseCardId: string, options?: WriteOptions): Promise<VerseCard>;
};

/** The server's default when neither the operation nor the profile names a translation. */
export const DEFAULT_TRANSLATION = 'ESV';
/** Profile row id before sign-in. */
export const LOCAL_PROFILE_ID = 'local';

const REVIEW_RETRIES = 5;
const DEFAULT_RETRIES = 3;

const invalid = (message: string) => new DataServiceError('INVALID_INPUT', message);

function checkText(label: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw invalid(`${label} must be text, got ${value === null ? 'null' : typeof value}`);
  if (value.includes('\u0000')) throw invalid(`${label} contains a NUL character (U+0000); remove it and try again`);
  if (value.length > max) throw invalid(`${label} is ${value.length} characters long; shorten it to at most ${max}`);
  return value;
}

// Same normalisation as the server's apply_batch, so local and remote agree on the catalogue key.
function checkReference(value: unknown, label = 'Reference'): string {
  const reference = checkText(label, value, Number.MAX_SAFE_INTEGER).trim().replace(/\s+/g, ' ');
  if (reference.length === 0) throw invalid(`${label} is empty; enter a verse reference such as "John 3:16"`);
  checkText(label, reference, LIMITS.maxReferenceLength);
  // The function's own parser: a book it does not know would only come back refused.
  const problem = referenceProblem(reference);
  if (problem) throw new DataServiceError('UNKNOWN_REFERENCE', `${label === 'Reference' ? '' : `${label.replace(/Reference$/, '')}`}${problem}`);
  return reference;
}

function checkCustomText(value: unknown, label = 'Custom text'): string | undefined {
  if (value === undefined) return undefined;
  const text = checkText(label, value, LIMITS.maxTextLength);
  return text.trim().length === 0 ? undefined : text; // blank custom text means "use the verse's text"
}

function checkProfilePatch(patch: unknown): ProfilePatch {
  if (typeof patch !== 'object' || patch === null) throw invalid('Profile update must be an object of displayName, translation, dailyGoal');
  const known = ['displayName', 'translation', 'dailyGoal'];
  const unknown = Object.keys(patch).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw invalid(`Profile has no field ${unknown.map((k) => `"${k}"`).join(', ')}; use displayName, translation or dailyGoal`);
  const { displayName, translation, dailyGoal } = patch as ProfilePatch;
  const clean: ProfilePatch = {};
  if (displayName !== undefined) clean.displayName = checkText('Display name', displayName, LIMITS.maxDisplayNameLength).trim();
  if (translation !== undefined) {
    const t = checkText('Translation', translation, LIMITS.maxTranslationLength).trim();
    if (t.length === 0) throw invalid('Translation is empty; enter one such as "ESV" or "KJV"');
    clean.translation = t;
  }
  if (dailyGoal !== undefined) {
    if (typeof dailyGoal !== 'number' || !Number.isInteger(dailyGoal) || dailyGoal < 1 || dailyGoal > 1000) {
      throw invalid(`Daily goal must be a whole number from 1 to 1000, got ${String(dailyGoal)}`);
    }
    clean.dailyGoal = dailyGoal;
  }
  if (Object.keys(clean).length === 0) throw invalid('Profile update changes nothing; set displayName, translation or dailyGoal');
  return clean;
}

/** Creates the data service over `db`. */
export function createDataService(options: DataServiceOptions): DataService {
  const { db, getUserId, onEnqueued } = options;
  const now = options.now ?? (() => new Date());

  async function write<T>(tables: string[], priority: Priority, count: (result: T) => number, body: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await db.transaction('rw', [...tables, ...OUTBOX_TABLES], body);
    } catch (error) {
      if (error instanceof OutboxError && error.code === 'INVALID_OPERATION') throw invalid(error.message);
      throw error;
    }
    const n = count(result);
    if (onEnqueued && n > 0) {
      try {
        onEnqueued({ priority, count: n });
      } catch (error) {
        // The write has committed; a listener's fault must not report it as failed.
        console.error('verses-sync: onEnqueued listener threw', error);
      }
    }
    return result;
  }

  async function liveCard(verseCardId: unknown, userId: string | undefined, action: string): Promise<VerseCard> {
    if (typeof verseCardId !== 'string' || verseCardId.length === 0) {
      throw new DataServiceError('CARD_NOT_FOUND', `No verse card with id ${JSON.stringify(verseCardId)}; pass the id of an existing card`);
    }
    const card = await db.verseCards.get(verseCardId);
    if (!card || (card.userId !== undefined && userId !== undefined && card.userId !== userId)) {
      throw new DataServiceError('CARD_NOT_FOUND', `No verse card with id ${verseCardId}; it may belong to another account`);
    }
    if (card.deletedAt !== undefined) {
      throw new DataServiceError('CARD_DELETED', `Verse card ${card.reference} was deleted on ${card.deletedAt}; ${action}`);
    }
    return card;
  }

  async function addCards(items: NewVerseCard[], priority: Priority): Promise<VerseCard[]> {
    const userId = getUserId();
    const at = now();
    const iso = at.toISOString();
    const checked = items.map((item, i) => {
      const label = items.length > 1 ? `Card ${i + 1}: ` : '';
      if (typeof item !== 'object' || item === null) throw invalid(`${label}expected { reference, customText? }`);
      return {
        reference: checkReference(item.reference, `${label}Reference`),
        customText: checkCustomText(item.customText, `${label}Custom text`),
      };
    });
    if (checked.length === 0) return [];

    return write(['verses', 'verseCards', 'profile'], priority, (cards) => cards.length, async () => {
      const references = [...new Set(checked.map((item) => item.reference))];
      // The profile (which decides the translation), the catalogue's rows for these references in
      // every translation, and the outbox's seq are read at once: one wait instead of three.
      readSeqAhead(db);
      const byReference = db.verses.where('[reference+translation]');
      const range = (reference: string): [unknown[], unknown[]] => [[reference, Dexie.minKey], [reference, Dexie.maxKey]];
      const [profile, found] = await Dexie.Promise.all([
        db.profile.get(userId ?? LOCAL_PROFILE_ID),
        // Each reference reads its own range, all issued at once (still one wait). Not one cursor
        // over all the ranges: it seeks once per range, and in fake-indexeddb a seek walks the
        // index from its start, so an import of 1,000 into a 100,000-verse catalogue took 22 s.
        Dexie.Promise.all(references.map((reference) => byReference.between(...range(reference)).toArray())),
      ]);
      const candidates = found.flat();
      const translation = profile?.translation ?? DEFAULT_TRANSLATION;
      const verses = new Map<string, Verse>(candidates.filter((verse) => verse.translation === translation).map((verse) => [verse.reference, verse]));
      const newVerses: Verse[] = [];
      for (const reference of references) {
        if (verses.has(reference)) continue;
        const verse: Verse = { id: crypto.randomUUID(), reference, translation };
        verses.set(reference, verse);
        newVerses.push(verse);
      }
      const cards = checked.map((item): VerseCard => {
        const card: VerseCard = {
          id: crypto.randomUUID(),
          verseId: verses.get(item.reference)!.id,
          reference: item.reference,
          createdAt: iso,
          updatedAt: iso,
          nextReviewAt: iso,
          reviewCount: 0,
          correctCount: 0,
        };
        if (item.customText !== undefined) card.customText = item.customText;
        if (userId !== undefined) card.userId = userId;
        return card;
      });
      // The records and their ops are written at once (the seq was read above): one wait, not two.
      const records: Array<Promise<unknown>> = [db.verses.bulkAdd(newVerses), db.verseCards.bulkAdd(cards)];
      const ops = enqueueOperations(
        db,
        cards.map((card) => {
          const payload: OperationPayloads['CREATE_VERSE'] = { verseCardId: card.id, reference: card.reference, translation };
          if (card.customText !== undefined) payload.customText = card.customText;
          return { type: 'CREATE_VERSE', payload, priority, localRecordId: card.id, userId, maxRetries: DEFAULT_RETRIES, now: at };
        }),
      );
      await Dexie.Promise.all([...records, ops]);
      return cards;
    });
  }

  return {
    async addVerseCard(reference, customText, opts = {}) {
      const [card] = await addCards([{ reference, customText }], opts.priority ?? 'normal');
      return card;
    },

    async addVerseCards(cards, opts = {}) {
      if (!Array.isArray(cards)) throw invalid('addVerseCards expects an array of { reference, customText? }');
      return addCards(cards, opts.priority ?? 'normal');
    },

    async recordReview(verseCardId, correct, opts = {}) {
      if (typeof correct !== 'boolean') throw invalid(`A review's answer must be true or false, got ${String(correct)}`);
      const userId = getUserId();
      const at = now();
      const priority = opts.priority ?? 'high';
      return write(['verseCards', 'reviewLogs'], priority, () => 1, async () => {
        const card = await liveCard(verseCardId, userId, 'restore it before reviewing');
        const review: ReviewLog = { id: crypto.randomUUID(), verseCardId: card.id, correct, reviewDate: at.toISOString() };
        await db.reviewLogs.add(review);
        await db.verseCards.update(card.id, { ...scheduleNextReview(card, correct, at), updatedAt: review.reviewDate });
        await enqueueOperation(db, {
          type: 'RECORD_REVIEW',
          payload: { reviewId: review.id, verseCardId: card.id, correct, reviewDate: review.reviewDate },
          priority,
          localRecordId: review.id,
          userId,
          maxRetries: REVIEW_RETRIES,
          now: at,
        });
        return review;
      });
    },

    async updateProfile(patch, opts = {}) {
      const clean = checkProfilePatch(patch);
      const userId = getUserId();
      const at = now();
      const priority = opts.priority ?? 'normal';
      return write(['profile'], priority, () => 1, async () => {
        const id = userId ?? LOCAL_PROFILE_ID;
        const updatedAt = at.toISOString();
        const profile: Profile = { ...(await db.profile.get(id)), ...clean, id, updatedAt };
        await db.profile.put(profile);
        await enqueueOperation(db, {
          type: 'UPDATE_PROFILE',
          payload: { ...clean, updatedAt },
          priority,
          localRecordId: id,
          userId,
          maxRetries: DEFAULT_RETRIES,
          now: at,
        });
        return profile;
      });
    },

    async createAlias(verseCardId, alias, opts = {}) {
      const text = checkText('Alias', alias, Number.MAX_SAFE_INTEGER).trim();
      if (text.length === 0) throw invalid('Alias is empty; enter a short name for the verse, such as "love chapter"');
      checkText('Alias', text, LIMITS.maxAliasLength);
      const userId = getUserId();
      const at = now();
      const priority = opts.priority ?? 'normal';
      return write(['verseCards', 'aliases'], priority, () => 1, async () => {
        const card = await liveCard(verseCardId, userId, 'restore it before adding aliases');
        const row: Alias = { id: crypto.randomUUID(), verseCardId: card.id, alias: text, createdAt: at.toISOString() };
        await db.aliases.add(row);
        await enqueueOperation(db, {
          type: 'CREATE_ALIAS',
          payload: { aliasId: row.id, verseCardId: card.id, alias: text },
          priority,
          localRecordId: row.id,
          userId,
          maxRetries: DEFAULT_RETRIES,
          now: at,
        });
        return row;
      });
    },

    async deleteVerse(verseCardId, opts = {}) {
      const userId = getUserId();
      const at = now();
      const priority = opts.priority ?? 'normal';
      return write(['verseCards'], priority, () => 1, async () => {
        const card = await liveCard(verseCardId, userId, 'it is already deleted');
        const deleted: VerseCard = { ...card, deletedAt: at.toISOString(), updatedAt: at.toISOString() };
        await db.verseCards.put(deleted);
        await enqueueOperation(db, {
          type: 'DELETE_VERSE',
          payload: { verseCardId: card.id },
          priority,
          localRecordId: card.id,
          userId,
          maxRetries: DEFAULT_RETRIES,
          now: at,
        });
        return deleted;
      });
    },
  };
}
