// BatchSyncService through the real stack: dataService → Dexie outbox → machines → supabase-js → function → Postgres.
import { randomUUID } from 'node:crypto';
import type { WebHandler } from '../../src/stack/http.ts';
import WebSocket from 'ws';
import { createVersesDb } from '../../src/db/index.ts';
import { BatchSyncService } from '../../src/service/BatchSyncService.ts';
import { createDataService } from '../../src/service/dataService.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { eventually, FAST_NETWORK, useDevices, type TestDevice } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

type Sent = { batchId: string; operations: Array<{ id: string; seq: number; type: string }> };
const sent: Sent[] = [];
let fault: ((req: Request, real: WebHandler) => Promise<Response>) | undefined;
const stack = useStack({
  wrapFunction: (real) => async (req) => {
    const body = (await req.clone().json().catch(() => null)) as Sent | null;
    if (body?.operations) sent.push(body);
    return fault ? fault(req, real) : real(req);
  },
});

beforeEach(() => {
  sent.length = 0;
  fault = undefined;
});
const device = useDevices(stack);

async function serverCounts(userId: string) {
  const [row] = await stack().sql`
    select (select count(*) from verse_cards where user_id = ${userId})::int as cards,
           (select count(*) from verse_cards where user_id = ${userId} and deleted_at is not null)::int as deleted,
           (select count(*) from review_logs where user_id = ${userId})::int as reviews,
           (select count(*) from verse_aliases where user_id = ${userId})::int as aliases,
           (select count(*) from sync_ledger where user_id = ${userId})::int as ledger`;
  return row;
}

const drained = async (d: TestDevice) => {
  const state = d.sync.getState();
  expect(state.pending).toBe(0);
  expect(state.syncing).toBe(false);
  expect(await d.db.syncOperations.count()).toBe(0);
};

test('200 mixed operations reach Postgres exactly once, in seq order, in few requests', async () => {
  // Coalescing off: every one of the 200 ops must travel (merging is tested below).
  const d = await device({ service: { coalesce: false } });
  const cards = await d.data.addVerseCards(Array.from({ length: 40 }, (_, i) => ({ reference: `Proverbs ${i + 1}:1` })));
  for (let i = 0; i < 100; i++) await d.data.recordReview(cards[i % 40].id, i % 3 !== 0);
  for (let i = 0; i < 20; i++) await d.data.createAlias(cards[i].id, `alias ${i}`);
  for (let i = 0; i < 30; i++) await d.data.updateProfile({ dailyGoal: i + 1 });
  for (let i = 30; i < 40; i++) await d.data.deleteVerse(cards[i].id);

  await eventually(() => drained(d));
  expect(await serverCounts(d.userId)).toEqual({ cards: 40, deleted: 10, reviews: 100, aliases: 20, ledger: 200 });
  const [profile] = await stack().sql`select daily_goal from profiles where user_id = ${d.userId}`;
  expect(profile.daily_goal).toBe(30);

  const ops = sent.flatMap((b) => b.operations);
  expect(new Set(ops.map((o) => o.id)).size).toBe(200);
  expect(ops).toHaveLength(200); // nothing sent twice without a fault
  const seqs = ops.map((o) => o.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(sent.length).toBeLessThan(200 / 5);
  const local = await d.db.verseCards.toArray();
  expect(local.every((c) => c.syncedAt !== undefined && c.remoteId !== undefined)).toBe(true);
  console.log(`200 ops in ${sent.length} requests; metrics ${JSON.stringify({ ...d.sync.getMetrics(), queueSizeHistory: undefined })}`);
});

test('offline: writes stay local; online: the queue drains', async () => {
  const d = await device();
  d.sync.setOnline(false);
  await eventually(() => expect(d.sync.getState().paused).toBe('offline'));
  for (let i = 0; i < 5; i++) await d.data.addVerseCard(`Genesis ${i + 1}:1`);
  await eventually(() => expect(d.sync.getState()).toMatchObject({ pending: 5, online: false }));
  expect(sent).toHaveLength(0);
  await expect(d.sync.forceSyncAll()).rejects.toMatchObject({ code: 'OFFLINE' });

  d.sync.setOnline(true);
  await eventually(() => drained(d));
  expect(await serverCounts(d.userId)).toMatchObject({ cards: 5, ledger: 5 });
  expect(d.sync.getState().lastSync).toBeInstanceOf(Date);
});

test('an older profile edit from this device loses to a newer one from another: the device takes the server profile, with a notice', async () => {
  const a = await device();
  const b = await device({ userId: a.userId });
  a.sync.setOnline(false);
  await eventually(() => expect(a.sync.getState().paused).toBe('offline'));
  await a.data.updateProfile({ displayName: 'Naomi', dailyGoal: 3 });
  await new Promise((r) => setTimeout(r, 5)); // b's edit is later by the clock
  await b.data.updateProfile({ displayName: 'Ruth', translation: 'KJV' });
  await eventually(() => drained(b));

  a.sync.setOnline(true);
  await eventually(() => drained(a));
  const [server] = await stack().sql`select display_name, translation, daily_goal from profiles where user_id = ${a.userId}`;
  expect(server).toEqual({ display_name: 'Ruth', translation: 'KJV', daily_goal: null });
  expect(await a.db.profile.get(a.userId)).toMatchObject({ displayName: 'Ruth', translation: 'KJV', syncedAt: expect.any(String) });
  expect((await a.db.profile.get(a.userId))?.dailyGoal).toBeUndefined();
  const notices = await a.db.notices.toArray();
  expect(notices).toEqual([expect.objectContaining({ kind: 'PROFILE_SUPERSEDED', message: expect.stringContaining('name "Ruth"') })]);
  expect(notices[0].message).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  expect(await a.db.syncOperations.where('status').equals('dead').count()).toBe(0);
});

test('a client restarted with a batch in flight re-sends on start; the server keeps one copy', async () => {
  const d = await device();
  let committed = 0;
  // The server commits, the answer never comes back.
  fault = async (req, real) => {
    await real(req);
    committed++;
    return new Promise<Response>(() => {});
  };
  await d.data.addVerseCards([{ reference: 'Micah 6:8' }, { reference: 'Amos 5:24' }], { priority: 'immediate' });
  await eventually(() => expect(committed).toBe(1));
  expect(await d.db.syncOperations.where('status').equals('inFlight').count()).toBe(2);

  fault = undefined;
  await d.restart(); // stop mid-request, start again on the same database
  await eventually(() => drained(d));
  expect(sent).toHaveLength(2);
  expect(sent[1].operations.map((o) => o.id)).toEqual(sent[0].operations.map((o) => o.id));
  expect(await serverCounts(d.userId)).toMatchObject({ cards: 2, ledger: 2 });
});

test('a poisoned op lands in dead letters while the rest sync', async () => {
  const d = await device();
  const card = await d.data.addVerseCard('Joshua 1:9');
  const poisonId = await d.sync.queueOperation({
    type: 'RECORD_REVIEW',
    payload: { reviewId: randomUUID(), verseCardId: randomUUID(), correct: true, reviewDate: new Date().toISOString() },
  });
  await d.data.recordReview(card.id, true);
  // Only the poisoned op is left, dead with the server's reason; nothing queued or in flight.
  await eventually(async () =>
    expect(await d.db.syncOperations.toArray()).toEqual([
      expect.objectContaining({ id: poisonId, status: 'dead', lastError: expect.objectContaining({ code: 'CARD_NOT_FOUND' }) }),
    ]),
  );
  expect(await serverCounts(d.userId)).toMatchObject({ cards: 1, reviews: 1, ledger: 2 });
  await eventually(() => expect(d.sync.getState().deadLetters).toBe(1));
});

test('a 401 mid-queue refreshes the session and continues without spending a retry', async () => {
  const userId = randomUUID();
  const expired = await stack().tokenFor(userId, { expiresIn: -5 });
  let refreshes = 0;
  const d = await device({
    userId,
    token: expired,
    service: {
      refreshSession: async () => {
        refreshes++;
        d.setToken(await stack().tokenFor(userId));
        return true;
      },
    },
  });
  await d.data.addVerseCard('Psalm 46:10');
  await d.data.updateProfile({ displayName: 'Hannah' });
  await eventually(() => drained(d));
  expect(refreshes).toBe(1);
  expect(sent.length).toBeGreaterThanOrEqual(2);
  expect(await serverCounts(userId)).toMatchObject({ cards: 1, ledger: 2 });
  const batches = await d.db.syncBatches.toArray();
  expect(batches.some((b) => b.status === 'failed')).toBe(true);
  expect(d.sync.getMetrics().batchesFailed).toBeGreaterThanOrEqual(1);
});

test('a server error is retried with backoff until it succeeds', async () => {
  const d = await device();
  let failures = 2;
  fault = async (req, real) => {
    if (failures-- > 0) return new Response(JSON.stringify({ error: { code: 'SERVER_ERROR', message: 'boom' } }), { status: 500, headers: { 'Content-Type': 'application/json' } });
    return real(req);
  };
  await d.data.addVerseCard('Lamentations 3:22');
  await eventually(() => drained(d));
  expect(sent).toHaveLength(3);
  expect(await serverCounts(d.userId)).toMatchObject({ cards: 1, ledger: 1 });
});

test('ops that need not travel do not: create+delete cancel with their reviews and aliases, profile updates merge', async () => {
  const d = await device();
  d.sync.setOnline(false);
  await eventually(() => expect(d.sync.getState().paused).toBe('offline'));
  const kept = await d.data.addVerseCard('Hebrews 11:1');
  const gone = await d.data.addVerseCard('Hebrews 11:2');
  await d.data.recordReview(gone.id, true);
  await d.data.createAlias(gone.id, 'elders');
  await d.data.deleteVerse(gone.id);
  await d.data.updateProfile({ displayName: 'Phoebe' });
  await d.data.updateProfile({ dailyGoal: 4 });
  await d.data.updateProfile({ displayName: 'Phoebe of Cenchreae' });

  d.sync.setOnline(true);
  await eventually(() => drained(d));
  const types = sent.flatMap((b) => b.operations.map((o) => o.type));
  expect(types.sort()).toEqual(['CREATE_VERSE', 'UPDATE_PROFILE']);
  expect(await serverCounts(d.userId)).toEqual({ cards: 1, deleted: 0, reviews: 0, aliases: 0, ledger: 2 });
  const [card] = await stack().sql`select id from verse_cards where user_id = ${d.userId}`;
  expect(card.id).toBe(kept.id);
  const [profile] = await stack().sql`select display_name, daily_goal from profiles where user_id = ${d.userId}`;
  expect(profile).toEqual({ display_name: 'Phoebe of Cenchreae', daily_goal: 4 });
});

test("one device, two users: the first user's ops are never sent under the second user's token; they go when that user is back", async () => {
  const alice: string = randomUUID();
  const bob: string = randomUUID();
  const tokens = new Map<string, string>([[alice, await stack().tokenFor(alice)], [bob, await stack().tokenFor(bob)]]);
  let current: string | undefined = alice;
  const db = createVersesDb(`two-users-${randomUUID()}`);
  const client = createSupabaseClient({ url: stack().url, anonKey: stack().anonKey, accessToken: async () => (current ? tokens.get(current)! : null), webSocket: WebSocket });
  const sync = new BatchSyncService({ db, client, getUserId: () => current, probeLatency: async () => 5, networkEvents: 'none', network: FAST_NETWORK });
  const data = createDataService({ db, getUserId: () => current, onEnqueued: sync.notifyEnqueued });
  const ledger = async (userId: string) => (await stack().sql`select op_id from sync_ledger where user_id = ${userId}`).map((r) => r.op_id as string);
  await sync.start();
  try {
    sync.setOnline(false);
    await eventually(() => expect(sync.getState().paused).toBe('offline'));
    await data.addVerseCards([{ reference: 'Ruth 1:16' }, { reference: 'Ruth 1:17' }]); // Alice's
    current = undefined; // signed out: queued ops carry no user
    await data.addVerseCard('Ruth 2:12');
    current = bob; // Bob signs in on the same device
    await sync.sessionStarted();
    await data.addVerseCard('Ruth 4:14');
    sync.setOnline(true);

    await eventually(async () => expect(await ledger(bob)).toHaveLength(2)); // his own op and the adopted one
    await new Promise((r) => setTimeout(r, 300));
    expect(await ledger(alice)).toEqual([]);
    const aliceOps = (await db.syncOperations.toArray()).filter((o) => o.userId === alice);
    expect(aliceOps.map((o) => o.status)).toEqual(['queued', 'queued']);
    const sentIds = new Set(sent.flatMap((b) => b.operations.map((o) => o.id)));
    expect(aliceOps.filter((o) => sentIds.has(o.id))).toEqual([]);
    const [{ n }] = await stack().sql`select count(*)::int as n from verse_cards where user_id = ${bob}`;
    expect(n).toBe(2);

    current = alice; // Alice is back
    await sync.sessionStarted();
    await eventually(async () => expect(await ledger(alice)).toHaveLength(2));
    await eventually(async () => expect(await db.syncOperations.count()).toBe(0));
  } finally {
    await sync.stop();
    db.close();
  }
});
