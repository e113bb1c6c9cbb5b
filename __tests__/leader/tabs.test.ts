// One uploader per browser: two "tabs" (two services on one Dexie database name)
// share the outbox; only the lock holder sends; when it closes mid-batch, the other
// takes over, re-sends the in-flight batch, and Postgres keeps every op once.
import { randomUUID } from 'node:crypto';
import { createMemoryLocks } from '../../src/leader/index.ts';
import type { WebHandler } from '../../src/stack/http.ts';
import { eventually, useDevices } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

type Sent = { batchId: string; operations: Array<{ id: string }> };
const sent: Sent[] = [];
let fault: ((req: Request, real: WebHandler) => Promise<Response>) | undefined;
const stack = useStack({
  wrapFunction: (real) => async (req) => {
    const body = (await req.clone().json().catch(() => null)) as Sent | null;
    if (body?.operations) sent.push(body);
    return fault ? fault(req, real) : real(req);
  },
});
const device = useDevices(stack);
beforeEach(() => {
  sent.length = 0;
  fault = undefined;
});

async function serverCounts(userId: string) {
  const [row] = await stack().sql`
    select (select count(*) from verse_cards where user_id = ${userId})::int as cards,
           (select count(*) from sync_ledger where user_id = ${userId})::int as ledger`;
  return row;
}

test('only the leader uploads; closing it mid-batch hands over, and the in-flight batch lands once', async () => {
  const userId = randomUUID();
  const dbName = `tabs-${randomUUID()}`;
  const leader = { locks: createMemoryLocks() };
  const first = await device({ userId, dbName, service: { leader } });
  const second = await device({ userId, dbName, service: { leader } });
  await eventually(() => expect(first.sync.isLeader).toBe(true));
  expect(second.sync.isLeader).toBe(false);
  expect(() => second.sync.getMetrics()).toThrow(expect.objectContaining({ code: 'NOT_LEADER' }));

  // The server commits the first batch, its answer never comes back.
  let committed = 0;
  fault = async (req, real) => {
    await real(req);
    committed++;
    return new Promise<Response>(() => {});
  };
  await second.data.addVerseCards([{ reference: 'Romans 8:28' }, { reference: 'Romans 12:2' }, { reference: 'Romans 5:8' }]);
  await first.data.addVerseCards([{ reference: 'Isaiah 40:31' }, { reference: 'Isaiah 41:10' }]);
  await eventually(() => expect(committed).toBe(1));
  const inFlight = await first.db.syncOperations.where('status').equals('inFlight').primaryKeys();
  expect(inFlight.length).toBeGreaterThan(0);
  expect(sent.flatMap((b) => b.operations.map((o) => o.id)).sort()).toEqual([...inFlight].sort());
  // The follower sent nothing: one request so far, and it came from the leader's batch.
  expect(sent).toHaveLength(1);
  expect(first.sync.getMetrics().requestsSent).toBe(0); // still waiting for the answer

  fault = undefined;
  await first.close(); // the leader's tab closes mid-request
  await eventually(() => expect(second.sync.isLeader).toBe(true));
  await second.data.addVerseCard('Philippians 4:13');
  await eventually(async () => {
    expect(await second.db.syncOperations.count()).toBe(0);
    expect(second.sync.getState().syncing).toBe(false);
  });

  expect(await serverCounts(userId)).toEqual({ cards: 6, ledger: 6 });
  const resent = sent.slice(1).flatMap((b) => b.operations.map((o) => o.id));
  expect(resent).toEqual(expect.arrayContaining(inFlight)); // the new leader re-sent the in-flight batch
  expect(new Set(sent.flatMap((b) => b.operations.map((o) => o.id))).size).toBe(6);
});

test('a follower nudges the leader over BroadcastChannel: its writes go out without waiting for the leader to write', async () => {
  const userId = randomUUID();
  const dbName = `tabs-${randomUUID()}`;
  const leader = { locks: createMemoryLocks() };
  const first = await device({ userId, dbName, service: { leader } });
  const second = await device({ userId, dbName, service: { leader } });
  await eventually(() => expect(first.sync.isLeader).toBe(true));
  await second.data.addVerseCard('Jeremiah 29:11', undefined, { priority: 'immediate' });
  await eventually(async () => expect(await serverCounts(userId)).toEqual({ cards: 1, ledger: 1 }));
  await eventually(() => expect(first.sync.getMetrics().opsAcked).toBe(1)); // acknowledged by the leader's batch
});

test('without the leader option a service uploads at once, as before', async () => {
  const d = await device();
  expect(d.sync.isLeader).toBe(true);
  await d.data.addVerseCard('Psalm 23:1');
  await eventually(async () => expect(await serverCounts(d.userId)).toEqual({ cards: 1, ledger: 1 }));
});

test('onLeadershipChange tells a tab when it starts and stops uploading', async () => {
  const userId = randomUUID();
  const dbName = `tabs-${randomUUID()}`;
  const leader = { locks: createMemoryLocks() };
  const first = await device({ userId, dbName, service: { leader } });
  await eventually(() => expect(first.sync.isLeader).toBe(true));
  const second = await device({ userId, dbName, service: { leader } });
  const heard: boolean[] = [];
  const unsubscribe = second.sync.onLeadershipChange((isLeader) => heard.push(isLeader));
  expect(second.sync.isLeader).toBe(false);
  await first.close();
  await eventually(() => expect(heard).toEqual([true]));
  expect(second.sync.isLeader).toBe(true);
  expect(second.sync.actor.getSnapshot().status).toBe('active');
  await second.sync.stop();
  expect(heard).toEqual([true, false]);
  unsubscribe();
});

test('a leader the browser freezes steps down: the other tab takes over and re-sends its batch; after resume it is a follower', async () => {
  const userId = randomUUID();
  const dbName = `tabs-${randomUUID()}`;
  const locks = createMemoryLocks();
  const pageOne = new EventTarget(); // each tab's document, for the Page Lifecycle events
  const pageTwo = new EventTarget();
  const first = await device({ userId, dbName, service: { leader: { locks, lifecycle: pageOne } } });
  await eventually(() => expect(first.sync.isLeader).toBe(true));
  const second = await device({ userId, dbName, service: { leader: { locks, lifecycle: pageTwo } } });
  expect(second.sync.isLeader).toBe(false);

  // The leader's request reaches the server and commits; its answer never comes (the tab froze).
  let committed = 0;
  fault = async (req, real) => {
    await real(req);
    committed++;
    return new Promise<Response>(() => {});
  };
  await first.data.addVerseCards([{ reference: 'Micah 6:8' }, { reference: 'Micah 7:18' }]);
  await eventually(() => expect(committed).toBe(1));
  fault = undefined;
  pageOne.dispatchEvent(new Event('freeze'));
  expect(first.sync.isLeader).toBe(false); // stepped down at once, within the event

  await eventually(() => expect(second.sync.isLeader).toBe(true));
  await eventually(async () => expect(await second.db.syncOperations.count()).toBe(0));
  expect(await serverCounts(userId)).toEqual({ cards: 2, ledger: 2 });
  expect(sent.length).toBeGreaterThanOrEqual(2); // re-sent by the new leader

  // Back from the freeze, the first tab queues for the lock: a follower whose writes the leader sends.
  pageOne.dispatchEvent(new Event('resume'));
  await first.data.addVerseCard('Nahum 1:7', undefined, { priority: 'immediate' });
  await eventually(async () => expect(await serverCounts(userId)).toEqual({ cards: 3, ledger: 3 }));
  expect(first.sync.isLeader).toBe(false);
  // And when the leader closes, the resumed tab takes over again.
  await second.close();
  await eventually(() => expect(first.sync.isLeader).toBe(true));
});
