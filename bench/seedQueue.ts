// Fills a queue for the enqueue bench fast: the rows an import of new cards writes (a verse, a
// card, its CREATE_VERSE op), written in big chunks, one transaction each. The op rows come from
// the outbox's own enqueueOperations (same shape and validation, the seq moved on, the counts
// middleware keeping the pending counts), so the queue is the one addVerseCards would leave.
// What it skips is the import's catalogue lookup (every reference here is new), which in
// fake-indexeddb walks its cursor over a 1,000-range query in O(queued) per range: filling
// 100,000 ops through imports of 1,000 took minutes per fill there. No Node imports: the
// Chromium bench page uses it too.
import { Dexie } from 'dexie';
import type { VersesDb } from '../src/db/database.ts';
import type { Verse, VerseCard } from '../src/db/types.ts';
import { DEFAULT_MAX_RETRIES, enqueueOperations, OUTBOX_TABLES } from '../src/outbox/enqueue.ts';
import { DEFAULT_TRANSLATION } from '../src/service/dataService.ts';

export type SeedOptions = {
  /** How many queued ops to add. */
  count: number;
  userId: string | undefined;
  /** A new, valid reference each call (the bench's own counter). */
  nextReference: () => string;
  /** Ops a transaction; 10,000 by default. */
  chunk?: number;
  /** After each committed chunk (to nudge an orchestrator as a write's onEnqueued would, and for progress). */
  onChunk?: (added: number, total: number) => void;
  now?: () => Date;
};

/** Adds `count` queued CREATE_VERSE ops with their verses and cards; resolves when all are committed. */
export async function seedQueue(db: VersesDb, options: SeedOptions): Promise<void> {
  const { count, userId, nextReference } = options;
  const chunk = options.chunk ?? 10_000;
  const now = options.now ?? (() => new Date());
  let added = 0;
  while (added < count) {
    const size = Math.min(chunk, count - added);
    const at = now();
    const iso = at.toISOString();
    const verses: Verse[] = [];
    const cards: VerseCard[] = [];
    for (let i = 0; i < size; i++) {
      const reference = nextReference();
      const verse: Verse = { id: crypto.randomUUID(), reference, translation: DEFAULT_TRANSLATION };
      const card: VerseCard = { id: crypto.randomUUID(), verseId: verse.id, reference, createdAt: iso, updatedAt: iso, nextReviewAt: iso, reviewCount: 0, correctCount: 0 };
      if (userId !== undefined) card.userId = userId;
      verses.push(verse);
      cards.push(card);
    }
    await db.transaction('rw', ['verses', 'verseCards', ...OUTBOX_TABLES], async () => {
      await Dexie.Promise.all([db.verses.bulkAdd(verses), db.verseCards.bulkAdd(cards)]);
      await enqueueOperations(
        db,
        cards.map((card) => ({
          type: 'CREATE_VERSE' as const,
          payload: { verseCardId: card.id, reference: card.reference, translation: DEFAULT_TRANSLATION },
          priority: 'normal' as const,
          localRecordId: card.id,
          userId,
          maxRetries: DEFAULT_MAX_RETRIES,
          now: at,
        })),
      );
    });
    added += size;
    options.onChunk?.(size, added);
  }
}

/**
 * A fresh run of distinct references that the client accepts (a real book; chapter and verse up
 * to 999 as its parser reads them): 150 × 999 of them, enough for one queue of 100,000 and its writes.
 */
export function benchReferences(): () => string {
  let i = 0;
  return () => {
    const n = i++;
    return `Psalm ${1 + (n % 150)}:${1 + Math.floor(n / 150)}`;
  };
}
