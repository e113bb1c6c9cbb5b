// The app's writes: add a verse (asking first when the device already has it), add 100 real
// verses from the bundled sample, and the profile form, filled from the local profile.
import { useLiveQuery } from 'dexie-react-hooks';
import { useState, type FormEvent } from 'react';
import type { DemoDevice } from './device.ts';
import { attempt, OutcomeMessage, type Outcome } from './Message.tsx';
import { referenceKey } from './references.ts';

export const BULK = 100;
/** What the form shows before the person has saved a goal (the server's default too). */
const DEFAULT_GOAL = 10;

type SampleVerse = { reference: string; text: string };

let sample: Promise<SampleVerse[]> | undefined;
/** The bundled sample's verses (GET /dev/sample), fetched once. */
function loadSample(): Promise<SampleVerse[]> {
  sample ??= fetch('/dev/sample').then(async (res) => {
    if (!res.ok) throw new Error(`GET /dev/sample answered ${res.status}`);
    return ((await res.json()) as { verses: SampleVerse[] }).verses;
  });
  sample.catch(() => (sample = undefined));
  return sample;
}

export function AddVerses({ device }: { device: DemoDevice }) {
  const { db, data, userId } = device;
  const [reference, setReference] = useState('John 3:16');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [duplicate, setDuplicate] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const liveReferences = async () => new Set((await db.verseCards.where('userId').equals(userId).toArray()).filter((c) => !c.deletedAt).map((c) => referenceKey(c.reference)));

  const add = async (ref: string, second: boolean) => {
    setDuplicate(null);
    setOutcome(await attempt(second ? `Added a second card for ${ref}` : `Added ${ref}`, `${ref} was not added`, () => data.addVerseCard(ref)));
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ref = reference.trim();
    if ((await liveReferences()).has(referenceKey(ref))) {
      setOutcome(null);
      setDuplicate(ref);
      return;
    }
    await add(ref, false);
  };
  const bulkAdd = async () => {
    setBusy(true);
    setDuplicate(null);
    try {
      const have = await liveReferences();
      const fresh = (await loadSample()).filter((v) => !have.has(referenceKey(v.reference))).slice(0, BULK);
      if (fresh.length === 0) {
        setOutcome({ ok: false, text: 'Every verse of the bundled sample is on this device already: delete some cards first.' });
        return;
      }
      const short = fresh.length < BULK ? ` (the sample has no more verses this device lacks)` : '';
      setOutcome(await attempt(`Added ${fresh.length} verses from the sample, ${fresh[0].reference} to ${fresh[fresh.length - 1].reference}${short}`, 'The verses were not added', () => data.addVerseCards(fresh.map((v) => ({ reference: v.reference })))));
    } catch (e) {
      setOutcome({ ok: false, text: `The sample could not be read: ${(e as Error).message}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <form onSubmit={(e) => void submit(e)} className="row">
        <label>
          Reference <input value={reference} onChange={(e) => setReference(e.target.value)} name="reference" />
        </label>
        <button type="submit">Add verse</button>
        <button type="button" onClick={() => void bulkAdd()} disabled={busy}>
          Add {BULK} verses
        </button>
      </form>
      {duplicate && (
        <div className="confirm row" role="group" aria-label="Add a second card?">
          <span>This device already has a card for {duplicate}. Add a second card for it?</span>
          <button type="button" onClick={() => void add(duplicate, true)}>
            Add a second card
          </button>
          <button type="button" onClick={() => setDuplicate(null)}>
            Cancel
          </button>
        </div>
      )}
      <OutcomeMessage outcome={outcome} />
    </>
  );
}

type Draft = { displayName?: string; dailyGoal?: string };

/** The profile as saved on this device, kept in step by a live query; saving sends only the fields changed here. */
export function ProfileForm({ device }: { device: DemoDevice }) {
  const { db, data, userId } = device;
  const profile = useLiveQuery(() => db.profile.get(userId), [db, userId]);
  const [draft, setDraft] = useState<Draft>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const savedName = profile?.displayName ?? '';
  const savedGoal = profile?.dailyGoal;
  const name = draft.displayName ?? savedName;
  const goal = draft.dailyGoal ?? String(savedGoal ?? DEFAULT_GOAL);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const patch: { displayName?: string; dailyGoal?: number } = {};
    if (draft.displayName !== undefined && draft.displayName.trim() !== savedName) patch.displayName = draft.displayName;
    if (draft.dailyGoal !== undefined && Number(draft.dailyGoal) !== savedGoal) patch.dailyGoal = Number(draft.dailyGoal);
    if (Object.keys(patch).length === 0) {
      setOutcome({ ok: true, text: 'Nothing to save: the profile already says this' });
      return;
    }
    const result = await attempt(`Profile saved (${Object.keys(patch).map((k) => (k === 'dailyGoal' ? 'daily goal' : 'display name')).join(' and ')})`, 'The profile was not saved', () => data.updateProfile(patch));
    setOutcome(result);
    if (result.ok) setDraft({});
  };

  return (
    <>
      <form onSubmit={(e) => void save(e)} className="row" aria-label="Profile">
        <label>
          Display name <input value={name} onChange={(e) => setDraft((d) => ({ ...d, displayName: e.target.value }))} placeholder="not set" />
        </label>
        <label>
          Daily goal <input type="number" min={1} max={1000} value={goal} onChange={(e) => setDraft((d) => ({ ...d, dailyGoal: e.target.value }))} />
        </label>
        <button type="submit">Save profile</button>
        {profile === undefined ? <span className="muted">not saved yet</span> : profile.syncedAt ? <span className="muted">synced</span> : <span className="muted">saved here, not yet synced</span>}
      </form>
      <OutcomeMessage outcome={outcome} />
    </>
  );
}
