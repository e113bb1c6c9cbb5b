// A fresh database per test, and small readers of its state.
import { randomUUID } from 'node:crypto';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { createDataService, type DataServiceOptions, type EnqueuedEvent } from '../../src/service/dataService.ts';

export const USER_A = '00000000-0000-4000-8000-00000000000a';
export const USER_B = '00000000-0000-4000-8000-00000000000b';

/** Opens a database under a unique name; call `close()` in afterEach. */
export function freshDb(): { db: VersesDb; name: string; close: () => Promise<void> } {
  const name = `verses-sync-test-${randomUUID()}`;
  const db = createVersesDb(name);
  return { db, name, close: () => db.delete() };
}

/** A fresh database for each test of the file; call the result inside a test. */
export function useFreshDb(): () => VersesDb {
  let current: ReturnType<typeof freshDb> | undefined;
  beforeEach(() => {
    current = freshDb();
  });
  afterEach(async () => {
    await current?.close();
  });
  return () => current!.db;
}

/** A data service with a controllable user and clock, recording onEnqueued events. */
export function serviceFor(db: VersesDb, overrides: Partial<DataServiceOptions> = {}) {
  const events: EnqueuedEvent[] = [];
  let userId: string | undefined = USER_A;
  let clock = new Date('2026-11-24T10:00:00.000Z');
  const service = createDataService({
    db,
    getUserId: () => userId,
    onEnqueued: (e) => events.push(e),
    now: () => clock,
    ...overrides,
  });
  return {
    service,
    events,
    setUser: (id: string | undefined) => {
      userId = id;
    },
    setClock: (date: Date) => {
      clock = date;
    },
  };
}

/** Every row of every table, for "nothing changed" assertions. */
export async function dump(db: VersesDb) {
  const byId = <T extends { id: string }>(rows: T[]) => rows.sort((a, b) => a.id.localeCompare(b.id));
  return {
    verses: byId(await db.verses.toArray()),
    verseCards: byId(await db.verseCards.toArray()),
    reviewLogs: byId(await db.reviewLogs.toArray()),
    aliases: byId(await db.aliases.toArray()),
    profile: byId(await db.profile.toArray()),
    syncOperations: byId(await db.syncOperations.toArray()),
    syncBatches: byId(await db.syncBatches.toArray()),
    meta: await db.meta.toArray(),
  };
}

export const opsBySeq = async (db: VersesDb) => (await db.syncOperations.toArray()).sort((a, b) => a.seq - b.seq);
