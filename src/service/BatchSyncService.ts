// The facade over the actor system: the seed's public API, with the real actors
// (Dexie outbox, supabase-js transport) given to the pure machines.
import type { SupabaseClient } from '@supabase/supabase-js';
import { Dexie, type ObservabilitySet } from 'dexie';
import { createActor, fromCallback, fromPromise, type Actor, type AnyActorRef, type InspectionEvent, type Snapshot } from 'xstate';
import { batchMachine, type BatchOutput } from '../../machines/batch.machine.ts';
import { networkQualityMachine, type ConnectionInfo } from '../../machines/networkQuality.machine.ts';
import { queueMachine, type QueueContext } from '../../machines/queue.machine.ts';
import { SYSTEM_IDS, syncMachine, type SyncInput } from '../../machines/sync.machine.ts';
import type { ClaimBatchInput, Priority, Quality, RecordResultsInput, ReleaseBatchInput, UploadBatchInput } from '../../machines/types.ts';
import type { OperationPayloads, OperationType } from '../../supabase/functions/_shared/protocol.ts';
import { CodedError } from '../errors.ts';
import { loadActorSnapshot, saveActorSnapshot, type VersesDb } from '../db/index.ts';
import {
  claimBatch,
  coalesceQueued,
  countPending,
  countDeadLetters,
  countUnsynced,
  enqueueOperation,
  OUTBOX_TABLES,
  recordResults,
  recoverInFlight,
  releaseBatch,
  type HistoryBounds,
} from '../outbox/index.ts';
import { browserLocks, requestLeadership, type Leadership, type LockManagerLike } from '../leader/index.ts';
import { browserNetworkEvents, type NetworkEventSources } from '../network/browser.ts';
import { createLatencyProbe } from '../network/probe.ts';
import { browserPageEvents, type PageEventSources } from '../transport/pageEvents.ts';
import { createTransport } from '../transport/transport.ts';

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
  quality: Quality;
  deadLetters: number;
  /** Why nothing is being sent, if so. */
  paused: 'offline' | 'auth' | null;
  /** Why the last request failed, while it is being retried (gone once the server answers or the queue drains). */
  lastError: { kind: string; message: string; status?: number; code?: string } | null;
  /** Since when requests have been failing in a row; null while they are not. */
  failingSince: Date | null;
  /** One change alone still gets a server error (batches were halved down to it): it is retried, with lastError as its reason. */
  stuck: boolean;
  nextRetryAt: Date | null;
};

export type SyncMetrics = {
  batchSuccessRate: number;
  opsPerBatch: number;
  enqueueToAckMs: { p50: number; p95: number; samples: number };
  queueSizeHistory: Array<{ at: number; pending: number }>;
  requestsSent: number;
  bytesSent: number;
  batchesSent: number;
  batchesFailed: number;
  opsAcked: number;
};

export type SyncServiceErrorCode = 'OFFLINE' | 'NOT_STARTED' | 'NOT_LEADER';

/** The sync service refused a call (e.g. forceSyncAll while offline). */
export class SyncServiceError extends CodedError<SyncServiceErrorCode> {}

export type BatchSyncServiceOptions = {
  db: VersesDb;
  client: SupabaseClient;
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
  /**
   * Where 'hidden', 'frozen' and 'closing' come from (the browser's document and window by default):
   * then what waits is sent at once, with fetch keepalive.
   */
  pageEvents?: PageEventSources | 'none';
  online?: boolean;
  connection?: ConnectionInfo;
  network?: SyncInput['network'];
  queue?: SyncInput['queue'];
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
   * One uploader per browser: only the holder of a Web Lock runs the machines; other tabs
   * write to the shared outbox and nudge it over a BroadcastChannel. Absent: this service always uploads.
   */
  leader?: {
    /** `navigator.locks` by default; an in-memory one (createMemoryLocks) in Node. */
    locks?: LockManagerLike;
    /** Lock and channel name (default `verses-sync:<database name>`). */
    name?: string;
    /**
     * Where the Page Lifecycle events come from (`document` by default): on 'freeze' a leader
     * steps down, so a tab the browser freezes never sits on the lock while others wait; on
     * 'resume' it queues for the lock again.
     */
    lifecycle?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  };
};

type Nudge = { type: 'op.enqueued'; priority: Priority; count: number };

const SNAPSHOT_ID = 'sync';
const HISTORY_LIMIT = 500;
/** Counting the outbox is O(queued ops) on some IndexedDBs: recount at most this often, and
 * never spend more than a fifth of the time counting (see recount). */
const RECOUNT_MIN_MS = 100;
/** Longest a snapshot change waits before it is saved (a reload resumes from the last save). */
const PERSIST_MS = 250;
const LATENCY_SAMPLES = 2000;
/** A batch this small is answered in about one round trip, so its time is a network estimate. */
const SAMPLE_MAX_OPS = 20;

type QueueRef = AnyActorRef & { getSnapshot(): { context: QueueContext; matches(v: string): boolean; hasTag(t: string): boolean } };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The sync engine of one device: start() it, feed it writes, watch it with subscribe(). */
export class BatchSyncService {
  private readonly options: BatchSyncServiceOptions;
  private root: Actor<typeof syncMachine> | undefined;
  private counts = { pending: 0, unsynced: { total: 0, queued: 0, sending: 0, waiting: 0 }, deadLetters: 0 };
  private recountTimer: ReturnType<typeof setTimeout> | undefined;
  private recounting = false;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;
  private recountWanted = false;
  private lastRecountMs = 0;
  private readonly listeners = new Set<(state: SyncState) => void>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly history: Array<{ at: number; pending: number }> = [];
  private bytesSent = 0;
  private persisting: Promise<void> = Promise.resolve();
  private lastPersisted = '';
  private started = false;
  private leadership: Leadership | undefined;
  private lead: (() => void) | undefined;
  /** Bumped each time this tab steps down (freeze), so a start still under way stops short. */
  private leaderTerm = 0;
  private lifecycle: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | undefined;
  private channel: BroadcastChannel | undefined;
  private readonly leadershipListeners = new Set<(isLeader: boolean) => void>();

  constructor(options: BatchSyncServiceOptions) {
    this.options = options;
  }

  /** The root actor, for those who want the raw actor system. */
  get actor(): Actor<typeof syncMachine> {
    if (!this.root) {
      if (this.leadership) throw new SyncServiceError('NOT_LEADER', 'another tab uploads for this database; this one only writes to the outbox');
      throw new SyncServiceError('NOT_STARTED', 'call start() first');
    }
    return this.root;
  }

  private get queue(): QueueRef {
    return this.actor.system.get(SYSTEM_IDS.queue) as QueueRef;
  }

  /**
   * Recovers what a closed page left in flight, restores the actors' snapshots and starts them.
   * With `leader`, that happens once this tab holds the lock; until then start() only listens.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { leader } = this.options;
    if (!leader) return this.startActors();
    const locks = leader.locks ?? browserLocks();
    if (!locks) throw new SyncServiceError('NOT_STARTED', 'leader needs a lock manager: pass leader.locks (navigator.locks is not available here)');
    const name = leader.name ?? `verses-sync:${this.options.db.name}`;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (event: MessageEvent<Nudge>) => {
      if (event.data?.type === 'op.enqueued') this.root?.send({ type: 'op.enqueued', priority: event.data.priority, count: event.data.count });
    };
    this.lead = () => {
      this.leadership ??= requestLeadership(locks, name, () => (this.started ? this.startActors() : undefined));
    };
    this.lead();
    this.lifecycle = leader.lifecycle ?? (typeof document === 'undefined' ? undefined : document);
    this.lifecycle?.addEventListener('freeze', this.onFreeze);
    this.lifecycle?.addEventListener('resume', this.onResume);
  }

  // A frozen tab runs no timers and sends nothing, but would keep the lock: give it up now (the
  // synchronous part — actors stopped, lock released — runs before the page is frozen). What it
  // had in flight is recovered and re-sent by the next leader; the server's ledger keeps it once.
  private readonly onFreeze = (): void => {
    if (!this.started || !this.leadership) return;
    this.leaderTerm++;
    this.stopActors();
    const leadership = this.leadership;
    this.leadership = undefined;
    void leadership.resign();
  };

  private readonly onResume = (): void => {
    if (this.started) this.lead?.();
  };

  /** Whether this service runs the uploader: always without `leader`, else while it holds the lock. */
  get isLeader(): boolean {
    return this.root !== undefined;
  }

  private async startActors(): Promise<void> {
    if (this.root) return;
    const { db } = this.options;
    // A tab frozen (and so no longer leader) while this was starting must not start.
    const term = this.leaderTerm;
    await recoverInFlight(db, { history: this.options.history });
    const pending = await countPending(db, this.options.getUserId());
    const machine = this.provideMachine();
    const input: SyncInput = {
      online: this.options.online ?? (typeof navigator === 'undefined' || (navigator as { onLine?: boolean }).onLine !== false),
      pending,
      connection: this.options.connection,
      network: this.options.network,
      queue: { requestTimeoutMs: this.options.requestTimeoutMs, ...this.options.queue },
    };
    const restored = this.options.persistSnapshots === false ? undefined : await loadActorSnapshot<Snapshot<unknown>>(db, SNAPSHOT_ID);
    if (!this.started || this.leaderTerm !== term) return; // stopped or frozen while recovering
    // Absent options must be absent keys: xstate reads a `snapshot: undefined` key as a restore.
    const root = createActor(machine, {
      input,
      ...(restored ? { snapshot: this.rehydrate(restored) as never } : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    this.root = root;
    root.subscribe({ next: () => this.onSnapshot(), error: (error) => console.error('verses-sync: sync actor failed', error) });
    root.start();
    const queue = this.queue;
    queue.on('batch.settled', (event: { output: BatchOutput }) => {
      if (event.output.opCount > 0) this.bytesSent += event.output.bytes;
    });
    Dexie.on.storagemutated.subscribe(this.onStorageMutated);
    void this.recount();
    // The outbox is the truth: whatever the restored snapshot believed, recount and go.
    root.send({ type: 'outbox.changed', pending });
    // So is the network now: a snapshot saved offline must not keep a tab that opens online offline
    // (the browser sends no 'online' event for a state it was already in).
    if (restored) root.send({ type: input.online ? 'network.online' : 'network.offline' });
    // A reload in the middle of a backoff keeps its attempt and its retry time: the restored
    // snapshot holds no timer, so arm it for what is left of the wait instead of retrying at once.
    if (restored && queue.getSnapshot().matches('backoff')) queue.send({ type: 'retry.rearm' });
    else if (restored && pending > 0) root.send({ type: 'sync.now' });
    this.notifyLeadership();
  }

  /** Stops the actors after saving their snapshot (and hands leadership on); queued ops stay in the outbox. */
  async stop(): Promise<void> {
    this.started = false;
    this.lifecycle?.removeEventListener('freeze', this.onFreeze);
    this.lifecycle?.removeEventListener('resume', this.onResume);
    this.lifecycle = undefined;
    this.lead = undefined;
    if (this.root) {
      this.stopActors();
      await this.persisting;
    }
    // Only now may another tab take over: this one sends nothing more.
    await this.leadership?.resign();
    this.leadership = undefined;
    this.channel?.close();
    this.channel = undefined;
  }

  // Saves the snapshot (the write completes on its own) and stops the actors, synchronously.
  private stopActors(): void {
    if (!this.root) return;
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    this.persist();
    Dexie.on.storagemutated.unsubscribe(this.onStorageMutated);
    clearTimeout(this.recountTimer);
    this.recountTimer = undefined;
    this.root.stop();
    this.root = undefined;
    this.notifyLeadership();
  }

  /**
   * Calls listener with isLeader each time this service starts or stops running the uploader
   * (a follower tab taking over, stop()); returns the unsubscribe.
   */
  onLeadershipChange(listener: (isLeader: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private notifyLeadership(): void {
    const isLeader = this.isLeader;
    for (const listener of [...this.leadershipListeners]) {
      try {
        listener(isLeader);
      } catch (error) {
        console.error('verses-sync: leadership listener failed', error);
      }
    }
  }

  /** Call after a write committed ops to the outbox (dataService's onEnqueued); a follower tab nudges the leader. */
  notifyEnqueued = (event: { priority: Priority; count?: number }): void => {
    const nudge: Nudge = { type: 'op.enqueued', priority: event.priority, count: event.count ?? 1 };
    if (this.root) this.root.send(nudge);
    else this.channel?.postMessage(nudge);
  };

  /** The seed's queueOperation: persists one raw operation and nudges the queue. */
  async queueOperation<T extends OperationType>(op: {
    type: T;
    payload: OperationPayloads[T];
    priority?: Priority;
    maxRetries?: number;
    localRecordId?: string;
  }): Promise<string> {
    const { db } = this.options;
    const row = await db.transaction('rw', OUTBOX_TABLES.map((t) => db.table(t)), () =>
      enqueueOperation(db, { ...op, userId: this.options.getUserId() }),
    );
    this.notifyEnqueued({ priority: row.priority, count: 1 });
    return row.id;
  }

  /** Sends one batch now; resolves with how it ended (null when nothing was queued). */
  async processBatch(): Promise<BatchOutput | null> {
    if (this.counts.pending === 0 && (await countPending(this.options.db, this.options.getUserId())) === 0) return null;
    const settled = new Promise<BatchOutput>((resolve) => {
      const sub = this.queue.on('batch.settled', (event: { output: BatchOutput }) => {
        sub.unsubscribe();
        resolve(event.output);
      });
    });
    this.actor.send({ type: 'sync.now' });
    return settled;
  }

  /**
   * The app's study session (or any burst of work) ended: send what waits now rather than at its
   * budget, e.g. when the user leaves the review screen.
   */
  endSession(): void {
    this.actor.send({ type: 'sync.now' });
  }

  /** Cuts a running backoff short: failed batches' ops are retried now. */
  retryFailedBatches(): void {
    this.actor.send({ type: 'sync.now' });
  }

  /** Sends everything queued now; resolves when the queue drains or a failure stops it. */
  async forceSyncAll(): Promise<{ success: number; failed: number }> {
    const queue = this.queue;
    if (queue.getSnapshot().hasTag('offline')) throw new SyncServiceError('OFFLINE', 'Cannot sync while offline');
    const { db } = this.options;
    const deadBefore = await countDeadLetters(db);
    const ackedBefore = queue.getSnapshot().context.opsAcked;
    const pending = await countPending(db, this.options.getUserId());
    if (pending > 0) {
      await new Promise<void>((resolve) => {
        const subs = [
          queue.on('queue.drained', () => done()),
          queue.on('sync.failed', () => done()),
        ];
        const done = () => {
          subs.forEach((s) => s.unsubscribe());
          resolve();
        };
        this.actor.send({ type: 'sync.now' });
      });
    }
    const deadAfter = await countDeadLetters(db);
    const stillPending = await countPending(db, this.options.getUserId());
    return {
      success: queue.getSnapshot().context.opsAcked - ackedBefore,
      failed: Math.max(0, deadAfter - deadBefore) + stillPending,
    };
  }

  /** The browser's online/offline, or a test's. */
  setOnline(online: boolean): void {
    this.actor.send({ type: online ? 'network.online' : 'network.offline' });
  }

  /** The Network Information API's estimate changed. */
  updateConnection(info: ConnectionInfo): void {
    this.actor.send({ type: 'network.info', ...info });
  }

  /**
   * A user signed in (perhaps another one) or the session was renewed: recount what this
   * user may send (their ops and ops queued while signed out) and send it.
   */
  async sessionStarted(): Promise<void> {
    if (!this.root) return;
    const pending = await countPending(this.options.db, this.options.getUserId());
    if (!this.root) return;
    this.root.send({ type: 'session.started' });
    this.root.send({ type: 'outbox.changed', pending });
    if (pending > 0) this.root.send({ type: 'sync.now' });
    this.scheduleRecount();
  }

  /** The current state, as the seed's SyncStatus reads it. */
  getState(): SyncState {
    const root = this.actor.getSnapshot();
    const queue = this.queue.getSnapshot();
    const q = queue.context;
    return {
      pending: this.counts.unsynced.total,
      sending: this.counts.unsynced.sending,
      waiting: this.counts.unsynced.waiting,
      syncing: queue.hasTag('busy'),
      lastSync: q.lastSyncAt ? new Date(q.lastSyncAt) : undefined,
      online: root.context.online,
      quality: root.context.quality,
      deadLetters: this.counts.deadLetters,
      paused: queue.hasTag('offline') ? 'offline' : queue.hasTag('auth') ? 'auth' : null,
      lastError: q.lastError
        ? {
            kind: q.lastError.kind,
            message: q.lastError.message,
            ...(q.lastError.status !== undefined ? { status: q.lastError.status } : {}),
            ...(q.lastError.code ? { code: q.lastError.code } : {}),
          }
        : null,
      failingSince: q.failingSince ? new Date(q.failingSince) : null,
      stuck: q.stuck,
      nextRetryAt: q.nextRetryAt ? new Date(q.nextRetryAt) : null,
    };
  }

  /** Calls listener now and on every change; returns the unsubscribe. */
  subscribe(listener: (state: SyncState) => void): () => void {
    this.listeners.add(listener);
    if (this.root) listener(this.getState());
    return () => this.listeners.delete(listener);
  }

  getMetrics(): SyncMetrics {
    const q = this.queue.getSnapshot().context;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const attempts = q.batchesSent + q.batchesFailed;
    return {
      batchSuccessRate: attempts === 0 ? 1 : q.batchesSent / attempts,
      opsPerBatch: q.batchesSent === 0 ? 0 : q.opsAcked / q.batchesSent,
      enqueueToAckMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), samples: sorted.length },
      queueSizeHistory: [...this.history],
      requestsSent: q.requestsSent,
      bytesSent: this.bytesSent,
      batchesSent: q.batchesSent,
      batchesFailed: q.batchesFailed,
      opsAcked: q.opsAcked,
    };
  }

  private provideMachine() {
    const { db, getUserId } = this.options;
    const transport = createTransport({ client: this.options.client, timeoutMs: this.options.requestTimeoutMs });
    const probe = this.options.probeLatency ?? createLatencyProbe(this.options.client);
    const sampleBatches = this.options.probeLatency === undefined;
    const sources = this.options.networkEvents;
    const batch = batchMachine.provide({
      actors: {
        claimBatch: fromPromise(async ({ input }: { input: ClaimBatchInput }) => {
          if (this.options.coalesce !== false) await coalesceQueued(db);
          const claimed = await claimBatch(db, input, { userId: getUserId() });
          if (claimed) {
            const rows = await db.syncOperations.where('batchId').equals(claimed.batchId).toArray();
            for (const row of rows) this.enqueuedAt.set(row.id, row.timestamp);
          }
          return claimed;
        }),
        uploadBatch: fromPromise(async ({ input, signal }: { input: UploadBatchInput; signal: AbortSignal }) => {
          const started = performance.now();
          const result = await transport.upload(input, signal);
          // The network estimate comes from the batches themselves, so no request is made only to measure.
          const answered = result.ok || result.failure.status !== undefined;
          if (sampleBatches && answered && !input.keepalive && input.operations.length <= SAMPLE_MAX_OPS) {
            this.root?.send({ type: 'latency.sampled', latencyMs: Math.round(performance.now() - started) });
          }
          return result;
        }),
        recordResults: fromPromise(async ({ input }: { input: RecordResultsInput }) => {
          const outcome = await recordResults(db, input, { history: this.options.history });
          const now = Date.now();
          for (const result of input.results) {
            const at = this.enqueuedAt.get(result.id);
            if (result.success && at !== undefined) {
              this.latencies.push(now - at);
              if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
            }
            this.enqueuedAt.delete(result.id);
          }
          return outcome;
        }),
        releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => releaseBatch(db, input, { history: this.options.history })),
      },
    });
    return syncMachine.provide({
      actors: {
        queue: queueMachine.provide({ actors: { batch } }),
        networkQuality: networkQualityMachine.provide({
          actors: {
            probeLatency: fromPromise(() => probe()),
          },
        }),
        refreshSession: fromPromise(() => (this.options.refreshSession ? this.options.refreshSession() : Promise.resolve(false))),
        networkEvents: sources === 'none' ? fromCallback(() => undefined) : browserNetworkEvents(sources),
        pageEvents: this.options.pageEvents === 'none' ? fromCallback(() => undefined) : browserPageEvents(this.options.pageEvents),
      },
    });
  }

  // Functions do not survive JSON: give the restored queue its clock, randomness and ids back.
  private rehydrate(snapshot: Snapshot<unknown>): Snapshot<unknown> {
    const queue = (snapshot as { children?: Record<string, { snapshot?: { context?: Partial<QueueContext> } }> }).children?.[SYSTEM_IDS.queue]?.snapshot;
    if (queue?.context) {
      const q = this.options.queue ?? {};
      queue.context.now = q.now ?? Date.now;
      queue.context.random = q.random ?? Math.random;
      queue.context.newBatchId = q.newBatchId ?? (() => crypto.randomUUID());
    }
    return snapshot;
  }

  private onSnapshot(): void {
    this.notify();
    this.schedulePersist();
  }

  // Snapshots change on every enqueue; saving each one cost a Dexie write per user write.
  // Save at most every PERSIST_MS (trailing), and at once on stop().
  private schedulePersist(): void {
    if (this.persistTimer !== undefined || this.options.persistSnapshots === false) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.persist();
    }, PERSIST_MS);
  }

  // Saves the root's snapshot when no batch is in flight (a batch in flight is recovered from
  // the outbox on start instead); writes are chained so they never overtake each other.
  private persist(): void {
    if (!this.root || this.options.persistSnapshots === false) return;
    const queue = this.root.system.get(SYSTEM_IDS.queue) as QueueRef | undefined;
    const q = queue?.getSnapshot();
    if (!q || q.context.inFlight !== null || q.hasTag('busy')) return;
    let snapshot: unknown;
    try {
      snapshot = this.root.getPersistedSnapshot();
    } catch (error) {
      console.error('verses-sync: snapshot not persisted', error);
      return;
    }
    const json = JSON.stringify(snapshot);
    if (json === this.lastPersisted) return;
    this.lastPersisted = json;
    this.persisting = this.persisting
      .then(() => saveActorSnapshot(this.options.db, SNAPSHOT_ID, snapshot))
      .catch((error) => console.error('verses-sync: snapshot not persisted', error));
  }

  // Any write to this database's outbox (this tab's or, via Dexie, another tab's) asks for a recount.
  private readonly onStorageMutated = (parts: ObservabilitySet): void => {
    const prefix = `idb://${this.options.db.name}/syncOperations/`;
    if (Object.keys(parts).some((key) => key.startsWith(prefix))) this.scheduleRecount();
  };

  // One recount at a time, trailing, spaced by 4× the last one's cost so writes never queue
  // behind back-to-back counts of a large outbox (a liveQuery recounted after every commit).
  private scheduleRecount(): void {
    this.recountWanted = true;
    if (this.recountTimer !== undefined || this.recounting || !this.root) return;
    this.recountTimer = setTimeout(() => {
      this.recountTimer = undefined;
      void this.recount();
    }, Math.max(RECOUNT_MIN_MS, this.lastRecountMs * 4));
  }

  private async recount(): Promise<void> {
    const { db } = this.options;
    this.recounting = true;
    this.recountWanted = false;
    const started = performance.now();
    try {
      const unsynced = await countUnsynced(db, this.options.getUserId());
      const counts = {
        pending: unsynced.queued,
        unsynced,
        deadLetters: await countDeadLetters(db),
      };
      this.counts = counts;
      this.history.push({ at: Date.now(), pending: counts.pending });
      if (this.history.length > HISTORY_LIMIT) this.history.shift();
      this.notify();
    } catch (error) {
      if (this.root) console.error('verses-sync: outbox count failed', error);
    } finally {
      this.lastRecountMs = performance.now() - started;
      this.recounting = false;
      if (this.recountWanted) this.scheduleRecount();
    }
  }

  private notify(): void {
    if (!this.root || this.listeners.size === 0) return;
    const state = this.getState();
    for (const listener of this.listeners) listener(state);
  }
}
