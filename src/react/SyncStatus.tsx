// The sync panel: offline banner, pending count with Sync Now, last sync time, network
// quality, and the dead letters with the server's reason and Retry / Discard.
import { formatDistanceToNow } from 'date-fns';
import { useEffect, useId, useState } from 'react';
import type { TransportFailure } from '../../machines/types.ts';
import type { SyncOperation } from '../db/index.ts';
import type { RefusedChange } from '../outbox/index.ts';
import { useSyncEvents } from './useSyncEvents.ts';
import { useSyncStatus, type SyncStatusView } from './useSyncStatus.ts';

export const OFFLINE_MESSAGE = 'Offline – changes will sync when online';
/** Shown in a tab that shares its outbox with the tab that uploads (the service's `leader` option). */
export const FOLLOWER_MESSAGE = 'Another tab is syncing – changes made here are sent by it';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * "12 changes pending sync · sending 10", "1 change pending sync", "No changes pending sync":
 * every change the server has not acknowledged, those in a request right now included.
 */
export function pendingText(pending: number, sending = 0, waiting = 0): string {
  if (pending === 0) return 'No changes pending sync';
  const parts = [`${plural(pending, 'change', 'changes')} pending sync`];
  if (sending > 0) parts.push(`sending ${sending}`);
  if (waiting > 0) parts.push(`${waiting} waiting on a refused change`);
  return parts.join(' · ');
}

/** "2 reviews and 1 alias wait on it", or null when nothing does. */
export function waitingText(waiting: RefusedChange['waiting']): string | null {
  const parts = [
    waiting.reviews > 0 ? plural(waiting.reviews, 'review', 'reviews') : '',
    waiting.aliases > 0 ? plural(waiting.aliases, 'alias', 'aliases') : '',
    waiting.deletes > 0 ? plural(waiting.deletes, 'deletion', 'deletions') : '',
  ].filter(Boolean);
  if (parts.length === 0) return null;
  const total = waiting.reviews + waiting.aliases + waiting.deletes;
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `${list} ${total === 1 ? 'waits' : 'wait'} on it`;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Why the server refused a change, as a sentence for a person (the server's own text can name ids). */
export function refusalText(error: { code: string; message: string }): string {
  switch (error.code) {
    case 'UNKNOWN_REFERENCE':
      return 'The ESV has no such passage; check the reference';
    case 'CARD_NOT_FOUND':
      return 'The server has no such card';
    case 'CARD_DELETED':
      return 'The card was deleted on another device';
    case 'FORBIDDEN':
      return 'This account may not change that record';
    case 'DUPLICATE_ID':
    case 'OPERATION_ID_CONFLICT':
      return 'The server already has a different record with this identity';
    default:
      return error.message.replace(UUID, 'this record').trim() || 'The server refused it without a reason';
  }
}

/** What a request failure means for a person. */
export function failureText(failure: Pick<TransportFailure, 'kind' | 'message' | 'code'>): string {
  switch (failure.kind) {
    case 'network':
      return 'The server cannot be reached';
    case 'timeout':
      return 'The server did not answer in time';
    case 'server':
      return 'The server had a problem';
    case 'rateLimited':
      return 'The server asked to slow down';
    case 'auth':
      return 'The session has expired';
    default:
      return failure.message.replace(UUID, 'this record');
  }
}

const two = (n: number) => String(n).padStart(2, '0');
const clockTime = (at: Date) => `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;

/** A short, human name of what a queued operation does. */
export function describeOperation(op: Pick<SyncOperation, 'type' | 'payload'>): string {
  const p = op.payload as Record<string, unknown>;
  switch (op.type) {
    case 'CREATE_VERSE':
      return `Add verse ${String(p.reference ?? '')}`.trim();
    case 'RECORD_REVIEW':
      return `Review (${p.correct ? 'correct' : 'missed'})`;
    case 'UPDATE_PROFILE':
      return `Profile update (${Object.keys(p).filter((k) => k !== 'updatedAt').join(', ')})`;
    case 'CREATE_ALIAS':
      return `Alias "${String(p.alias ?? '')}"`;
    case 'DELETE_VERSE':
      return 'Delete verse';
    default:
      return String(op.type);
  }
}

// Re-render now and then so "2 minutes ago" moves on by itself; while a retry is due, at the
// instant each second of its countdown ends, so "retrying in 3 s" changes when it becomes true.
// Callers read Date.now() while rendering: a `now` kept in state was up to a tick old, which
// is how "retrying in 14 s" once showed 0.13 s before the retry.
function useTick(everyMs: number, countdownTo: Date | null): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const schedule = () => {
      const left = countdownTo ? countdownTo.getTime() - Date.now() : 0;
      const wait = left > 0 ? (left % 1000) + 1 : everyMs;
      timer = setTimeout(() => {
        setTick((n) => n + 1);
        schedule();
      }, wait);
    };
    schedule();
    return () => clearTimeout(timer);
  }, [everyMs, countdownTo]);
}

/**
 * "Not synced since 14:02:07: The server had a problem (HTTP 503, UNAVAILABLE) – retrying in 12 s".
 * `now` must be read when this renders: a stale one showed "retrying in 14 s" a moment before the retry.
 */
export function retryText(status: Pick<SyncStatusView, 'lastError' | 'failingSince' | 'nextRetryAt'> & { stuck?: boolean }, now: number): string | null {
  const { lastError, failingSince, nextRetryAt } = status;
  if (!lastError) return null;
  const codes = [lastError.status !== undefined ? `HTTP ${lastError.status}` : '', lastError.code ?? ''].filter(Boolean).join(', ');
  const since = failingSince ? `Not synced since ${clockTime(failingSince)}: ` : 'Last attempt failed: ';
  const seconds = nextRetryAt ? Math.max(0, Math.ceil((nextRetryAt.getTime() - now) / 1000)) : null;
  const when = seconds === null ? '' : seconds === 0 ? ' – retrying now' : ` – retrying in ${seconds} s`;
  const stuck = status.stuck ? '; one change the server cannot take is sent on its own, the others wait behind it' : '';
  return `${since}${failureText(lastError)}${codes ? ` (${codes})` : ''}${stuck}${when}`;
}

function DeadLetter({ change }: { change: RefusedChange }) {
  const { op } = change;
  const { retryDeadLetter, discardDeadLetter } = useSyncEvents();
  const [busy, setBusy] = useState(false);
  const what = describeOperation(op);
  const waiting = waitingText(change.waiting);
  const act = (fn: (id: string) => Promise<boolean>) => async () => {
    setBusy(true);
    try {
      await fn(op.id);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className="dead-letter">
      <span className="dead-letter-what">{what}</span>
      {waiting && <span className="dead-letter-waiting">{` — ${waiting}`}</span>}
      {op.lastError && (
        <span className="dead-letter-reason">
          {' – '}
          {refusalText(op.lastError)} (<code>{op.lastError.code}</code>)
        </span>
      )}{' '}
      <button type="button" onClick={act(retryDeadLetter)} disabled={busy} aria-label={`Retry: ${what}`}>
        Retry
      </button>{' '}
      <button type="button" onClick={act(discardDeadLetter)} disabled={busy} aria-label={`Discard: ${what}`}>
        Discard
      </button>
    </li>
  );
}

/** The sync panel of the SyncProvider's service. */
export function SyncStatus() {
  const status = useSyncStatus();
  const { syncNow } = useSyncEvents();
  useTick(15_000, status.nextRetryAt);
  const now = Date.now();
  const headingId = useId();
  const deadId = useId();
  const followerId = useId();
  const { online, syncing, pending, sending, waiting, lastSync, quality, qualityMeasured, refused, isLeader } = status;
  const retry = retryText(status, now);
  return (
    <section className="sync-status" aria-labelledby={headingId}>
      <h2 id={headingId}>Sync</h2>
      {!online && (
        <div role="alert" className="sync-offline">
          {OFFLINE_MESSAGE}
        </div>
      )}
      <div role="status" aria-live="polite" className="sync-summary">
        <p className="sync-pending">{pendingText(pending, sending, waiting)}</p>
        <p className="sync-last">Last synced: {lastSync ? formatDistanceToNow(lastSync, { addSuffix: true }) : 'never'}</p>
        {!isLeader && (
          <p className="sync-follower" id={followerId} data-testid="sync-follower">
            {FOLLOWER_MESSAGE}
          </p>
        )}
        {status.paused === 'auth' && <p className="sync-auth">Signed out – changes wait until you sign in</p>}
        {retry && <p className="sync-error">{retry}</p>}
      </div>
      <p>
        {isLeader && quality ? (
          <span className={`quality-badge quality-${online ? quality : 'offline'}`} data-quality={online ? quality : 'offline'}>
            Network: {online ? quality : 'offline'}
          </span>
        ) : (
          <span className="quality-badge quality-other-tab" data-quality="other-tab">
            Network: measured by the syncing tab
          </span>
        )}
        {isLeader && online && quality && !qualityMeasured && <span className="quality-assumed"> (assumed until a sync measures it)</span>}{' '}
        <button
          type="button"
          onClick={syncNow}
          disabled={!online || syncing}
          aria-busy={syncing}
          aria-describedby={isLeader ? undefined : followerId}
        >
          {syncing ? 'Syncing…' : 'Sync Now'}
        </button>
      </p>
      {refused.length > 0 && (
        <section className="dead-letters" aria-labelledby={deadId}>
          <h3 id={deadId}>Changes the server refused ({refused.length})</h3>
          <ul aria-labelledby={deadId}>
            {refused.map((change) => (
              <DeadLetter key={change.op.id} change={change} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
