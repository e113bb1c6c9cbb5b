// Persisted actor snapshots, so a reload resumes where the machines stopped.
import type { VersesDb } from './database.ts';

/** Stores `actor.getPersistedSnapshot()` under the actor's id, as JSON-safe plain data, with its format's version. */
export async function saveActorSnapshot(
  db: VersesDb,
  actorId: string,
  snapshot: unknown,
  { version, now = new Date() }: { version?: number; now?: Date } = {},
): Promise<void> {
  // A JSON round trip drops what structured clone would choke on (functions,
  // class instances) so one odd value can never wedge the store.
  const plain: unknown = snapshot === undefined ? undefined : JSON.parse(JSON.stringify(snapshot));
  await db.actorSnapshots.put({ id: actorId, snapshot: plain, ...(version === undefined ? {} : { version }), updatedAt: now.toISOString() });
}

/** The snapshot saved for `actorId`, or undefined. */
export async function loadActorSnapshot<T = unknown>(db: VersesDb, actorId: string): Promise<T | undefined> {
  const row = await db.actorSnapshots.get(actorId);
  return row?.snapshot as T | undefined;
}

/** The version the snapshot of `actorId` was saved in (undefined: none saved, or saved without one). */
export async function loadActorSnapshotVersion(db: VersesDb, actorId: string): Promise<number | undefined> {
  return (await db.actorSnapshots.get(actorId))?.version;
}

/** Forgets the snapshot of `actorId` (e.g. on sign-out). */
export async function deleteActorSnapshot(db: VersesDb, actorId: string): Promise<void> {
  await db.actorSnapshots.delete(actorId);
}
