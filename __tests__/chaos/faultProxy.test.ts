// The fault proxy: each fault does what it says, the same seed gives the same faults,
// and verses-sync loses and duplicates nothing through 30% faults of every kind.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../src/stack/faultProxy.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { createTransport } from '../../src/transport/transport.ts';
import { eventually, openDevice, type TestDevice } from '../helpers/client.ts';
import { op } from '../helpers/ops.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack();
let proxy: FaultProxy;
beforeEach(async () => {
  proxy = await startFaultProxy({ target: stack().url, seed: 7, rate: 0, delayMs: 50 });
});
afterEach(() => proxy.close());

async function upload(fault: FaultKind, signal?: AbortSignal) {
  proxy.script([fault]);
  const userId = randomUUID();
  const token = await stack().tokenFor(userId);
  const client = createSupabaseClient({ url: proxy.url, anonKey: stack().anonKey, accessToken: async () => token, webSocket: WebSocket });
  const create = op.createVerse();
  const result = await createTransport({ client }).upload({ batchId: randomUUID(), operations: [create] }, signal);
  const [{ n }] = await stack().sql`select count(*)::int as n from sync_ledger where user_id = ${userId}`;
  return { result, applied: n };
}

test.each([
  ['pass', { ok: true }, 1],
  ['delay', { ok: true }, 1],
  ['dropRequest', { ok: false, failure: expect.objectContaining({ kind: 'network' }) }, 0],
  ['reset', { ok: false, failure: expect.objectContaining({ kind: 'network' }) }, 0],
  ['dropResponse', { ok: false, failure: expect.objectContaining({ kind: 'network' }) }, 1],
  ['error500', { ok: false, failure: expect.objectContaining({ kind: 'server', status: 500 }) }, 0],
  ['rateLimit', { ok: false, failure: expect.objectContaining({ kind: 'rateLimited', retryAfterMs: 1000 }) }, 0],
] as const)('%s', async (fault, expected, applied) => {
  const outcome = await upload(fault);
  expect(outcome.result).toMatchObject(expected);
  expect(outcome.applied).toBe(applied);
  expect(proxy.log.at(-1)).toMatchObject({ fault, method: 'POST', path: '/functions/v1/verse-operations' });
});

test('hang: the client gives up at its timeout', async () => {
  const outcome = await upload('hang', AbortSignal.timeout(200));
  expect(outcome.result).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
});

test('the same seed gives the same faults', async () => {
  const fates = async (seed: number) => {
    const p = await startFaultProxy({ target: stack().url, seed, rate: 0.5, kinds: ['error500', 'rateLimit'] });
    for (let i = 0; i < 20; i++) await fetch(`${p.url}/functions/v1/verse-operations`, { method: 'POST', body: '{}' }).then((r) => r.arrayBuffer());
    await p.close();
    return p.log.map((e) => e.fault);
  };
  const a = await fates(42);
  expect(await fates(42)).toEqual(a);
  expect(a.some((f) => f !== 'pass')).toBe(true);
  expect(a.some((f) => f === 'pass')).toBe(true);
});

test('30% faults of every kind: every op lands once, nothing is lost, the queue drains', async () => {
  proxy.setRate(0.3);
  const fast = { requestTimeoutMs: 1_000, coalesce: false, queue: { backoff: { baseMs: 20, capMs: 200, maxAttempts: 10 } } };
  const sharedUser = randomUUID();
  const devices: TestDevice[] = [
    await openDevice(stack(), { url: proxy.url, service: fast }),
    await openDevice(stack(), { url: proxy.url, service: fast, userId: sharedUser }),
    await openDevice(stack(), { url: proxy.url, service: fast, userId: sharedUser }), // the same user on a second device
  ];
  try {
    const issued = new Map<string, number>();
    await Promise.all(
      devices.map(async (d) => {
        const cards = await d.data.addVerseCards(Array.from({ length: 10 }, (_, i) => ({ reference: `Psalm ${i + 100}:1` })));
        for (let i = 0; i < 30; i++) await d.data.recordReview(cards[i % 10].id, i % 2 === 0);
        for (let i = 0; i < 5; i++) await d.data.createAlias(cards[i].id, `a${i}`);
        await d.data.updateProfile({ dailyGoal: 3 });
        await d.data.deleteVerse(cards[9].id);
        issued.set(d.userId, (issued.get(d.userId) ?? 0) + 47);
      }),
    );
    await eventually(async () => {
      for (const d of devices) expect(await d.db.syncOperations.count()).toBe(0);
    }, 60_000);
    proxy.setRate(0);
    const counts = proxy.counts();
    console.log(`fault proxy chaos: ${JSON.stringify(counts)}`);
    expect(counts.pass).toBeGreaterThan(0);
    expect(Object.entries(counts).filter(([k, v]) => k !== 'pass' && v > 0).length).toBeGreaterThanOrEqual(4);
    for (const [userId, ops] of issued) {
      const [row] = await stack().sql`
        select (select count(*) from sync_ledger where user_id = ${userId})::int as ledger,
               (select count(*) from review_logs where user_id = ${userId})::int as reviews,
               (select count(*) from verse_cards where user_id = ${userId})::int as cards,
               (select count(*) from verse_cards where user_id = ${userId} and deleted_at is not null)::int as deleted`;
      const devicesOfUser = ops / 47;
      // Lost = 0 and duplicated = 0: the ledger holds exactly the ops issued; reviews exactly once.
      expect(row).toEqual({ ledger: ops, reviews: 30 * devicesOfUser, cards: 10 * devicesOfUser, deleted: devicesOfUser });
    }
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
});

test('a create whose answer was lost is not coalesced away: a later delete still reaches the server', async () => {
  const d = await openDevice(stack(), { url: proxy.url, service: { queue: { backoff: { baseMs: 20, capMs: 100, maxAttempts: 10 } } } });
  try {
    proxy.script(['dropResponse']); // the server applies the create, the client never hears
    const card = await d.data.addVerseCard('Obadiah 1:1', undefined, { priority: 'immediate' });
    await eventually(() => expect(proxy.log.some((e) => e.fault === 'dropResponse')).toBe(true));
    await d.data.deleteVerse(card.id);
    await eventually(async () => expect(await d.db.syncOperations.count()).toBe(0));
    const [row] = await stack().sql`select deleted_at from verse_cards where id = ${card.id}`;
    expect(row.deleted_at).toBeInstanceOf(Date);
  } finally {
    await d.close();
  }
});
