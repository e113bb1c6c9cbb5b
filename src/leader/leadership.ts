// One uploader per browser (DESIGN, decision 9): the tab holding the lock uploads;
// the others wait in the lock's queue and take over when the holder's tab closes.
import type { LockManagerLike } from './locks.ts';

export type Leadership = {
  /** True from the moment the lock is granted until resign(). */
  readonly isLeader: boolean;
  /** Gives the lock up (or withdraws the request); resolves once it is released. */
  resign(): Promise<void>;
};

/**
 * Requests the exclusive lock `name`; when granted, runs `onLeader` and keeps the lock
 * until resign(). A tab that closes releases it by itself (the browser ends the callback).
 */
export function requestLeadership(locks: LockManagerLike, name: string, onLeader: () => Promise<void> | void): Leadership {
  const abort = new AbortController();
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let leader = false;
  let resigned = false;
  const done = locks
    .request(name, { signal: abort.signal }, async () => {
      if (resigned) return;
      leader = true;
      try {
        await onLeader();
        await released;
      } finally {
        leader = false;
      }
    })
    .catch((error: unknown) => {
      if ((error as { name?: string })?.name !== 'AbortError') console.error('verses-sync: leadership failed', error);
    });
  return {
    get isLeader() {
      return leader;
    },
    async resign() {
      resigned = true;
      abort.abort();
      release();
      await done;
    },
  };
}
