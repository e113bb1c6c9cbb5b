// The sync panel: offline banner, pending count with Sync Now, last sync time, network
// quality, and the dead letters with the server's reason and Retry / Discard.
import { formatDistanceToNow } from 'date-fns';
import { useEffect, useId, useState } from 'react';
import type { SyncOperation } from '../db/index.ts';
import { useSyncEvents } from './useSyncEvents.ts';
import { useSyncStatus, type SyncStatusView } from './useSyncStatus.ts';

export const OFFLINE_MESSAGE = 'Offline – changes will sync when online';
/** Shown in a tab that shares its outbox with the tab that uploads (the service's `leader` option). */
export const FOLLOWER_MESSAGE = 'Another tab is syncing – changes made here are sent by it';

/** "3 changes pending sync", "1 change pending sync", "No changes pending sync". */
export function pendingText(pending: number): string {
  if (pending === 0) return 'No changes pending sync';
  return `${pending} ${pending === 1 ? 'change' : 'changes'} pending sync`;
}

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

// Re-render now and then so "2 minutes ago" moves on by itself.
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function retryText(status: SyncStatusView, now: number): string | null {
  if (!status.lastError) return null;
  const when = status.nextRetryAt ? ` – retrying in ${Math.max(0, Math.ceil((status.nextRetryAt.getTime() - now) / 1000))} s` : '';
  return `Last attempt failed: ${status.lastError.message}${when}`;
}

function DeadLetter({ op }: { op: SyncOperation }) {
  const { retryDeadLetter, discardDeadLetter } = useSyncEvents();
  const [busy, setBusy] = useState(false);
  const what = describeOperation(op);
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
      {op.lastError && (
        <span className="dead-letter-reason">
          {' – '}
          <code>{op.lastError.code}</code>: {op.lastError.message}
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
  const now = useNow(15_000);
  const headingId = useId();
  const deadId = useId();
  const followerId = useId();
  const { online, syncing, pending, lastSync, quality, deadLetters, isLeader } = status;
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
        <p className="sync-pending">{pendingText(pending)}</p>
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
        )}{' '}
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
      {deadLetters.length > 0 && (
        <section className="dead-letters" aria-labelledby={deadId}>
          <h3 id={deadId}>Changes the server refused ({deadLetters.length})</h3>
          <ul aria-labelledby={deadId}>
            {deadLetters.map((op) => (
              <DeadLetter key={op.id} op={op} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
