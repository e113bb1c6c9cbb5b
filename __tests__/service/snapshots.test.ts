// Snapshot persistence: a saved snapshot carries its format's version; one of another version is
// dropped with a log line (never a crash); the saver actor saves trailing while the root changes,
// never while a batch is in flight, and once more when it stops.
import { createActor, setup, assign } from 'xstate';
import { loadActorSnapshot, loadActorSnapshotVersion, saveActorSnapshot, type VersesDb } from '../../src/db/index.ts';
import { SNAPSHOT_ID, SNAPSHOT_VERSION, snapshotSaver, SnapshotStore } from '../../src/service/snapshots.ts';
import { freshDb } from '../db/fixtures.ts';
import { eventually } from '../helpers/client.ts';

let db: VersesDb;
let close: () => Promise<void>;
beforeEach(() => {
  ({ db, close } = freshDb());
});
afterEach(async () => {
  await close();
});

test('a saved snapshot loads back with its version', async () => {
  const store = new SnapshotStore(db);
  store.save({ status: 'active', value: 'ready', context: { n: 1 } });
  await store.saved();
  expect(await loadActorSnapshotVersion(db, SNAPSHOT_ID)).toBe(SNAPSHOT_VERSION);
  expect(await store.load()).toEqual({ status: 'active', value: 'ready', context: { n: 1 } });
});

test.each([
  ['an older version', SNAPSHOT_VERSION - 1],
  ['a newer version', SNAPSHOT_VERSION + 1],
  ['no version at all', undefined],
])('a snapshot of %s is dropped with a log line and deleted', async (_, version) => {
  await saveActorSnapshot(db, SNAPSHOT_ID, { status: 'active', value: { gone: 'state' } }, { version });
  const lines: string[] = [];
  const store = new SnapshotStore(db, (line) => lines.push(line));
  await expect(store.load()).resolves.toBeUndefined();
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/another version .*sync starts fresh\. Queued changes are kept/);
  expect(await loadActorSnapshot(db, SNAPSHOT_ID)).toBeUndefined();
});

test('an unchanged snapshot is not written again', async () => {
  const store = new SnapshotStore(db);
  const puts: unknown[] = [];
  db.actorSnapshots.hook('creating', (_key, row) => void puts.push(row));
  db.actorSnapshots.hook('updating', (changes) => void puts.push(changes));
  store.save({ value: 'a' });
  store.save({ value: 'a' });
  store.save({ value: 'b' });
  await store.saved();
  expect(puts).toHaveLength(2);
});

// A root with a 'queue' child that is busy while sending, as the sync machine has.
const queueLike = setup({ types: { events: {} as { type: 'send' } | { type: 'done' } } }).createMachine({
  initial: 'idle',
  states: { idle: { on: { send: 'sending' } }, sending: { tags: 'busy', on: { done: 'idle' } } },
});
const rootLike = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'bump' } },
  actors: { queueLike },
}).createMachine({
  context: { n: 0 },
  invoke: { id: 'queue', systemId: 'queue', src: 'queueLike' },
  on: { bump: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});

test('the saver saves the latest snapshot after a pause, skips while busy, and saves on stop', async () => {
  const store = new SnapshotStore(db);
  const root = createActor(rootLike).start();
  const saver = createActor(snapshotSaver, { input: { root, store, saveAfterMs: 20 } }).start();
  root.send({ type: 'bump' });
  root.send({ type: 'bump' });
  await eventually(async () => expect(await loadActorSnapshot(db, SNAPSHOT_ID)).toMatchObject({ context: { n: 2 } }));

  const queue = root.system.get('queue');
  queue.send({ type: 'send' });
  root.send({ type: 'bump' });
  await new Promise((r) => setTimeout(r, 80));
  await store.saved();
  // A batch in flight is recovered from the outbox, never from a snapshot.
  expect(await loadActorSnapshot(db, SNAPSHOT_ID)).toMatchObject({ context: { n: 2 } });

  queue.send({ type: 'done' });
  root.send({ type: 'bump' });
  saver.stop(); // before its timer: the stop saves
  await store.saved();
  expect(await loadActorSnapshot(db, SNAPSHOT_ID)).toMatchObject({ context: { n: 4 } });
  root.stop();
});
