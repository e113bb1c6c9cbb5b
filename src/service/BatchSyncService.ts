// The facade over the actor system: the seed's public API. It wires the jobs that live in their
// own files: which tab uploads (leader/coordinator), the machines' effects (effects), the outbox's
// counts (outbox/watcher), snapshot persistence (snapshots), metrics, and the status (status).
import { createActor, type Actor, type AnyActorRef } from 'xstate';
import type { BatchOutput } from '../../machines/batch.machine.ts';
import type { ConnectionInfo } from '../../machines/networkQuality.machine.ts';
import type { QueueContext } from '../../machines/queue.machine.ts';
import { SYSTEM_IDS, type syncMachine } from '../../machines/sync.machine.ts';
import type { Priority } from '../../machines/types.ts';
import type { OperationPayloads, OperationType } from '../../supabase/functions/_shared/protocol.ts';
import { CodedError } from '../errors.ts';
import { browserLocks } from '../leader/index.ts';
import { lockCoordinator, soloCoordinator, type Nudge, type TabCoordinator } from '../leader/coordinator.ts';
import { countDeadLetters, countPending, enqueueOperation, OUTBOX_TABLES, outboxWatcher, watchOutbox } from '../outbox/index.ts';
import { MetricsCollector, type SyncMetrics } from './metrics.ts';
import type { BatchSyncServiceOptions } from './options.ts';
import { SnapshotStore } from './snapshots.ts';
import { syncState, type NetworkView, type QueueView, type SyncState } from './status.ts';
import { startUploader, type Uploader } from './uploader.ts';

export type { BatchSyncServiceOptions } from './options.ts';
export type { SyncMetrics } from './metrics.ts';
export type { SyncState } from './status.ts';

export type SyncServiceErrorCode = 'OFFLINE' | 'NOT_STARTED' | 'NOT_LEADER';

/** The sync service refused a call (e.g. forceSyncAll while offline). */
export class SyncServiceError extends CodedError<SyncServiceErrorCode> {}

type QueueRef = AnyActorRef & { getSnapshot(): QueueView & { context: QueueContext; matches(v: { schedule: string }): boolean } };
type OutboxRef = Actor<typeof outboxWatcher>;
type RawOperation<T extends OperationType> = { type: T; payload: OperationPayloads[T]; priority?: Priority; maxRetries?: number; localRecordId?: string };

/** The sync engine of one device: start() it, feed it writes, watch it with subscribe(). */
export class BatchSyncService {
  private readonly metrics = new MetricsCollector();
  private readonly snapshots: SnapshotStore;
  private readonly listeners = new Set<(state: SyncState) => void>();
  private readonly leadershipListeners = new Set<(isLeader: boolean) => void>();
  private uploader: Uploader | undefined;
  private watch: ReturnType<typeof watchOutbox> | undefined;
  private watcher: OutboxRef | undefined;
  private coordinator: TabCoordinator | undefined;
  private started = false;

  constructor(private readonly options: BatchSyncServiceOptions) {
    this.snapshots = new SnapshotStore(options.db);
  }

  private get root(): Actor<typeof syncMachine> | undefined {
    return this.uploader?.root;
  }

  /** The root actor, for those who want the raw actor system. */
  get actor(): Actor<typeof syncMachine> {
    if (this.root) return this.root;
    if (this.coordinator?.elects) throw new SyncServiceError('NOT_LEADER', 'another tab uploads for this database; this one only writes to the outbox');
    throw new SyncServiceError('NOT_STARTED', 'call start() first');
  }

  /** The outbox watcher (from start() to stop(), in every tab): its snapshot's context holds the outbox's counts. */
  get outbox(): OutboxRef | undefined {
    return this.watcher;
  }

  private get queue(): QueueRef {
    return this.actor.system.get(SYSTEM_IDS.queue) as QueueRef;
  }

  /** Whether this service runs the uploader: always without `leader`, else while it holds the lock. */
  get isLeader(): boolean {
    return this.root !== undefined;
  }

  /**
   * Recovers what a closed page left in flight, restores the actors' snapshots and starts them.
   * With `leader`, that happens once this tab holds the lock; until then start() only listens.
   */
  async start(): Promise<void> {
    if (this.started) return;
    const { leader, db } = this.options;
    const locks = leader && (leader.locks ?? browserLocks());
    if (leader && !locks) throw new SyncServiceError('NOT_STARTED', 'leader needs a lock manager: pass leader.locks (navigator.locks is not available here)');
    this.started = true;
    this.watch = watchOutbox(db, this.options.getUserId, this.options.storageMutations);
    this.watcher = createActor(outboxWatcher, { input: this.watch });
    this.watcher.subscribe(({ context }) => context && (this.metrics.queueSized(context.queued), this.notify()));
    this.watcher.start();
    const hooks = { lead: this.lead, stepDown: this.stepDown, nudged: (nudge: Nudge) => this.root?.send(nudge) };
    this.coordinator = locks ? lockCoordinator({ locks, name: leader.name ?? `verses-sync:${db.name}`, lifecycle: leader.lifecycle }, hooks) : soloCoordinator(hooks);
    return this.coordinator.start();
  }

  // Runs the machines: this tab uploads from here until stepDown().
  private readonly lead = async (): Promise<void> => {
    const coordinator = this.coordinator;
    if (this.uploader || !coordinator) return;
    const term = coordinator.term;
    const uploader = await startUploader(this.options, {
      metrics: this.metrics,
      snapshots: this.snapshots,
      stillWanted: () => this.started && this.coordinator === coordinator && coordinator.term === term,
      changed: () => this.notify(),
    });
    if (!uploader) return;
    this.uploader = uploader;
    this.watch?.recount();
    this.notify();
    this.notifyLeadership();
  };

  // Stops the uploader synchronously, its snapshot saved (the write completes on its own).
  private readonly stepDown = (): void => {
    if (!this.uploader) return;
    this.uploader.stop();
    this.uploader = undefined;
    this.notifyLeadership();
  };

  /** Stops the actors after saving their snapshot (and hands leadership on); queued ops stay in the outbox. */
  async stop(): Promise<void> {
    this.started = false;
    await this.coordinator?.stop(async () => {
      this.stepDown();
      await this.snapshots.saved();
    });
    this.coordinator = undefined;
    this.watcher?.stop();
    this.watcher = undefined;
    this.watch = undefined;
  }

  /** Calls listener with isLeader each time this service starts or stops running the uploader; returns the unsubscribe. */
  onLeadershipChange(listener: (isLeader: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private notifyLeadership(): void {
    for (const listener of [...this.leadershipListeners]) {
      try {
        listener(this.isLeader);
      } catch (error) {
        console.error('verses-sync: leadership listener failed', error);
      }
    }
  }

  /** Call after a write committed ops to the outbox (dataService's onEnqueued); a follower tab nudges the leader. */
  notifyEnqueued = (event: { priority: Priority; count?: number }): void => {
    const nudge: Nudge = { type: 'op.enqueued', priority: event.priority, count: event.count ?? 1 };
    if (this.root) this.root.send(nudge);
    else this.coordinator?.nudge(nudge);
  };

  /** The seed's queueOperation: persists one raw operation and nudges the queue. */
  async queueOperation<T extends OperationType>(op: RawOperation<T>): Promise<string> {
    const { db } = this.options;
    const row = await db.transaction('rw', OUTBOX_TABLES.map((t) => db.table(t)), () => enqueueOperation(db, { ...op, userId: this.options.getUserId() }));
    this.notifyEnqueued({ priority: row.priority, count: 1 });
    return row.id;
  }

  /** Sends one batch now; resolves with how it ended (null when nothing was queued). */
  async processBatch(): Promise<BatchOutput | null> {
    if ((await countPending(this.options.db, this.options.getUserId())) === 0) return null;
    const ended = new Promise<BatchOutput>((resolve) => {
      const sub = this.queue.on('batch.settled', (event: { output: BatchOutput }) => {
        sub.unsubscribe();
        resolve(event.output);
      });
    });
    this.actor.send({ type: 'sync.now' });
    return ended;
  }

  /** The app's study session (or any burst of work) ended: send what waits now rather than at its budget. */
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
    const { db, getUserId } = this.options;
    const deadBefore = await countDeadLetters(db);
    const ackedBefore = queue.getSnapshot().context.opsAcked;
    if ((await countPending(db, getUserId())) > 0) {
      await new Promise<void>((resolve) => {
        const subs = ['queue.drained', 'sync.failed'].map((type) => queue.on(type, () => (subs.forEach((s) => s.unsubscribe()), resolve())));
        this.actor.send({ type: 'sync.now' });
      });
    }
    const failed = Math.max(0, (await countDeadLetters(db)) - deadBefore) + (await countPending(db, getUserId()));
    return { success: queue.getSnapshot().context.opsAcked - ackedBefore, failed };
  }

  /** The browser's online/offline, or a test's. */
  setOnline(online: boolean): void {
    this.actor.send({ type: online ? 'network.online' : 'network.offline' });
  }

  /** The Network Information API's estimate changed. */
  updateConnection(info: ConnectionInfo): void {
    this.actor.send({ type: 'network.info', ...info });
  }

  /** A user signed in (perhaps another one) or the session was renewed: recount what this user may send, and send it. */
  async sessionStarted(): Promise<void> {
    if (!this.root) return;
    const pending = await countPending(this.options.db, this.options.getUserId());
    if (!this.root) return;
    this.root.send({ type: 'session.started' });
    this.root.send({ type: 'outbox.changed', pending });
    if (pending > 0) this.root.send({ type: 'sync.now' });
    this.watch?.recount();
  }

  /** The current state, as the seed's SyncStatus reads it. */
  getState(): SyncState {
    const network = this.actor.system.get(SYSTEM_IDS.network).getSnapshot() as NetworkView;
    return syncState(this.queue.getSnapshot(), network, this.watcher?.getSnapshot());
  }

  /** Calls listener now and on every change; returns the unsubscribe. */
  subscribe(listener: (state: SyncState) => void): () => void {
    this.listeners.add(listener);
    if (this.root) listener(this.getState());
    return () => this.listeners.delete(listener);
  }

  getMetrics(): SyncMetrics {
    return this.metrics.read(this.queue.getSnapshot().context);
  }

  private notify(): void {
    if (!this.root || this.listeners.size === 0) return;
    const state = this.getState();
    for (const listener of this.listeners) listener(state);
  }
}
