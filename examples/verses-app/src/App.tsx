import { useState, type FormEvent } from 'react';
import { SyncProvider, SyncStatus } from 'verses-sync/react';
import type { AppSync } from './sync.ts';

export function App({ app, userId }: { app: AppSync; userId: string }) {
  const [reference, setReference] = useState('');
  const [added, setAdded] = useState<Array<{ id: string; reference: string }>>([]);
  const [error, setError] = useState<string | null>(null);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      // Lands in IndexedDB with its outbox op at once; the queue sends it in the next batch.
      const card = await app.data.addVerseCard(reference.trim());
      setAdded((list) => [...list, { id: card.id, reference: card.reference }]);
      setReference('');
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };

  return (
    <SyncProvider service={app.sync} db={app.db} userId={userId}>
      <main>
        <h1>My verses</h1>
        <form onSubmit={add}>
          <label>
            Reference <input value={reference} onChange={(e) => setReference(e.target.value)} placeholder="John 3:16" />
          </label>
          <button type="submit" disabled={!reference.trim()}>
            Add verse
          </button>
        </form>
        {error && <p role="alert">{error}</p>}
        <ul aria-label="Added verses">
          {added.map((card) => (
            <li key={card.id}>{card.reference}</li>
          ))}
        </ul>
        <SyncStatus />
      </main>
    </SyncProvider>
  );
}
