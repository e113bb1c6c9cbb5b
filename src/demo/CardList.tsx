// Every card of the signed-in user, a page at a time with a filter by reference: each with its
// text, its aliases, its own sync state (refused ones with the reason and Retry / Discard) and
// its actions.
import { useLiveQuery } from 'dexie-react-hooks';
import { useMemo, useState } from 'react';
import type { Alias, SyncOperation, Verse, VerseCard } from '../db/index.ts';
import { refusalText, useSyncEvents } from '../react/index.ts';
import { cardStateReason, cardStateText, cardSyncState, opsByCard, type CardSyncState } from './cardStates.ts';
import { plural } from './words.ts';
import type { DemoDevice } from './device.ts';
import { attempt, OutcomeMessage, type Outcome } from './Message.tsx';
import { bibleOrder } from './references.ts';

export const PAGE_SIZE = 20;

const NO_CARDS: VerseCard[] = [];
const NO_OPS: SyncOperation[] = [];

// Newest first; cards added together (a bulk add) in Bible order.
const newestFirst = (a: VerseCard, b: VerseCard) => b.createdAt.localeCompare(a.createdAt) || bibleOrder(a.reference) - bibleOrder(b.reference) || a.reference.localeCompare(b.reference);

export function CardList({ device }: { device: DemoDevice }) {
  const { db, data, userId } = device;
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [alias, setAlias] = useState('love');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const cards = useLiveQuery(async () => (await db.verseCards.where('userId').equals(userId).toArray()).filter((c) => !c.deletedAt).sort(newestFirst), [db, userId], NO_CARDS);
  // Acknowledged ops leave the outbox: what is left is what each card still waits for.
  const ops = useLiveQuery(async () => (await db.syncOperations.toArray()).filter((op) => op.userId === undefined || op.userId === userId), [db, userId], NO_OPS);
  const byCard = useMemo(() => opsByCard(ops), [ops]);

  const needle = filter.trim().toLowerCase();
  const matching = useMemo(() => (needle ? cards.filter((c) => c.reference.toLowerCase().includes(needle)) : cards), [cards, needle]);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = matching.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  const shownIds = shown.map((c) => c.id).join(',');

  const verses = useLiveQuery(
    async () => new Map((await db.verses.bulkGet(shown.map((c) => c.verseId))).flatMap((v) => (v ? [[v.id, v] as const] : []))),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [db, shownIds],
  );
  const aliases = useLiveQuery(
    async () => {
      const byId = new Map<string, Alias[]>();
      for (const row of await db.aliases.where('verseCardId').anyOf(shown.map((c) => c.id)).toArray()) byId.set(row.verseCardId, [...(byId.get(row.verseCardId) ?? []), row]);
      return byId;
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [db, shownIds],
  );

  const act = (done: string, failed: string, write: () => Promise<unknown>) => async () => setOutcome(await attempt(done, failed, write));
  const first = current * PAGE_SIZE + 1;

  return (
    <section aria-label="Cards">
      <p>
        <strong data-testid="card-count">{cards.length.toLocaleString()}</strong> {cards.length === 1 ? 'verse card' : 'verse cards'} on this device
      </p>
      <div className="row">
        <label>
          Filter cards{' '}
          <input
            type="search"
            value={filter}
            onChange={(e) => {
              setFilter(e.target.value);
              setPage(0);
            }}
            placeholder="by reference, e.g. Psalm 23"
          />
        </label>
        <label>
          Alias for the buttons below <input value={alias} onChange={(e) => setAlias(e.target.value)} />
        </label>
      </div>
      <OutcomeMessage outcome={outcome} />
      {matching.length === 0 ? (
        <p className="muted">{cards.length === 0 ? 'No cards yet: add a verse above.' : `No card matches “${filter.trim()}”.`}</p>
      ) : (
        <nav className="row pager" aria-label="Card pages">
          <button type="button" onClick={() => setPage(current - 1)} disabled={current === 0}>
            Previous
          </button>
          <span data-testid="card-range">
            Cards {first.toLocaleString()}–{(first + shown.length - 1).toLocaleString()} of {matching.length.toLocaleString()}
            {needle ? ' matching' : ''}
          </span>
          <button type="button" onClick={() => setPage(current + 1)} disabled={current >= pages - 1}>
            Next
          </button>
        </nav>
      )}
      <ul className="cards" aria-label="Verse cards">
        {shown.map((card) => (
          <CardRow
            key={card.id}
            card={card}
            verse={verses?.get(card.verseId)}
            aliases={aliases?.get(card.id) ?? []}
            state={cardSyncState(card, byCard.get(card.id))}
            onReview={(correct) => act(`Reviewed ${card.reference} (${correct ? 'correct' : 'missed'})`, `The review of ${card.reference} was not saved`, () => data.recordReview(card.id, correct))()}
            onAlias={() => act(`Alias “${alias.trim()}” added to ${card.reference}`, `The alias was not added to ${card.reference}`, () => data.createAlias(card.id, alias))()}
            onDelete={() => act(`Deleted ${card.reference}`, `${card.reference} was not deleted`, () => data.deleteVerse(card.id))()}
            onOutcome={setOutcome}
          />
        ))}
      </ul>
    </section>
  );
}

type CardRowProps = {
  card: VerseCard;
  verse: Verse | undefined;
  aliases: Alias[];
  state: CardSyncState;
  onReview(correct: boolean): void;
  onAlias(): void;
  onDelete(): void;
  onOutcome(outcome: Outcome): void;
};

function CardRow({ card, verse, aliases, state, onReview, onAlias, onDelete, onOutcome }: CardRowProps) {
  const { retryDeadLetter, discardDeadLetter } = useSyncEvents();
  const label = card.reference;
  const reason = cardStateReason(state, refusalText);
  return (
    <li className="card" data-state={state.kind} data-testid="card">
      <div className="card-head">
        <strong className="card-ref">{card.reference}</strong>
        <span className={`card-state state-${state.kind}`} data-testid="card-state">
          {cardStateText(state)}
        </span>
        <span className="muted">· {plural(card.reviewCount, 'review')}</span>
        <span className="card-actions">
          {state.kind === 'refused' && (
            <>
              <button
                type="button"
                aria-label={`Retry ${label}`}
                onClick={async () => onOutcome((await retryDeadLetter(state.op.id)) ? { ok: true, text: `Sending ${label} again` } : { ok: false, text: `${label} was not refused any more` })}
              >
                Retry
              </button>
              <button
                type="button"
                aria-label={`Discard ${label}`}
                onClick={async () => onOutcome((await discardDeadLetter(state.op.id)) ? { ok: true, text: `Discarded the refused change of ${label}` } : { ok: false, text: `${label} was not refused any more` })}
              >
                Discard
              </button>
            </>
          )}
          <button type="button" onClick={() => onReview(true)} aria-label={`Review ${label} correct`}>
            Review ✓
          </button>
          <button type="button" onClick={() => onReview(false)} aria-label={`Review ${label} missed`}>
            Review ✗
          </button>
          <button type="button" onClick={onAlias} aria-label={`Add alias to ${label}`}>
            Alias
          </button>
          <button type="button" onClick={onDelete} aria-label={`Delete ${label}`}>
            Delete
          </button>
        </span>
      </div>
      {reason && (
        <p className={`card-reason reason-${state.kind}`} data-testid="card-reason">
          {reason}
        </p>
      )}
      <VerseText custom={card.customText} verse={verse} />
      {aliases.length > 0 && (
        <p className="aliases" aria-label={`Aliases of ${label}`}>
          Aliases:{' '}
          {aliases.map((a) => (
            <span key={a.id} className="alias" data-synced={a.syncedAt ? 'yes' : 'no'}>
              {a.alias}
            </span>
          ))}
        </p>
      )}
    </li>
  );
}

function VerseText({ custom, verse }: { custom?: string; verse?: Verse }) {
  if (custom) return <q className="verse-text">{custom}</q>;
  if (verse?.text) return <q className="verse-text" data-testid="verse-text">{verse.text}</q>;
  if (verse?.textPending) return <span className="muted verse-text">text on its way</span>;
  return null;
}
