// The outbox's live counts as actor logic: every tab (the uploader and the ones that only write)
// reads "pending" from here, so the status has one count and it is the outbox's.
import { Dexie, type ObservabilitySet } from 'dexie';
import { fromObservable, type Observer, type Subscribable } from 'xstate';
import type { VersesDb } from '../db/database.ts';
import { countOutbox, type UnsyncedCounts } from './pending.ts';

/** What the outbox holds for the signed-in user: not yet synced (by kind), and dead letters (every user's). */
export type OutboxCounts = UnsyncedCounts & { dead: number };

/** The counts as they change, and a way to ask for a recount (e.g. another user signed in). */
export type OutboxWatch = Subscribable<OutboxCounts> & { recount(): void };

/**
 * Where the watcher hears of writes: Dexie's own storagemutated event by default. A host running
 * many services in one process (the load generator) routes it per database instead, so each
 * service sees only its own database's changes.
 */
export type StorageMutations = { subscribe(listener: (parts: ObservabilitySet) => void): void; unsubscribe(listener: (parts: ObservabilitySet) => void): void };

/** A count waits for the writes to pause this long... */
const QUIET_MS = 50;
/** ...but no longer than this after the first write it has not counted, so a long burst still shows. */
const MAX_WAIT_MS = 500;

/**
 * Recounts after every write to this database's outbox (this tab's or, via Dexie, another tab's),
 * trailing and one count at a time: once the writes pause for QUIET_MS, or MAX_WAIT_MS after the
 * first write not yet counted, and spaced by 4× the last count's cost (never more than a fifth of
 * the time is spent counting). A count is a read of the outbox's count rows, which a local write
 * waits for: a burst of writes is counted a few times a second, not after each write (as a
 * liveQuery recounting after each commit did).
 */
export function watchOutbox(db: VersesDb, userId: () => string | undefined, mutations: StorageMutations = Dexie.on.storagemutated): OutboxWatch {
  const observers = new Set<Observer<OutboxCounts>>();
  const prefix = `idb://${db.name}/syncOperations/`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let counting = false;
  let wanted = false;
  let lastCostMs = 0;
  let lastEndedAt = -Infinity;
  let firstUncounted: number | undefined;

  const count = async () => {
    counting = true;
    wanted = false;
    const started = performance.now();
    try {
      const counts: OutboxCounts = await countOutbox(db, userId());
      for (const observer of observers) observer.next?.(counts);
    } catch (error) {
      if (observers.size > 0) console.error('verses-sync: outbox count failed', error);
    } finally {
      lastEndedAt = performance.now();
      lastCostMs = lastEndedAt - started;
      counting = false;
      if (wanted) recount();
    }
  };
  const recount = () => {
    wanted = true;
    if (counting || observers.size === 0) return;
    const now = performance.now();
    firstUncounted ??= now;
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        timer = undefined;
        firstUncounted = undefined;
        void count();
      },
      // Both bounds are fixed times, so a stream of writes cannot put the count off for ever.
      Math.max(Math.min(QUIET_MS, firstUncounted + MAX_WAIT_MS - now), lastEndedAt + lastCostMs * 4 - now, 0),
    );
  };
  const onMutated = (parts: ObservabilitySet) => {
    if (Object.keys(parts).some((key) => key.startsWith(prefix))) recount();
  };

  return {
    recount,
    subscribe(observerOrNext: Observer<OutboxCounts> | ((value: OutboxCounts) => void)) {
      const observer = typeof observerOrNext === 'function' ? { next: observerOrNext } : observerOrNext;
      if (observers.size === 0) mutations.subscribe(onMutated);
      observers.add(observer);
      if (!counting) void count();
      return {
        unsubscribe() {
          observers.delete(observer);
          if (observers.size > 0) return;
          mutations.unsubscribe(onMutated);
          clearTimeout(timer);
          timer = undefined;
        },
      };
    },
  };
}

/** Actor logic over watchOutbox: its snapshot's `context` is the latest counts (undefined until the first). */
export const outboxWatcher = fromObservable<OutboxCounts, OutboxWatch>(({ input }) => input);
