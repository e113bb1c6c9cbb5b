// Where each card's changes are: read from the outbox rows that name the card, so every card
// says for itself whether it is only local, being sent, synced, refused, or waiting on a refusal.
import type { StoredError, SyncOperation, VerseCard } from '../db/index.ts';
import { plural } from './words.ts';

export type CardSyncState =
  | { kind: 'synced' }
  | { kind: 'local'; changes: number }
  | { kind: 'sending'; changes: number }
  /** The server refused one of the card's changes: `op` is the one to retry or discard. */
  | { kind: 'refused'; op: SyncOperation; reason: StoredError | undefined; waiting: number }
  /** The card's own change is fine but waits for a refused change it depends on. */
  | { kind: 'waiting'; changes: number };

/** The card an operation is about (every card op carries `verseCardId`; a create is the card itself). */
export function cardIdOf(op: Pick<SyncOperation, 'type' | 'payload' | 'localRecordId'>): string | undefined {
  const id = (op.payload as { verseCardId?: unknown }).verseCardId;
  if (typeof id === 'string') return id;
  return op.type === 'CREATE_VERSE' ? op.localRecordId : undefined;
}

/** Groups the outbox by card, each group in seq order. */
export function opsByCard(ops: SyncOperation[]): Map<string, SyncOperation[]> {
  const byCard = new Map<string, SyncOperation[]>();
  for (const op of [...ops].sort((a, b) => a.seq - b.seq)) {
    const id = cardIdOf(op);
    if (!id) continue;
    const group = byCard.get(id);
    if (group) group.push(op);
    else byCard.set(id, [op]);
  }
  return byCard;
}

const isHeld = (op: SyncOperation) => op.status === 'held';

/** The state of `card` given its not-yet-acknowledged operations (seq order). */
export function cardSyncState(card: Pick<VerseCard, 'syncedAt'>, ops: SyncOperation[] = []): CardSyncState {
  const dead = ops.find((op) => op.status === 'dead');
  if (dead) {
    const waiting = ops.filter((op) => op !== dead && (isHeld(op) || (dead.type === 'CREATE_VERSE' && op.status === 'queued'))).length;
    return { kind: 'refused', op: dead, reason: dead.lastError, waiting };
  }
  if (ops.some(isHeld)) return { kind: 'waiting', changes: ops.filter(isHeld).length };
  if (ops.some((op) => op.status === 'inFlight')) return { kind: 'sending', changes: ops.length };
  if (ops.length > 0) return { kind: 'local', changes: ops.length };
  return card.syncedAt ? { kind: 'synced' } : { kind: 'local', changes: 0 };
}

/** The words of a card's state badge: short, so it never pushes the card's buttons onto a second line. */
export function cardStateText(state: CardSyncState): string {
  switch (state.kind) {
    case 'synced':
      return 'synced';
    case 'local':
      return state.changes > 0 ? `local · ${plural(state.changes, 'change')} to send` : 'local';
    case 'sending':
      return 'sending…';
    case 'waiting':
      return 'waiting on a refused change';
    case 'refused':
      return 'refused';
  }
}

/** Why a card is refused or waiting, in full, for the line under it (`describe` words the server's reason); null when all is well. */
export function cardStateReason(state: CardSyncState, describe: (reason: StoredError) => string = (reason) => reason.message): string | null {
  if (state.kind === 'waiting') return `${plural(state.changes, 'change')} of this card ${state.changes === 1 ? 'waits' : 'wait'} until the refused change is retried or discarded`;
  if (state.kind !== 'refused') return null;
  const reason = state.reason ? `${describe(state.reason)} (${state.reason.code})` : 'The server refused this change';
  const waiting = state.waiting > 0 ? ` · ${plural(state.waiting, 'change')} ${state.waiting === 1 ? 'waits' : 'wait'} on it` : '';
  return `${reason}${waiting}`;
}
