// Gives a component tree one started BatchSyncService, its actors while this tab runs the
// uploader, and the Dexie database the counts are read from. The service owns its actors (it
// provides them the outbox and the transport), so this is a plain context around it rather than
// createActorContext(machine). With the service's `leader` option another tab may be the one
// uploading: then `root` and `queue` are null until this tab takes over.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { AnyActorRef } from 'xstate';
import { SYSTEM_IDS } from '../../machines/sync.machine.ts';
import type { VersesDb } from '../db/index.ts';
import type { BatchSyncService } from '../service/BatchSyncService.ts';

export type SyncContextValue = {
  service: BatchSyncService;
  db: VersesDb;
  /** The signed-in user: counts and dead letters are theirs (and user-less ones). */
  userId: string | undefined;
  /** This tab runs the uploader (always, without the service's `leader` option). */
  isLeader: boolean;
  /** The root `sync` actor; null while another tab uploads. */
  root: BatchSyncService['actor'] | null;
  /** The `queue` actor (system id 'queue'); null while another tab uploads. */
  queue: AnyActorRef | null;
  /** The `network` actor (system id 'network'); null while another tab uploads. */
  network: AnyActorRef | null;
  /** The outbox watcher, in every tab: its counts are the status's pending, sending and waiting. */
  outbox: NonNullable<BatchSyncService['outbox']> | null;
};

const SyncContext = createContext<SyncContextValue | null>(null);

// start() is idempotent only once it has finished; StrictMode mounts twice, so share the promise.
const starting = new WeakMap<BatchSyncService, Promise<void>>();
// A follower has started without actors: remember which services start() has already run for.
const started = new WeakSet<BatchSyncService>();

function ensureStarted(service: BatchSyncService): Promise<void> {
  if (service.isLeader || started.has(service)) return Promise.resolve();
  let promise = starting.get(service);
  if (!promise) {
    promise = service
      .start()
      .then(() => void started.add(service))
      .finally(() => starting.delete(service));
    starting.set(service, promise);
  }
  return promise;
}

function contextOf(service: BatchSyncService, db: VersesDb, userId: string | undefined): SyncContextValue {
  const outbox = service.outbox ?? null;
  if (!service.isLeader) return { service, db, userId, isLeader: false, root: null, queue: null, network: null, outbox };
  const root = service.actor;
  const queue = root.system.get(SYSTEM_IDS.queue) as AnyActorRef;
  const network = root.system.get(SYSTEM_IDS.network) as AnyActorRef;
  return { service, db, userId, isLeader: true, root, queue, network, outbox };
}

export type SyncProviderProps = {
  service: BatchSyncService;
  db: VersesDb;
  userId?: string;
  /** Rendered until the service has started (it is started here when it was not yet). */
  fallback?: ReactNode;
  children: ReactNode;
};

/** Starts `service` if needed and gives it to the tree below, following leadership; the owner stops it. */
export function SyncProvider({ service, db, userId, fallback = null, children }: SyncProviderProps) {
  const [value, setValue] = useState<SyncContextValue | null>(() => (service.isLeader ? contextOf(service, db, userId) : null));
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    let live = true;
    const refresh = () => {
      if (live) setValue(contextOf(service, db, userId));
    };
    // Subscribed before start(): a tab granted the lock while starting is heard too.
    const unsubscribe = service.onLeadershipChange(refresh);
    ensureStarted(service).then(refresh, (e: unknown) => live && setError(e instanceof Error ? e : new Error(String(e))));
    return () => {
      live = false;
      unsubscribe();
    };
  }, [service, db, userId]);

  if (error) throw error;
  if (!value || value.service !== service || value.db !== db || value.userId !== userId) return <>{fallback}</>;
  return <SyncContext.Provider value={value}>{children}</SyncContext.Provider>;
}

/** The service, its actors (while this tab leads) and database; throws outside a SyncProvider. */
export function useSyncContext(): SyncContextValue {
  const value = useContext(SyncContext);
  if (!value) throw new Error('useSyncContext: wrap the component in <SyncProvider service={...} db={...}>');
  return value;
}
