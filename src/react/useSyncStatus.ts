// What the UI shows about sync, read with the status model's selectors (service/status.ts) over the
// actors' snapshots, so components never learn state names. The pending counts come from the outbox
// watcher and the last sync and the refused changes from Dexie, so every tab of one user shows the
// same; the rest comes from the actors of the tab that uploads, or says that another tab does.
import { useSelector } from '@xstate/react';
import { Dexie } from 'dexie';
import { useLiveQuery } from 'dexie-react-hooks';
import { useMemo, useSyncExternalStore } from 'react';
import type { Quality, TransportFailure } from '../../machines/types.ts';
import type { Notice, SyncBatchStatus, SyncOperation, VersesDb } from '../db/index.ts';
import { listRefusedChanges, listNotices, type OutboxCounts, type RefusedChange } from '../outbox/index.ts';
import {
  selectCounts,
  selectFailingSince,
  selectLastError,
  selectLastSyncAt,
  selectNextRetryAt,
  selectOnline,
  selectPaused,
  selectQuality,
  selectQualityMeasured,
  selectSetAsideWakeAt,
  selectStuck,
  selectSyncing,
  setAsideMessage,
} from '../service/status.ts';
import { useSyncContext } from './SyncProvider.tsx';

export type SyncStatusView = {
  /** This tab uploads. False while another tab of the same database does (the service's `leader` option). */
  isLeader: boolean;
  /** The uploader's view of the network; in a follower tab, the browser's own online flag. */
  online: boolean;
  /** The uploader's network quality; null in a follower tab (the other tab measures it). */
  quality: Quality | null;
  /** False while the quality is assumed (no round trip measured yet); false in a follower tab. */
  qualityMeasured: boolean;
  /** A batch is being claimed, sent or recorded (by whichever tab uploads). */
  syncing: boolean;
  /** Why nothing is being sent, if so (known to the uploading tab only). */
  paused: 'offline' | 'auth' | null;
  /** Changes of the signed-in user (and user-less ones) the server has not acknowledged yet: queued, sending or waiting. */
  pending: number;
  /** Of those, in a request right now (whichever tab sends it). */
  sending: number;
  /** Of those, held back behind a refused change they depend on. */
  waiting: number;
  /** When the newest completed (or partial) batch was recorded, whichever tab sent it. */
  lastSync: Date | null;
  /** Why requests are failing, while they are retried; null once the server answers or nothing is left to send. */
  lastError: Pick<TransportFailure, 'kind' | 'message' | 'status' | 'code'> | null;
  /** Since when requests have failed in a row (while lastError is set). */
  failingSince: Date | null;
  /** One change alone still gets a server error; it is retried on its own (lastError says why). */
  stuck: boolean;
  nextRetryAt: Date | null;
  /** Of the pending, set aside: each alone kept getting a server error; retried later while the rest syncs. */
  setAside: number;
  /** What a person reads about them (null while none is set aside); the retry time is known to the uploading tab. */
  setAsideMessage: string | null;
  /** Operations that can never succeed as they are, with the server's reason in `lastError`. */
  deadLetters: SyncOperation[];
  /** The same dead letters, one per cause, each with the changes that wait on it. */
  refused: RefusedChange[];
  /** What sync settled on its own (a card deleted on another device), newest first. */
  notices: Notice[];
};

const NO_REFUSED: RefusedChange[] = [];
const NO_NOTICES: Notice[] = [];
const SETTLED_WITH_ACKS: SyncBatchStatus[] = ['completed', 'partial'];

/** Epoch ms of the newest batch whose ops (some or all) the server acknowledged; null if none is kept. */
export async function lastSyncedAt(db: VersesDb): Promise<number | null> {
  let newest: number | null = null;
  for (const status of SETTLED_WITH_ACKS) {
    // The newest by claim order per status: one index step each, however long the history.
    const row = await db.syncBatches.where('[status+seq]').between([status, Dexie.minKey], [status, Dexie.maxKey]).last();
    const at = row?.syncedAt ? Date.parse(row.syncedAt) : NaN;
    if (!Number.isNaN(at) && (newest === null || at > newest)) newest = at;
  }
  return newest;
}

function subscribeOnline(onChange: () => void): () => void {
  if (typeof window === 'undefined') return () => undefined;
  window.addEventListener('online', onChange);
  window.addEventListener('offline', onChange);
  return () => {
    window.removeEventListener('online', onChange);
    window.removeEventListener('offline', onChange);
  };
}
const browserOnline = () => typeof navigator === 'undefined' || navigator.onLine !== false;

/** The sync state of the SyncProvider's service, re-rendering only when a selected part changes. */
export function useSyncStatus(): SyncStatusView {
  const { queue, network, outbox, db, userId, isLeader } = useSyncContext();
  // The same selectors as the service's getState(): one status model.
  const actorOnline = useSelector(network ?? undefined, selectOnline as (s: unknown) => boolean | null);
  const actorQuality = useSelector(network ?? undefined, selectQuality as (s: unknown) => Quality | null);
  const actorMeasured = useSelector(network ?? undefined, selectQualityMeasured as (s: unknown) => boolean);
  const busy = useSelector(queue ?? undefined, selectSyncing as (s: unknown) => boolean);
  const paused = useSelector(queue ?? undefined, selectPaused as (s: unknown) => 'offline' | 'auth' | null);
  const actorLastSyncAt = useSelector(queue ?? undefined, selectLastSyncAt as (s: unknown) => number | null);
  const lastError = useSelector(queue ?? undefined, selectLastError as (s: unknown) => TransportFailure | null);
  const nextRetryAt = useSelector(queue ?? undefined, selectNextRetryAt as (s: unknown) => number | null);
  const stuck = useSelector(queue ?? undefined, selectStuck as (s: unknown) => boolean);
  const failingSinceAt = useSelector(queue ?? undefined, selectFailingSince as (s: unknown) => number | null);
  const setAsideWakeAt = useSelector(queue ?? undefined, selectSetAsideWakeAt as (s: unknown) => number | null);
  const counts = useSelector(outbox ?? undefined, selectCounts as (s: unknown) => OutboxCounts);
  const browserIsOnline = useSyncExternalStore(subscribeOnline, browserOnline, () => true);
  const refused = useLiveQuery(() => listRefusedChanges(db, userId), [db, userId], NO_REFUSED);
  const deadLetters = useMemo(() => refused.map((change) => change.op), [refused]);
  const notices = useLiveQuery(() => listNotices(db), [db], NO_NOTICES);
  const storedLastSyncAt = useLiveQuery(() => lastSyncedAt(db), [db], null);
  // A follower sees the uploader's batch in flight as a 'syncing' row of the shared history.
  const batchInFlight = useLiveQuery(() => (isLeader ? 0 : db.syncBatches.where('status').equals('syncing').count()), [db, isLeader], 0);
  // The history is shared by every tab; the queue's own time covers a history kept at zero rows.
  const lastSyncAt = storedLastSyncAt ?? actorLastSyncAt;
  const lastSync = useMemo(() => (lastSyncAt ? new Date(lastSyncAt) : null), [lastSyncAt]);
  const retryAt = useMemo(() => (nextRetryAt ? new Date(nextRetryAt) : null), [nextRetryAt]);
  const failingSince = useMemo(() => (failingSinceAt ? new Date(failingSinceAt) : null), [failingSinceAt]);
  return {
    isLeader,
    online: isLeader && actorOnline !== null ? actorOnline : browserIsOnline,
    quality: isLeader ? actorQuality : null,
    qualityMeasured: isLeader ? actorMeasured : false,
    syncing: isLeader ? busy : batchInFlight > 0,
    paused,
    pending: counts.total,
    sending: counts.sending,
    waiting: counts.waiting,
    lastSync,
    lastError,
    failingSince,
    stuck: isLeader ? stuck : false,
    nextRetryAt: retryAt,
    setAside: counts.setAside,
    setAsideMessage: setAsideMessage(counts.setAside, isLeader && setAsideWakeAt ? new Date(setAsideWakeAt) : null),
    deadLetters,
    refused,
    notices,
  };
}
