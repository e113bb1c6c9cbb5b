import { createVersesDb, DEFAULT_DB_NAME, deleteActorSnapshot, loadActorSnapshot, saveActorSnapshot, type VersesDb } from '../../src/db/index.ts';
import { useFreshDb } from './fixtures.ts';

const fresh = useFreshDb();
let db: VersesDb;
beforeEach(() => {
  db = fresh();
});

test('version 8 declares every table with the indexes the outbox queries, and no index nothing reads', async () => {
  await db.open();
  expect(db.verno).toBe(8);
  expect(db.tables.map((t) => t.name).sort()).toEqual(
    ['actorSnapshots', 'aliases', 'meta', 'notices', 'profile', 'reviewLogs', 'syncBatches', 'syncOperations', 'verseCards', 'verses'].sort(),
  );
  const ops = db.syncOperations.schema;
  expect(ops.primKey.name).toBe('id');
  expect(ops.indexes.map((i) => i.name).sort()).toEqual(['seq', '[status+seq]', 'batchId', 'localRecordId', 'nextAttemptAt'].sort());
  expect(ops.indexes.find((i) => i.name === 'seq')?.unique).toBe(true);
  expect(db.meta.schema.primKey.name).toBe('key');
  expect(db.syncBatches.schema.indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['status', 'createdAt', '[status+seq]']));
  expect(db.notices.schema.indexes.map((i) => i.name)).toEqual(['at']);
});

test('the default database name is verses-sync', () => {
  const named = createVersesDb();
  expect(named.name).toBe(DEFAULT_DB_NAME);
  expect(DEFAULT_DB_NAME).toBe('verses-sync');
  named.close();
});

test('actor snapshots round-trip as plain data', async () => {
  const snapshot = { status: 'active', value: { online: 'good' }, context: { attempt: 2, nextRetryAt: 1_700_000_000_000 }, fn: () => 1 };
  await saveActorSnapshot(db, 'queue', snapshot, { now: new Date('2026-11-24T00:00:00.000Z') });
  const loaded = await loadActorSnapshot<typeof snapshot>(db, 'queue');
  expect(loaded).toEqual({ status: 'active', value: { online: 'good' }, context: { attempt: 2, nextRetryAt: 1_700_000_000_000 } });
  expect((await db.actorSnapshots.get('queue'))?.updatedAt).toBe('2026-11-24T00:00:00.000Z');
  await deleteActorSnapshot(db, 'queue');
  expect(await loadActorSnapshot(db, 'queue')).toBeUndefined();
});
