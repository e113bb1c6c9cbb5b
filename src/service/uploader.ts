// The uploader's lifecycle: recover what a closed page left in flight, restore the saved snapshot
// (or start fresh when it cannot be resumed), start the root actor with its effects, and stop it.
import { createActor, type Actor, type AnyActorRef, type Snapshot } from 'xstate';
import type { BatchOutput } from '../../machines/batch.machine.ts';
import { SYSTEM_IDS, type syncMachine, type SyncInput } from '../../machines/sync.machine.ts';
import { countPending, recoverInFlight } from '../outbox/index.ts';
import { provideSyncMachine } from './effects.ts';
import type { MetricsCollector } from './metrics.ts';
import { queueSettings, type BatchSyncServiceOptions } from './options.ts';
import { snapshotSaver, type SnapshotStore } from './snapshots.ts';

export type UploaderDeps = {
  metrics: MetricsCollector;
  snapshots: SnapshotStore;
  /** False once the service was stopped (or its tab frozen) while the uploader was starting. */
  stillWanted(): boolean;
  /** The root's snapshot changed. */
  changed(): void;
};

/** A running uploader: the root actor and what saves its snapshot. */
export type Uploader = {
  root: Actor<typeof syncMachine>;
  /** Saves the snapshot (the write completes on its own) and stops the actors, synchronously. */
  stop(): void;
};

type QueueRef = AnyActorRef & { getSnapshot(): { matches(value: { schedule: string }): boolean; context: { setAsideWakeAt?: number | null } } };

/** Starts the machines on this tab; undefined when the service stopped meanwhile. */
export async function startUploader(options: BatchSyncServiceOptions, deps: UploaderDeps): Promise<Uploader | undefined> {
  const { db, getUserId } = options;
  await recoverInFlight(db, { history: options.history });
  const pending = await countPending(db, getUserId());
  const restored = options.persistSnapshots === false ? undefined : await deps.snapshots.load();
  if (!deps.stillWanted()) return undefined;
  const input: SyncInput = {
    online: options.online ?? (typeof navigator === 'undefined' || (navigator as { onLine?: boolean }).onLine !== false),
    pending,
    connection: options.connection,
    // A probe given in the options is the only estimate (batches are not sampled): it measures on
    // every connect. Without one, the first batch's round trip does.
    network: options.probeLatency ? { probeOnConnect: true, ...options.network } : options.network,
    queue: { requestTimeoutMs: options.requestTimeoutMs, ...queueSettings(options.queue) },
  };
  const root = (restored && startRoot(options, deps, input, restored)) || startRoot(options, deps, input, undefined)!;
  const queue = root.system.get(SYSTEM_IDS.queue) as QueueRef;
  queue.on('batch.settled', (event: { output: BatchOutput }) => deps.metrics.batchEnded(event.output));
  const saver = options.persistSnapshots === false ? undefined : createActor(snapshotSaver, { input: { root, store: deps.snapshots } }).start();
  // The outbox is the truth: whatever the restored snapshot believed, recount and go.
  root.send({ type: 'outbox.changed', pending });
  // So is the network now: a snapshot saved offline must not keep a tab that opens online offline
  // (the browser sends no 'online' event for a state it was already in).
  if (restored) root.send({ type: input.online ? 'network.online' : 'network.offline' });
  // A reload in the middle of a backoff keeps its attempt and its retry time: the restored snapshot
  // holds no timer, so arm it for what is left of the wait instead of retrying at once.
  if (restored && queue.getSnapshot().matches({ schedule: 'backoff' })) queue.send({ type: 'retry.rearm' });
  // Set-aside ops are not pending, but their wake is a timer the snapshot does not hold: a batch re-arms it.
  else if (restored && (pending > 0 || (queue.getSnapshot().context.setAsideWakeAt ?? null) !== null)) root.send({ type: 'sync.now' });
  return {
    root,
    stop() {
      saver?.stop();
      root.stop();
    },
  };
}

// Starts the root (from `restored` when given); a snapshot xstate cannot resume is dropped with a
// log line, and the caller starts fresh.
function startRoot(options: BatchSyncServiceOptions, deps: UploaderDeps, input: SyncInput, restored: Snapshot<unknown> | undefined) {
  let root: Actor<typeof syncMachine> | undefined;
  const machine = provideSyncMachine(options, {
    metrics: deps.metrics,
    latencySampled: (latencyMs) => root?.send({ type: 'latency.sampled', latencyMs }),
  });
  try {
    // Absent options must be absent keys: xstate reads a `snapshot: undefined` key as a restore.
    root = createActor(machine, {
      input,
      ...(restored ? { snapshot: restored as never } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    root.subscribe({ next: () => deps.changed(), error: (error) => console.error('verses-sync: sync actor failed', error) });
    root.start();
    if (!restored || root.getSnapshot().status === 'active') return root;
    root.stop();
  } catch (error) {
    if (!restored) throw error;
  }
  console.warn('verses-sync: the saved sync state could not be resumed; sync starts fresh (queued changes are kept and will be sent)');
  return undefined;
}
