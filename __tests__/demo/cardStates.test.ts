// Each card's own sync state, from the outbox rows that name it.
import type { SyncOperation } from '../../src/db/index.ts';
import { cardStateReason, cardStateText, cardSyncState, opsByCard } from '../../src/demo/cardStates.ts';

let seq = 0;
const op = (type: SyncOperation['type'], verseCardId: string, status: SyncOperation['status'] = 'queued', extra: Partial<SyncOperation> = {}): SyncOperation => ({
  id: `op-${++seq}`,
  type,
  payload: { verseCardId },
  timestamp: 0,
  priority: 'normal',
  retryCount: 0,
  maxRetries: 3,
  seq,
  status,
  ...extra,
});

test('synced, local, sending: from the card and its unacknowledged ops', () => {
  expect(cardStateText(cardSyncState({ syncedAt: '2026-01-01T00:00:00Z' }, []))).toBe('synced');
  expect(cardStateText(cardSyncState({}, []))).toBe('local');
  expect(cardStateText(cardSyncState({}, [op('CREATE_VERSE', 'a'), op('RECORD_REVIEW', 'a')]))).toBe('local · 2 changes to send');
  expect(cardStateText(cardSyncState({}, [op('CREATE_VERSE', 'a', 'inFlight')]))).toBe('sending…');
});

test('a refused create says why and how many changes wait on it; held ops alone read as waiting', () => {
  const reason = { code: 'UNKNOWN_REFERENCE', message: 'The ESV has no John 99:99', retryable: false, at: '' };
  const dead = op('CREATE_VERSE', 'a', 'dead', { lastError: reason });
  const state = cardSyncState({}, [dead, op('RECORD_REVIEW', 'a'), op('CREATE_ALIAS', 'a', 'held')]);
  expect(state).toMatchObject({ kind: 'refused', op: dead, waiting: 2 });
  expect(cardStateText(state)).toBe('refused');
  expect(cardStateReason(state)).toBe('The ESV has no John 99:99 (UNKNOWN_REFERENCE) · 2 changes wait on it');
  const waiting = cardSyncState({}, [op('RECORD_REVIEW', 'a', 'held')]);
  expect(cardStateText(waiting)).toBe('waiting on a refused change');
  expect(cardStateReason(waiting)).toBe('1 change of this card waits until the refused change is retried or discarded');
  expect(cardStateReason(cardSyncState({}, [op('CREATE_VERSE', 'a')]))).toBeNull();
});

test('ops are grouped by card in seq order; a profile update belongs to no card', () => {
  const b2 = op('RECORD_REVIEW', 'b');
  const a1 = op('CREATE_VERSE', 'a');
  const b1 = op('CREATE_VERSE', 'b');
  const profile: SyncOperation = { ...op('UPDATE_PROFILE', 'x'), payload: { dailyGoal: 3 } };
  const groups = opsByCard([b2, profile, b1, a1]);
  expect([...groups.keys()].sort()).toEqual(['a', 'b']);
  expect(groups.get('b')!.map((o) => o.id)).toEqual([b2.id, b1.id].sort((x, y) => Number(x.slice(3)) - Number(y.slice(3))));
});
