// What an app passes to BatchSyncService: the database and client, the session, and the settings
// a test or a bench tunes (the defaults are what the project proves).
import type { SupabaseClient } from '@supabase/supabase-js';
import type { createActor, InspectionEvent } from 'xstate';
import type { ConnectionInfo } from '../../machines/networkQuality.machine.ts';
import type { SyncInput } from '../../machines/sync.machine.ts';
import type { VersesDb } from '../db/index.ts';
import type { LockManagerLike } from '../leader/index.ts';
import type { NetworkEventSources } from '../network/browser.ts';
import type { HistoryBounds, StorageMutations } from '../outbox/index.ts';
import type { PageEventSources } from '../transport/pageEvents.ts';

/** The queue's settings plus the functions given to it through `.provide` (never kept in its context). */
export type QueueOptions = NonNullable<SyncInput['queue']> & { now?: () => number; random?: () => number; newBatchId?: () => string };

/** The queue's settings without its functions: what goes into the machines' input. */
export function queueSettings(options: QueueOptions = {}): SyncInput['queue'] {
  const { now: _now, random: _random, newBatchId: _newBatchId, ...settings } = options;
  return settings;
}

export type BatchSyncServiceOptions = {
  db: VersesDb;
  client: SupabaseClient;
  /** Where the outbox watcher hears of writes (default: Dexie's storagemutated event); see StorageMutations. */
  storageMutations?: StorageMutations;
  /** The signed-in user; their ops (and ops queued while signed out) are the ones sent. */
  getUserId: () => string | undefined;
  /** Renews the session after a 401; resolves false when nobody is signed in. */
  refreshSession?: () => Promise<boolean>;
  /**
   * Measures a round trip to the server in ms (default: a GET to the function, and the batches' own
   * round trips). A probe given here is the only estimate: batches are then not sampled, so a test
   * or a bench can hold the connection at one quality.
   */
  probeLatency?: () => Promise<number>;
  /** Online/offline and connection estimates (default: the browser's, when there is a window). */
  networkEvents?: NetworkEventSources | 'none';
  /** Where 'hidden', 'frozen' and 'closing' come from (the browser's by default): then what waits is sent at once, with fetch keepalive. */
  pageEvents?: PageEventSources | 'none';
  online?: boolean;
  connection?: ConnectionInfo;
  network?: SyncInput['network'];
  /** The queue's settings, and where it reads the time, draws its jitter and gets batch ids (default: the real ones). */
  queue?: QueueOptions;
  /** Per-request timeout of the transport (the batch machine aborts at its own timeout first). */
  requestTimeoutMs?: number;
  /** xstate's clock, e.g. a SimulatedClock in tests. */
  clock?: Parameters<typeof createActor>[1] extends infer O ? (O extends { clock?: infer C } ? C : never) : never;
  /** An inspector (e.g. @statelyai/inspect's `inspector.inspect`). */
  inspect?: (event: InspectionEvent) => void;
  /** Keep the actors' snapshots in Dexie so a reload resumes (default true). */
  persistSnapshots?: boolean;
  /** Cancel create+delete pairs and merge profile updates before each claim (default true). */
  coalesce?: boolean;
  /** How many settled batch rows the outbox keeps (default 100 completed, 1,000 failed or partial). */
  history?: Partial<HistoryBounds>;
  /**
   * One uploader per browser: only the holder of a Web Lock runs the machines; other tabs write to
   * the shared outbox and nudge it over a BroadcastChannel. Absent: this service always uploads.
   */
  leader?: {
    /** `navigator.locks` by default; an in-memory one (createMemoryLocks) in Node. */
    locks?: LockManagerLike;
    /** Lock and channel name (default `verses-sync:<database name>`). */
    name?: string;
    /** Where 'freeze' and 'resume' come from (`document` by default): a frozen leader steps down, and queues for the lock again on 'resume'. */
    lifecycle?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  };
};
