// The one way components act on sync: send now, and retry or discard a dead letter.
import { useMemo } from 'react';
import { discardDeadLetter, retryDeadLetter } from '../outbox/index.ts';
import { useSyncContext } from './SyncProvider.tsx';

export type SyncEvents = {
  /** Sends what is queued now instead of waiting for the batch window (a follower tab asks the uploading tab). */
  syncNow(): void;
  /** Puts a dead letter back in the queue with a fresh retry budget, the changes waiting on it behind it, and sends them; false if it was not dead. */
  retryDeadLetter(opId: string): Promise<boolean>;
  /** Deletes a dead letter for good, with the local records and waiting changes that exist only because of it; false if it was not dead. */
  discardDeadLetter(opId: string): Promise<boolean>;
};

/** Actions on the SyncProvider's service. */
export function useSyncEvents(): SyncEvents {
  const { service, root, db } = useSyncContext();
  return useMemo(
    () => ({
      // A follower has no queue of its own: an immediate nudge of no new ops makes the leader flush.
      syncNow: () => (root ? root.send({ type: 'sync.now' }) : service.notifyEnqueued({ priority: 'immediate', count: 0 })),
      async retryDeadLetter(opId) {
        const row = await retryDeadLetter(db, opId);
        if (!row) return false;
        // The user asked for it: skip the batch window.
        service.notifyEnqueued({ priority: 'immediate', count: 1 });
        return true;
      },
      discardDeadLetter: (opId) => discardDeadLetter(db, opId),
    }),
    [service, root, db],
  );
}
