// A server blip never costs the user a change: under the product's default options (windows,
// backoff, maxRetries, the latency probe), a 90 s outage of every request, the function's own 503
// when its database is away, and a reload in the middle of a backoff.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_BATCH_CONFIG } from '../../machines/types.ts';
import { RETRY_BACKOFF_DEFAULTS } from '../../machines/retryBackoff.machine.ts';
import type { SyncState } from '../../src/service/BatchSyncService.ts';
import { startFaultProxy, type FaultProxy } from '../../src/stack/faultProxy.ts';
import { startStack, type Stack } from '../../src/stack/index.ts';
import { eventually, openDevice, type TestDevice } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

/** What openDevice tunes for speed, put back to the product's defaults. */
const DEFAULTS = { network: undefined, queue: undefined, requestTimeoutMs: undefined, probeLatency: undefined };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function unsynced(d: TestDevice): Promise<number> {
  return (await d.db.syncOperations.toArray()).length;
}

describe('through a fault proxy', () => {
  const stack = useStack();
  let proxy: FaultProxy;
  const devices: TestDevice[] = [];
  beforeEach(async () => {
    proxy = await startFaultProxy({ target: stack().url, rate: 0 });
  });
  // Batches only: the latency probe's GETs go through the proxy too.
  const posts = () => proxy.log.filter((e) => e.method === 'POST').length;
  const queueOf = (d: TestDevice) =>
    (d.sync.actor.system.get('queue') as { getSnapshot(): { value: unknown; context: { attempt: number } } }).getSnapshot();
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
    await proxy.close();
  });

  test(
    'a 90 s outage with a card and a review written every 3 s: nothing refused or lost, all synced within the cap plus a window',
    async () => {
      const d = await openDevice(stack(), { url: proxy.url, service: DEFAULTS });
      devices.push(d);
      const first = await d.data.addVerseCard('Isaiah 40:31');
      await eventually(async () => expect(await unsynced(d)).toBe(0), 30_000);

      proxy.setOutage(true);
      const outageStarted = Date.now();
      const cards = [first];
      const reviews: string[] = [];
      while (Date.now() - outageStarted < 90_000) {
        cards.push(await d.data.addVerseCard(`Psalm ${cards.length}:1`));
        reviews.push((await d.data.recordReview(cards[cards.length - 2].id, cards.length % 2 === 0)).id);
        await sleep(3_000);
      }
      const failed = proxy.log.filter((e) => e.method === 'POST' && e.at >= outageStarted && e.fault !== 'pass').length;
      expect(failed).toBeGreaterThan(3);
      // Still failing, nothing given up on: every change waits in the queue, none is a dead letter.
      const during = d.sync.getState();
      expect(during).toMatchObject({ deadLetters: 0, lastError: expect.objectContaining({ kind: expect.any(String) }) });
      expect(during.failingSince!.getTime()).toBeGreaterThanOrEqual(outageStarted);
      expect(during.pending).toBe(cards.length - 1 + reviews.length);

      proxy.setOutage(false);
      const back = Date.now();
      let quality: SyncState['quality'] = d.sync.getState().quality;
      await eventually(async () => {
        quality = d.sync.getState().quality;
        expect(await unsynced(d)).toBe(0);
      }, 150_000, 100);
      const tookMs = Date.now() - back;
      // The longest wait the backoff may draw, then one batch window of the quality it ended on
      // (and a second for the request itself).
      expect(tookMs).toBeLessThanOrEqual(RETRY_BACKOFF_DEFAULTS.capMs + DEFAULT_BATCH_CONFIG[quality].timeoutMs + 1_000);

      const { sql } = stack();
      const cardRows = await sql`select id from public.verse_cards where user_id = ${d.userId}`;
      expect(new Set(cardRows.map((r) => r.id))).toEqual(new Set(cards.map((c) => c.id)));
      const reviewRows = await sql`select id from public.review_logs where user_id = ${d.userId}`;
      expect(new Set(reviewRows.map((r) => r.id))).toEqual(new Set(reviews));
      expect(d.sync.getState()).toMatchObject({ deadLetters: 0, lastError: null, failingSince: null });
      console.log(`outage: ${failed} requests failed over 90 s; ${cards.length + reviews.length - 1} changes synced ${tookMs} ms after the server came back`);
    },
    300_000,
  );

  test(
    'a reload in the middle of a backoff keeps the attempt and the retry time, and the retry comes then',
    async () => {
      // A draw near the top of each ceiling, so the waits are long enough to reload inside one.
      const service = { ...DEFAULTS, queue: { random: () => 0.95 } };
      const d = await openDevice(stack(), { url: proxy.url, service });
      devices.push(d);
      proxy.setOutage(true);
      await d.data.addVerseCard('John 3:16', undefined, { priority: 'immediate' });
      // Three failed batches: the third wait is 0.95 × 4 s, room enough to reload inside it.
      await eventually(() => expect(posts()).toBe(3), 20_000, 10);
      await eventually(() => expect(queueOf(d).context.attempt).toBe(3), 5_000, 10);
      const before = d.sync.getState();
      expect(before.nextRetryAt).not.toBeNull();

      await d.restart(service);
      const after = d.sync.getState();
      const queue = queueOf(d);
      expect(queue.value).toEqual({ transfer: 'idle', schedule: 'backoff' });
      expect(queue.context.attempt).toBe(3);
      expect(after.nextRetryAt?.getTime()).toBe(before.nextRetryAt!.getTime());
      expect(after.failingSince?.getTime()).toBe(before.failingSince!.getTime());
      // No request before the retry time; one within a second after it.
      const due = after.nextRetryAt!.getTime();
      await sleep(Math.max(0, due - Date.now() - 100));
      expect(posts()).toBe(3);
      await eventually(() => expect(posts()).toBe(4), 5_000, 10);
      expect(proxy.log.filter((e) => e.method === 'POST')[3].at - due).toBeLessThan(1_000);
      proxy.setOutage(false);
      await eventually(async () => expect(await unsynced(d)).toBe(0), 90_000, 100);
    },
    120_000,
  );
});

/** A TCP pass-through to Postgres that can be cut (every connection destroyed, new ones refused) and restored. */
async function startCuttableTcp(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server?.listening) return resolve();
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      if (!server?.listening) return;
      await new Promise<void>((resolve) => {
        server!.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    restore: listen,
  };
}

describe("the function's own 503 when its database is unreachable", () => {
  test(
    'UNAVAILABLE with Retry-After, produced by cutting the database; the client rides it out and loses nothing',
    async () => {
      // The cut sits between the function and a real PostgreSQL server (.ci/run sets DATABASE_URL);
      // without one this fails and says so, never skips.
      const serverUrl = process.env.DATABASE_URL ?? 'no DATABASE_URL: this test needs a PostgreSQL server';
      expect(serverUrl).toMatch(/^postgres(ql)?:\/\//);
      const target = new URL(serverUrl);
      const tcp = await startCuttableTcp({ host: target.hostname, port: Number(target.port || 5432) });
      const viaCut = new URL(serverUrl);
      viaCut.hostname = '127.0.0.1';
      viaCut.port = String(tcp.port);
      let stack: Stack | undefined;
      let d: TestDevice | undefined;
      try {
        stack = await startStack({ databaseUrl: viaCut.toString(), isolateDatabase: true });
        d = await openDevice(stack, { service: DEFAULTS });
        await d.data.addVerseCard('Romans 8:28', undefined, { priority: 'immediate' });
        await eventually(async () => expect(await unsynced(d!)).toBe(0), 30_000);

        await tcp.cut();
        const card = await d.data.addVerseCard('Romans 8:29', undefined, { priority: 'immediate' });
        await eventually(() => expect(d!.sync.getState().lastError).toMatchObject({ kind: 'server', status: 503, code: 'UNAVAILABLE' }), 30_000);
        // Retry-After is a floor: the next try is at least a second away.
        const state = d.sync.getState();
        expect(state.nextRetryAt!.getTime() - Date.now()).toBeGreaterThan(0);
        expect(state.deadLetters).toBe(0);
        await sleep(3_000);
        expect(await d.db.syncOperations.where('status').equals('dead').count()).toBe(0);

        await tcp.restore();
        await eventually(async () => expect(await unsynced(d!)).toBe(0), 90_000, 100);
        const rows = await stack.sql`select id from public.verse_cards where id = ${card.id}`;
        expect(rows).toHaveLength(1);
        expect(d.sync.getState()).toMatchObject({ lastError: null, deadLetters: 0 });
      } finally {
        await d?.close();
        await tcp.restore().catch(() => undefined);
        await stack?.stop();
        await tcp.cut();
      }
    },
    180_000,
  );
});
