// What the UI shows about sync, read with small selectors over the actors' snapshots and
// live Dexie queries over the outbox, so components never learn state names.
import { useSelector } from '@xstate/react';
import { useLiveQuery } from 'dexie-react-hooks';
import { useMemo } from 'react';
import type { Quality, TransportFailure } from '../../machines/types.ts';
import type { SyncOperation } from '../db/index.ts';
import { countPending, listDeadLetters } from '../outbox/index.ts';
import { useSyncContext } from './SyncProvider.tsx';

export type SyncStatusView = {
  online: boolean;
  quality: Quality;
  /** A batch is being claimed, sent or recorded. */
  syncing: boolean;
  /** Why nothing is being sent, if so. */
  paused: 'offline' | 'auth' | null;
  /** Operations queued for the signed-in user (and user-less ones). */
  pending: number;
  lastSync: Date | null;
  lastError: Pick<TransportFailure, 'kind' | 'message' | 'status' | 'code'> | null;
  nextRetryAt: Date | null;
  /** Operations that can never succeed as they are, with the server's reason in `lastError`. */
  deadLetters: SyncOperation[];
};

type Snap = { context: Record<string, unknown>; hasTag(tag: string): boolean };

const selectOnline = (s: Snap) => s.context.online as boolean;
const selectQuality = (s: Snap) => s.context.quality as Quality;
const selectBusy = (s: Snap) => s.hasTag('busy');
const selectPaused = (s: Snap) => (s.hasTag('offline') ? 'offline' : s.hasTag('auth') ? 'auth' : null);
const selectLastSyncAt = (s: Snap) => s.context.lastSyncAt as number | null;
const selectLastError = (s: Snap) => s.context.lastError as TransportFailure | null;
const selectNextRetryAt = (s: Snap) => s.context.nextRetryAt as number | null;

const NO_DEAD_LETTERS: SyncOperation[] = [];

/** The sync state of the SyncProvider's service, re-rendering only when a selected part changes. */
export function useSyncStatus(): SyncStatusView {
  const { root, queue, db, userId } = useSyncContext();
  const online = useSelector(root, selectOnline);
  const quality = useSelector(root, selectQuality);
  const syncing = useSelector(queue, selectBusy);
  const paused = useSelector(queue, selectPaused);
  const lastSyncAt = useSelector(queue, selectLastSyncAt);
  const lastError = useSelector(queue, selectLastError);
  const nextRetryAt = useSelector(queue, selectNextRetryAt);
  const pending = useLiveQuery(() => countPending(db, userId), [db, userId], 0);
  const deadLetters = useLiveQuery(() => listDeadLetters(db, userId), [db, userId], NO_DEAD_LETTERS);
  const lastSync = useMemo(() => (lastSyncAt ? new Date(lastSyncAt) : null), [lastSyncAt]);
  const retryAt = useMemo(() => (nextRetryAt ? new Date(nextRetryAt) : null), [nextRetryAt]);
  return { online, quality, syncing, paused, pending, lastSync, lastError, nextRetryAt: retryAt, deadLetters };
}
