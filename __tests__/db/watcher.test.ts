// The outbox watcher: an actor whose snapshot holds the outbox's counts, recounted after each
// write to the outbox (trailing, spaced), for the signed-in user, with dead letters of every user.
import { createActor } from 'xstate';
import { outboxWatcher, watchOutbox, type OutboxCounts } from '../../src/outbox/index.ts';
import { eventually } from '../helpers/client.ts';
import { serviceFor, useFreshDb, USER_A, USER_B } from './fixtures.ts';

const db = useFreshDb();

test('the watcher counts what waits, and recounts after each write to the outbox', async () => {
  const { service } = serviceFor(db());
  await service.addVerseCard('John 3:16');
  const watcher = createActor(outboxWatcher, { input: watchOutbox(db(), () => USER_A) }).start();
  await eventually(() => expect(watcher.getSnapshot().context).toEqual({ total: 1, queued: 1, sending: 0, waiting: 0, setAside: 0, dead: 0 }));
  await service.addVerseCards([{ reference: 'John 3:17' }, { reference: 'John 3:18' }]);
  await eventually(() => expect(watcher.getSnapshot().context?.queued).toBe(3));
  // An op the server refused is a dead letter, not pending.
  const [op] = await db().syncOperations.toArray();
  await db().syncOperations.update(op.id, { status: 'dead' });
  await eventually(() => expect(watcher.getSnapshot().context).toEqual({ total: 2, queued: 2, sending: 0, waiting: 0, setAside: 0, dead: 1 }));
  watcher.stop();
});

test("pending is the signed-in user's (and user-less ops); recount() follows a change of user", async () => {
  const a = serviceFor(db());
  await a.service.addVerseCard('Psalm 23:1');
  a.setUser(USER_B);
  await a.service.addVerseCards([{ reference: 'Psalm 23:2' }, { reference: 'Psalm 23:3' }]);
  a.setUser(undefined);
  await a.service.updateProfile({ displayName: 'nobody yet' });
  let user = USER_A;
  const watch = watchOutbox(db(), () => user);
  const seen: OutboxCounts[] = [];
  const subscription = watch.subscribe({ next: (counts) => seen.push(counts) });
  await eventually(() => expect(seen.at(-1)?.queued).toBe(2)); // A's card and the user-less profile
  user = USER_B;
  watch.recount();
  await eventually(() => expect(seen.at(-1)?.queued).toBe(3));
  subscription.unsubscribe();
});

test('after the last unsubscribe no more counts are made', async () => {
  const { service } = serviceFor(db());
  const seen: OutboxCounts[] = [];
  const subscription = watchOutbox(db(), () => USER_A).subscribe({ next: (counts) => seen.push(counts) });
  await eventually(() => expect(seen).toHaveLength(1));
  subscription.unsubscribe();
  await service.addVerseCard('Genesis 1:1');
  await new Promise((r) => setTimeout(r, 250));
  expect(seen).toHaveLength(1);
});
