// The one status model: small selectors over the actors' snapshots and the outbox's counts. The
// service's getState() and subscribe() and the React hook useSyncStatus() read through these, so
// "pending" is the outbox's count everywhere and the quality is the network actor's.
import type { QueueContext } from '../../machines/queue.machine.ts';
import type { Quality, TransportFailure } from '../../machines/types.ts';
import type { OutboxCounts } from '../outbox/watcher.ts';

export type SyncState = {
  /** Every change not yet acknowledged by the server: queued, being sent, or waiting on a refused change. */
  pending: number;
  /** Of those, in a request right now. */
  sending: number;
  /** Of those, held back behind a refused change they depend on (listed with it). */
  waiting: number;
  syncing: boolean;
  lastSync?: Date;
  online: boolean;
  /** The network quality batches are sized by: measured, or assumed until a round trip is (see qualityMeasured). */
  quality: Quality;
  /** False until a batch's (or an asked-for probe's) round trip has been measured: the quality is assumed. */
  qualityMeasured: boolean;
  deadLetters: number;
  /** Why nothing is being sent, if so. */
  paused: 'offline' | 'auth' | null;
  /** Why the last request failed, while it is being retried (gone once the server answers or the queue drains). */
  lastError: FailureView | null;
  /** Since when requests have been failing in a row; null while they are not. */
  failingSince: Date | null;
  /** One change alone still gets a server error (batches were halved down to it): it is retried, with lastError as its reason. */
  stuck: boolean;
  /** Of the pending, set aside: each alone kept getting a server error; retried later while the rest syncs. */
  setAside: number;
  /** When the first set-aside change is retried; null while none is set aside. */
  setAsideUntil: Date | null;
  /** What a person reads about the set-aside changes (null while none is). */
  setAsideMessage: string | null;
  nextRetryAt: Date | null;
};

/** What the status tells about a failed request. */
export type FailureView = Pick<TransportFailure, 'kind' | 'message' | 'status' | 'code'>;

/** The parts of the queue's snapshot the status reads. */
export type QueueView = {
  context: Pick<QueueContext, 'lastSyncAt' | 'lastError' | 'failingSince' | 'stuck' | 'nextRetryAt'> & Partial<Pick<QueueContext, 'setAsideWakeAt'>>;
  hasTag(tag: string): boolean;
};
/** The parts of the network actor's snapshot the status reads. */
export type NetworkView = { context: { online: boolean; quality: Quality; measured?: boolean } };
/** The outbox watcher's snapshot (its context is undefined until the first count). */
export type OutboxView = { context: OutboxCounts | undefined };

export const NO_COUNTS: OutboxCounts = Object.freeze({ total: 0, queued: 0, sending: 0, waiting: 0, setAside: 0, dead: 0 });

export const selectCounts = (s: OutboxView | undefined): OutboxCounts => s?.context ?? NO_COUNTS;
export const selectOnline = (s: NetworkView | undefined): boolean | null => (s ? s.context.online : null);
export const selectQuality = (s: NetworkView | undefined): Quality | null => (s ? s.context.quality : null);
export const selectQualityMeasured = (s: NetworkView | undefined): boolean => s?.context.measured === true;
export const selectSyncing = (s: QueueView | undefined): boolean => s?.hasTag('busy') ?? false;
export const selectPaused = (s: QueueView | undefined): 'offline' | 'auth' | null =>
  s?.hasTag('offline') ? 'offline' : s?.hasTag('auth') ? 'auth' : null;
export const selectLastSyncAt = (s: QueueView | undefined): number | null => s?.context.lastSyncAt ?? null;
/** The queue's own failure object (stable between snapshots, so a selector over it re-renders only on change). */
export const selectLastError = (s: QueueView | undefined): TransportFailure | null => s?.context.lastError ?? null;
export const selectFailingSince = (s: QueueView | undefined): number | null => s?.context.failingSince ?? null;
export const selectStuck = (s: QueueView | undefined): boolean => s?.context.stuck === true;
export const selectNextRetryAt = (s: QueueView | undefined): number | null => s?.context.nextRetryAt ?? null;
export const selectSetAsideWakeAt = (s: QueueView | undefined): number | null => s?.context.setAsideWakeAt ?? null;

/** The sentence for set-aside changes: how many, when they are retried, and that the rest goes on. */
export function setAsideMessage(count: number, retryAt: Date | null): string | null {
  if (count <= 0) return null;
  const what = count === 1 ? '1 change the server keeps failing on is set aside' : `${count} changes the server keeps failing on are set aside`;
  const when = retryAt ? `retried at ${retryAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : 'retried later';
  return `${what}; ${count === 1 ? 'it is' : 'they are'} ${when} and the rest keeps syncing.`;
}

/** A failure as the status shows it: kind, message and, when known, the HTTP status and code. */
export function failureView(failure: TransportFailure | null): FailureView | null {
  if (!failure) return null;
  return {
    kind: failure.kind,
    message: failure.message,
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    ...(failure.code ? { code: failure.code } : {}),
  };
}

const dateOf = (at: number | null): Date | null => (at ? new Date(at) : null);

/** The whole status of the uploading tab, from its queue, its network actor and the outbox's counts. */
export function syncState(queue: QueueView, network: NetworkView, outbox: OutboxView | undefined): SyncState {
  const counts = selectCounts(outbox);
  const lastSyncAt = selectLastSyncAt(queue);
  return {
    pending: counts.total,
    sending: counts.sending,
    waiting: counts.waiting,
    syncing: selectSyncing(queue),
    ...(lastSyncAt ? { lastSync: new Date(lastSyncAt) } : {}),
    online: network.context.online,
    quality: network.context.quality,
    qualityMeasured: selectQualityMeasured(network),
    deadLetters: counts.dead,
    paused: selectPaused(queue),
    lastError: failureView(selectLastError(queue)),
    failingSince: dateOf(selectFailingSince(queue)),
    stuck: selectStuck(queue),
    nextRetryAt: dateOf(selectNextRetryAt(queue)),
    setAside: counts.setAside,
    setAsideUntil: counts.setAside > 0 ? dateOf(selectSetAsideWakeAt(queue)) : null,
    setAsideMessage: setAsideMessage(counts.setAside, counts.setAside > 0 ? dateOf(selectSetAsideWakeAt(queue)) : null),
  };
}
