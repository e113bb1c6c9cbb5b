// The app's writes, one button each: add a verse, bulk-add 100, review, alias, delete, profile.
import { useLiveQuery } from 'dexie-react-hooks';
import { useState, type FormEvent } from 'react';
import type { DemoDevice } from './device.ts';

const BULK = 100;

export function VerseActions({ device }: { device: DemoDevice }) {
  const { db, data, userId } = device;
  const [reference, setReference] = useState('John 3:16');
  const [alias, setAlias] = useState('love');
  const [displayName, setDisplayName] = useState('');
  const [dailyGoal, setDailyGoal] = useState(10);
  const [message, setMessage] = useState<string | null>(null);
  const cards = useLiveQuery(
    async () => (await db.verseCards.where('userId').equals(userId).toArray()).filter((c) => !c.deletedAt).sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    [db, userId],
    [],
  );
  const profile = useLiveQuery(() => db.profile.get(userId), [db, userId]);
  // The text each shown card reads: its own, else the catalogue verse's (from the ESV once synced).
  const verses = useLiveQuery(async () => new Map((await db.verses.bulkGet(cards.slice(0, 8).map((c) => c.verseId))).flatMap((v) => (v ? [[v.id, v] as const] : []))), [db, cards]);

  // Every write returns at once; a refusal (bad input) is shown, never thrown at the user.
  const run = (label: string, write: () => Promise<unknown>) => async () => {
    try {
      await write();
      setMessage(label);
    } catch (e) {
      setMessage(`${label} failed: ${(e as Error).message}`);
    }
  };
  const addVerse = (event: FormEvent) => {
    event.preventDefault();
    void run(`Added ${reference}`, () => data.addVerseCard(reference))();
  };
  const bulkAdd = run(`Added ${BULK} verses`, () => {
    const stamp = Date.now().toString(36);
    return data.addVerseCards(Array.from({ length: BULK }, (_, i) => ({ reference: `Psalm 119:${i + 1}`, customText: `bulk ${stamp} #${i + 1}` })));
  });
  const saveProfile = (event: FormEvent) => {
    event.preventDefault();
    void run('Profile saved', () => data.updateProfile({ ...(displayName.trim() ? { displayName } : {}), dailyGoal }))();
  };

  return (
    <section className="panel" aria-labelledby="verses-heading">
      <h2 id="verses-heading">Verses</h2>
      <form onSubmit={addVerse} className="row">
        <label>
          Reference <input value={reference} onChange={(e) => setReference(e.target.value)} name="reference" />
        </label>
        <button type="submit">Add verse</button>
        <button type="button" onClick={bulkAdd}>
          Add {BULK} verses
        </button>
      </form>
      <form onSubmit={saveProfile} className="row">
        <label>
          Display name <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} placeholder={profile?.displayName ?? ''} />
        </label>
        <label>
          Daily goal <input type="number" min={1} max={1000} value={dailyGoal} onChange={(e) => setDailyGoal(Number(e.target.value))} />
        </label>
        <button type="submit">Save profile</button>
      </form>
      <p className="row">
        <label>
          Alias for the buttons below <input value={alias} onChange={(e) => setAlias(e.target.value)} />
        </label>
      </p>
      {message && <p role="status" className="message">{message}</p>}
      <p aria-live="polite">
        <strong data-testid="card-count">{cards.length}</strong> verse cards on this device
      </p>
      <ul className="cards" aria-label="Verse cards">
        {cards.slice(0, 8).map((card) => (
          <li key={card.id}>
            <span>
              {card.reference} {card.syncedAt ? '✓ synced' : '… local'} · {card.reviewCount} reviews
              <VerseText custom={card.customText} verse={verses?.get(card.verseId)} />
            </span>
            <button type="button" onClick={run(`Reviewed ${card.reference}`, () => data.recordReview(card.id, true))} aria-label={`Review ${card.reference} correct`}>
              Review ✓
            </button>
            <button type="button" onClick={run(`Reviewed ${card.reference}`, () => data.recordReview(card.id, false))} aria-label={`Review ${card.reference} missed`}>
              Review ✗
            </button>
            <button type="button" onClick={run(`Alias added to ${card.reference}`, () => data.createAlias(card.id, alias))} aria-label={`Add alias to ${card.reference}`}>
              Alias
            </button>
            <button type="button" onClick={run(`Deleted ${card.reference}`, () => data.deleteVerse(card.id))} aria-label={`Delete ${card.reference}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {cards.length > 8 && <p className="muted">…and {cards.length - 8} more</p>}
    </section>
  );
}

function VerseText({ custom, verse }: { custom?: string; verse?: { text?: string; textPending?: boolean } }) {
  if (custom) return <q className="verse-text">{custom}</q>;
  if (verse?.text) return <q className="verse-text" data-testid="verse-text">{verse.text}</q>;
  if (verse?.textPending) return <span className="muted"> · text on its way</span>;
  return null;
}
