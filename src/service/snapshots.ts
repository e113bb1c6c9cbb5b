// The root actor's persisted snapshot (retry attempt and time, network quality, last sync, the
// queue's counters), saved as it changes so a reload resumes where it stopped. A snapshot carries
// the version of its format; one of another version is dropped, and the service starts fresh.
import { fromCallback, type AnyActorRef, type EventObject, type Snapshot } from 'xstate';
import { SYSTEM_IDS } from '../../machines/sync.machine.ts';
import { deleteActorSnapshot, loadActorSnapshot, loadActorSnapshotVersion, saveActorSnapshot, type VersesDb } from '../db/index.ts';

/** The row the root's snapshot is kept under. */
export const SNAPSHOT_ID = 'sync';
/** The snapshot format: bump it when a machine's states or context change shape. */
export const SNAPSHOT_VERSION = 2;
/** Longest a snapshot change waits before it is saved (a reload resumes from the last save). */
export const SAVE_AFTER_MS = 250;

type Log = (message: string) => void;

/** Saved snapshots of one database, written one after another so a write never overtakes another. */
export class SnapshotStore {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved = '';

  constructor(
    private readonly db: VersesDb,
    private readonly log: Log = (message) => console.warn(message),
  ) {}

  /** The saved snapshot, or undefined when there is none or it is of another version (then it is deleted). */
  async load(): Promise<Snapshot<unknown> | undefined> {
    const snapshot = await loadActorSnapshot<Snapshot<unknown>>(this.db, SNAPSHOT_ID);
    if (snapshot === undefined) return undefined;
    const version = await loadActorSnapshotVersion(this.db, SNAPSHOT_ID);
    if (version === SNAPSHOT_VERSION) return snapshot;
    this.log(
      `verses-sync: the saved sync state was written by another version (format ${version ?? 'unversioned'}, this one reads ${SNAPSHOT_VERSION}); ` +
        'it is dropped and sync starts fresh. Queued changes are kept and will be sent.',
    );
    await deleteActorSnapshot(this.db, SNAPSHOT_ID);
    return undefined;
  }

  /** Queues a save of `snapshot` unless it equals the last one saved. */
  save(snapshot: unknown): void {
    const json = JSON.stringify(snapshot);
    if (json === this.lastSaved) return;
    this.lastSaved = json;
    this.writing = this.writing
      .then(() => saveActorSnapshot(this.db, SNAPSHOT_ID, snapshot, { version: SNAPSHOT_VERSION }))
      .catch((error) => console.error('verses-sync: snapshot not persisted', error));
  }

  /** Resolves once every save queued so far is written. */
  saved(): Promise<void> {
    return this.writing;
  }
}

export type SnapshotSaverInput = { root: AnyActorRef; store: SnapshotStore; saveAfterMs?: number };

type QueueLike = { getSnapshot(): { hasTag(tag: string): boolean; context: { inFlight?: unknown } } };

// Saves when no batch is in flight: a batch in flight is recovered from the outbox on start
// instead, so a snapshot never brings back a request that may or may not have been answered.
function saveRoot({ root, store }: SnapshotSaverInput): void {
  const queue = (root.system.get(SYSTEM_IDS.queue) as QueueLike | undefined)?.getSnapshot();
  if (!queue || queue.hasTag('busy') || (queue.context.inFlight ?? null) !== null) return;
  let snapshot: unknown;
  try {
    snapshot = root.getPersistedSnapshot();
  } catch (error) {
    console.error('verses-sync: snapshot not persisted', error);
    return;
  }
  store.save(snapshot);
}

/**
 * Actor logic that saves the root's snapshot at most every `saveAfterMs` (trailing) while it
 * changes, and once more when stopped. Snapshots change on every enqueue: saving each would cost
 * a Dexie write per user write.
 */
export const snapshotSaver = fromCallback<EventObject, SnapshotSaverInput>(({ input }) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const subscription = input.root.subscribe(() => {
    timer ??= setTimeout(() => {
      timer = undefined;
      saveRoot(input);
    }, input.saveAfterMs ?? SAVE_AFTER_MS);
  });
  return () => {
    subscription.unsubscribe();
    clearTimeout(timer);
    saveRoot(input);
  };
});
