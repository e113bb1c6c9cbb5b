// The browser bench's page: verses-sync, the bare-Dexie floor and the peers (Replicache,
// TanStack DB with @tanstack/offline-transactions) on this page's real IndexedDB. The runner
// (bench/browser.ts) calls window.bench; every request leaves through the latency proxy (?url=).
import { Dexie } from 'dexie';
import { Replicache, TEST_LICENSE_KEY, type WriteTransaction } from 'replicache';
import { createCollection, localOnlyCollectionOptions } from '@tanstack/db';
import { IndexedDBAdapter, startOfflineExecutor } from '@tanstack/offline-transactions';
import type { Action } from '../../load/session.ts';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import type { SyncOperation, Verse, VerseCard } from '../../src/db/types.ts';
import { BatchSyncService } from '../../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../../src/service/dataService.ts';
import { claimBatch, coalesceQueued, recordResults } from '../../src/outbox/index.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { benchReferences, seedQueue } from '../seedQueue.ts';
import type { BatchCosts, BenchApi, Samples, SyncRun, System } from './protocol.ts';

const params = new URLSearchParams(location.search);
const url = params.get('url') ?? '';
const anonKey = params.get('anonKey') ?? '';
declare global {
  interface Window {
    bench: BenchApi;
    /** Exposed by the runner: a fresh user and a token for them. */
    newUser(): Promise<{ userId: string; token: string }>;
  }
}

// Every request of every system, counted by whose it is (supabase-js, Replicache and our
// TanStack mutation function all use the global fetch).
const counts: Record<System, { requests: number; opRequests: number }> = {
  versesSync: { requests: 0, opRequests: 0 },
  replicache: { requests: 0, opRequests: 0 },
  tanstack: { requests: 0, opRequests: 0 },
};
const pushListeners = new Set<() => void>();
const nativeFetch = window.fetch.bind(window);
window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const { pathname } = new URL(target, location.href);
  const system: System | null = pathname.startsWith('/functions/v1/') ? 'versesSync' : pathname.startsWith('/peer/replicache/') ? 'replicache' : pathname.startsWith('/peer/tanstack/') ? 'tanstack' : null;
  if (system) {
    counts[system].requests++;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (method === 'POST' && !pathname.endsWith('/pull')) counts[system].opRequests++;
  }
  const response = await nativeFetch(input, init);
  // Replicache learns that a push was applied from its next pull, which a server's poke
  // triggers; this endpoint's poke is delivered the moment the push is answered.
  if (system === 'replicache' && pathname.endsWith('/push') && response.ok) pushListeners.forEach((l) => l());
  return response;
};
const resetCounts = (s: System) => (counts[s] = { requests: 0, opRequests: 0 });

let refCounter = 0;
const uniqueRef = () => {
  const n = refCounter++;
  return `Psalm ${1 + (n % 150)}:${1 + Math.floor(n / 150)}`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uuid = () => crypto.randomUUID();

async function timed(writes: number, warmup: number, write: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await write();
  const samples: number[] = [];
  for (let i = 0; i < writes; i++) {
    const t = performance.now();
    await write();
    samples.push(performance.now() - t);
  }
  return samples;
}

// The rows addVerseCard writes for a new card: the card, its verse (the local catalogue) and,
// for an outbox, the op.
function cardRows(userId: string) {
  const now = new Date();
  const iso = now.toISOString();
  const reference = uniqueRef();
  const verse: Verse = { id: uuid(), reference, translation: 'ESV' };
  const card: VerseCard = { id: uuid(), verseId: verse.id, reference, createdAt: iso, updatedAt: iso, nextReviewAt: iso, reviewCount: 0, correctCount: 0, userId };
  return { now, card, verse };
}

async function dropDb(db: VersesDb) {
  db.close();
  await Dexie.delete(db.name);
}

// ---- verses-sync -------------------------------------------------------------------------

async function openVersesSync(options: { online: boolean; defaults?: boolean }) {
  const { userId, token } = await window.newUser();
  const db = createVersesDb(`bench-vs-${uuid()}`);
  const client = createSupabaseClient({ url, anonKey, accessToken: async () => token });
  const sync = new BatchSyncService(
    options.defaults
      ? { db, client, getUserId: () => userId }
      : // The local-write sections hold the quality at excellent (a fixed probe, no browser
        // network events), as the Node bench does, so every run drains the same way.
        { db, client, getUserId: () => userId, probeLatency: async () => 20, networkEvents: 'none', online: options.online },
  );
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync.notifyEnqueued });
  await sync.start();
  for (let i = 0; options.online && !options.defaults && sync.getState().quality !== 'excellent'; i++) {
    if (i > 5000) throw new Error('verses-sync did not settle on excellent');
    await sleep(2);
  }
  return {
    db,
    sync,
    data,
    userId,
    async close() {
      await sync.stop();
      await dropDb(db);
    },
  };
}

async function unsynced(db: VersesDb): Promise<number> {
  const range = (s: string) => db.syncOperations.where('[status+seq]').between([s, Dexie.minKey], [s, Dexie.maxKey]).count();
  return (await range('queued')) + (await range('inFlight'));
}

async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20) {
  const end = performance.now() + timeoutMs;
  while (!(await test())) {
    if (performance.now() > end) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

// ---- Replicache ---------------------------------------------------------------------------

type CardArgs = { card: VerseCard; verse: Verse };
const replicacheMutators = {
  async addVerseCard(tx: WriteTransaction, { card, verse }: CardArgs) {
    await tx.set(`verse/${verse.id}`, verse);
    await tx.set(`card/${card.id}`, card);
  },
  async importVerseCards(tx: WriteTransaction, rows: CardArgs[]) {
    for (const { card, verse } of rows) {
      await tx.set(`verse/${verse.id}`, verse);
      await tx.set(`card/${card.id}`, card);
    }
  },
  async recordReview(tx: WriteTransaction, review: { id: string; cardId: string; correct: boolean; reviewedAt: string }) {
    await tx.set(`review/${review.id}`, review);
    const card = (await tx.get(`card/${review.cardId}`)) as VerseCard | undefined;
    if (card) await tx.set(`card/${card.id}`, { ...card, reviewCount: card.reviewCount + 1, correctCount: card.correctCount + (review.correct ? 1 : 0), updatedAt: review.reviewedAt });
  },
  async updateProfile(tx: WriteTransaction, patch: { dailyGoal?: number; displayName?: string }) {
    const profile = ((await tx.get('profile')) as { dailyGoal?: number; displayName?: string } | undefined) ?? {};
    await tx.set('profile', { ...profile, ...patch });
  },
};

async function openReplicache() {
  const rep = new Replicache({
    name: `bench-rep-${uuid()}`,
    licenseKey: TEST_LICENSE_KEY,
    pushURL: `${url}/peer/replicache/push`,
    pullURL: `${url}/peer/replicache/pull`,
    mutators: replicacheMutators,
    // Its defaults: IndexedDB, pushDelay 10 ms, pullInterval 60 s.
  });
  const onPush = () => void rep.pull();
  pushListeners.add(onPush);
  const settled = async () => (await rep.experimentalPendingMutations()).length === 0;
  return {
    rep,
    settled,
    async close() {
      pushListeners.delete(onPush);
      const name = rep.idbName;
      await rep.close();
      await new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(name);
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      });
    },
  };
}

// ---- TanStack DB + @tanstack/offline-transactions ------------------------------------------

type Row = { id: string } & Record<string, unknown>;

/** The executor's IndexedDB outbox, telling when a write has reached it. */
class ObservedIndexedDB extends IndexedDBAdapter {
  listeners = new Set<(key: string) => void>();
  override async set(key: string, value: string): Promise<void> {
    await super.set(key, value);
    this.listeners.forEach((l) => l(key));
  }
}

async function openTanstack() {
  const suffix = uuid();
  const cards = createCollection(localOnlyCollectionOptions<Row>({ id: `cards-${suffix}`, getKey: (r) => r.id }));
  const verses = createCollection(localOnlyCollectionOptions<Row>({ id: `verses-${suffix}`, getKey: (r) => r.id }));
  const other = createCollection(localOnlyCollectionOptions<Row>({ id: `other-${suffix}`, getKey: (r) => r.id }));
  const storage = new ObservedIndexedDB(`bench-tanstack-${suffix}`, 'transactions');
  let acked = 0;
  const executor = startOfflineExecutor({
    collections: { cards, verses, other },
    storage,
    mutationFns: {
      // One request per transaction, as the executor runs them (FIFO, one at a time).
      syncVerses: async ({ transaction, idempotencyKey }) => {
        const mutations = transaction.mutations.map((m) => ({ type: m.type, key: String(m.key), collection: m.collection.id, modified: m.modified }));
        const response = await fetch(`${url}/peer/tanstack/mutate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ idempotencyKey, mutations }),
        });
        if (!response.ok) throw new Error(`the endpoint answered ${response.status}`);
        const { applied } = (await response.json()) as { applied: number };
        acked += applied;
        for (const c of [cards, verses, other]) c.utils.acceptMutations(transaction);
      },
    },
  });
  await executor.waitForInit();
  if (!executor.isOfflineEnabled) throw new Error('the TanStack offline executor did not become leader (no IndexedDB outbox)');
  /** Runs `write` in one offline transaction; resolves when it is in the outbox, and gives the ack's promise. */
  const write = async (write: () => void): Promise<{ acked: Promise<unknown> }> => {
    const tx = executor.createOfflineTransaction({ mutationFnName: 'syncVerses', autoCommit: false });
    const persisted = new Promise<void>((resolve) => {
      const l = (key: string) => {
        if (key.includes(tx.id)) {
          storage.listeners.delete(l);
          resolve();
        }
      };
      storage.listeners.add(l);
    });
    tx.mutate(write);
    const committed = tx.commit();
    committed.catch(() => {});
    await persisted;
    return { acked: committed };
  };
  return {
    cards,
    verses,
    other,
    write,
    acked: () => acked,
    async close() {
      executor.dispose();
      await new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(`bench-tanstack-${suffix}`);
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      });
    },
  };
}

// ---- the API ---------------------------------------------------------------------------------

const ACK_TIMEOUT_MS = 30 * 60_000;

const api: BenchApi = {
  async floor(writes, warmup): Promise<Samples> {
    const db = createVersesDb(`bench-floor-${uuid()}`);
    let seq = 1;
    const samples = await timed(writes, warmup, async () => {
      const { now, card, verse } = cardRows('u');
      const op: SyncOperation = {
        id: uuid(), type: 'CREATE_VERSE', payload: { verseCardId: card.id, reference: card.reference, translation: 'ESV' }, timestamp: now.getTime(),
        priority: 'normal', retryCount: 0, maxRetries: 3, status: 'queued', seq: seq++, localRecordId: card.id, userId: 'u',
      };
      await db.transaction('rw', db.verseCards, db.verses, db.syncOperations, async () => {
        await db.verses.add(verse);
        await db.verseCards.add(card);
        await db.syncOperations.add(op);
      });
    });
    await dropDb(db);
    return { samples };
  },

  async idle(writes, warmup) {
    const device = await openVersesSync({ online: true });
    const samples = await timed(writes, warmup, () => device.data.addVerseCard(uniqueRef()));
    await until(async () => (await unsynced(device.db)) === 0, ACK_TIMEOUT_MS, 'the idle writes being acknowledged', 50);
    await device.close();
    return { samples };
  },

  async batchCosts(batches, opsPerBatch): Promise<BatchCosts> {
    const { userId } = await window.newUser();
    const db = createVersesDb(`bench-costs-${uuid()}`);
    const data = createDataService({ db, getUserId: () => userId });
    const noCosts = (): BatchCosts => ({ writeMs: [], coalesceMs: [], claimMs: [], settleMs: [] });
    const costs = noCosts();
    const time = async <T>(into: number[], run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const result = await run();
      into.push(performance.now() - t);
      return result;
    };
    // The first batches warm the page's code and the database up; they are not counted.
    const warm = Math.min(5, batches);
    for (let b = 0; b < warm + batches; b++) {
      const sink = b < warm ? noCosts() : costs;
      for (let i = 0; i < opsPerBatch; i++) await time(sink.writeMs, () => data.addVerseCard(uniqueRef()));
      await time(sink.coalesceMs, () => coalesceQueued(db));
      const claimed = await time(sink.claimMs, () => claimBatch(db, { batchId: uuid(), maxOps: opsPerBatch, maxBytes: 700_000 }, { userId }));
      if (!claimed || claimed.operations.length !== opsPerBatch) throw new Error(`batchCosts: claimed ${claimed?.operations.length ?? 0} of ${opsPerBatch} ops`);
      // The function's answer to new cards (a catalogue verse id each; no ESV text on this stack).
      const appliedAt = new Date().toISOString();
      const results = claimed.operations.map((op) => ({ id: op.id, success: true as const, remoteId: uuid(), appliedAt }));
      const outcome = await time(sink.settleMs, () => recordResults(db, { batchId: claimed.batchId, results }));
      if (outcome.succeeded !== opsPerBatch) throw new Error(`batchCosts: settled ${outcome.succeeded} of ${opsPerBatch} ops`);
    }
    await dropDb(db);
    return costs;
  },

  async draining(backlog, writes, warmup) {
    const device = await openVersesSync({ online: false });
    for (let i = 0; i < backlog; i += 1000) await device.data.addVerseCards(Array.from({ length: Math.min(1000, backlog - i) }, () => ({ reference: uniqueRef() })));
    for (let i = 0; i < warmup; i++) await device.data.addVerseCard(uniqueRef());
    const queuedAtStart = await unsynced(device.db);
    device.sync.setOnline(true);
    const samples = await timed(writes, 0, () => device.data.addVerseCard(uniqueRef()));
    const backlogLeftAtEnd = await unsynced(device.db);
    const drainedDuringWrites = queuedAtStart + writes - backlogLeftAtEnd;
    await until(async () => (await unsynced(device.db)) === 0, ACK_TIMEOUT_MS, 'the backlog draining', 100);
    await device.close();
    return { samples, backlogLeftAtEnd, drainedDuringWrites };
  },

  async enqueue(levels, sample, rounds, settleMs) {
    // Per level two devices, each seeded to the level with the rows imports of new cards write
    // (bench/seedQueue.ts, 10,000 a transaction): verses-sync (its offline orchestrator told of
    // each chunk as of an import) and the floor (the same data service writes, no orchestrator).
    // Then the rounds of timed writes take turns across all four, so a change in the machine's
    // load falls on every queue alike.
    type Queue = { level: number; floor: boolean; data: DataService; ref: () => string; close(): Promise<void> };
    const queues: Queue[] = [];
    for (const level of levels) {
      for (const floor of [false, true]) {
        let queue: Queue;
        let db: VersesDb;
        let notify: ((added: number) => void) | undefined;
        if (floor) {
          const { userId } = await window.newUser();
          const floorDb = createVersesDb(`bench-floor-${uuid()}`);
          db = floorDb;
          queue = { level, floor, data: createDataService({ db: floorDb, getUserId: () => userId }), ref: benchReferences(), close: () => dropDb(floorDb) };
          const t = performance.now();
          await seedQueue(db, { count: level, userId, nextReference: queue.ref });
          console.log(`[progress] enqueue (Chromium, floor): seeded ${level.toLocaleString('en-US')} ops in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        } else {
          const device = await openVersesSync({ online: false });
          db = device.db;
          notify = (added) => device.sync.notifyEnqueued({ priority: 'normal', count: added });
          queue = { level, floor, data: device.data, ref: benchReferences(), close: () => device.close() };
          const t = performance.now();
          await seedQueue(db, { count: level, userId: device.userId, nextReference: queue.ref, onChunk: notify });
          console.log(`[progress] enqueue (Chromium, verses-sync): seeded ${level.toLocaleString('en-US')} ops in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        }
        queues.push(queue);
      }
    }
    if (settleMs > 0) {
      console.log(`[progress] enqueue (Chromium): ${settleMs / 1000} s idle after the seeding`);
      await sleep(settleMs);
    }
    // Within a round the queues take turns write by write, so a burst of load on the machine
    // falls on all four; each round gives each queue's mean and median.
    const stat = (xs: number[]) => ({ mean: (xs.reduce((a, b) => a + b, 0) / xs.length) * 1000, p50: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 1000 });
    const out: Array<Array<{ queued: number; perOpUs: number; floorPerOpUs: number; p50Us: number; floorP50Us: number }>> = [];
    for (let r = 0; r < rounds; r++) {
      const samples = new Map<Queue, number[]>(queues.map((q) => [q, []]));
      for (let i = 0; i < sample; i++) {
        for (const q of queues) {
          const t = performance.now();
          await q.data.addVerseCard(q.ref());
          samples.get(q)!.push(performance.now() - t);
        }
      }
      const of = (level: number, floor: boolean) => stat(samples.get(queues.find((q) => q.level === level && q.floor === floor)!)!);
      const round = levels.map((level) => {
        const w = of(level, false);
        const f = of(level, true);
        return { queued: level, perOpUs: w.mean, floorPerOpUs: f.mean, p50Us: w.p50, floorP50Us: f.p50 };
      });
      out.push(round);
      console.log(`[progress] enqueue (Chromium): round ${r + 1} of ${rounds}, ${sample} single writes a queue, mean (p50) µs: ${round.map((x) => `${x.queued.toLocaleString('en-US')} queued ${x.perOpUs.toFixed(0)} (${x.p50Us.toFixed(0)}), floor ${x.floorPerOpUs.toFixed(0)} (${x.floorP50Us.toFixed(0)})`).join('; ')}`);
    }
    for (const q of queues) await q.close();
    return out;
  },

  async peerWrites(system, writes, warmup) {
    if (system === 'replicache') {
      const r = await openReplicache();
      const samples = await timed(writes, warmup, () => r.rep.mutate.addVerseCard(cardRows('u')));
      await until(r.settled, ACK_TIMEOUT_MS, 'Replicache acknowledging the writes', 50);
      await r.close();
      return { samples };
    }
    const t = await openTanstack();
    const acks: Array<Promise<unknown>> = [];
    const samples = await timed(writes, warmup, async () => {
      const { card, verse } = cardRows('u');
      const { acked } = await t.write(() => {
        t.verses.insert(verse);
        t.cards.insert(card);
      });
      acks.push(acked);
    });
    await Promise.all(acks);
    await t.close();
    return { samples };
  },

  async importRun(system, refs) {
    resetCounts(system);
    const ops = refs.length;
    if (system === 'versesSync') {
      const device = await openVersesSync({ online: true, defaults: true });
      resetCounts(system);
      const t = performance.now();
      await device.data.addVerseCards(refs.map((reference) => ({ reference })));
      await until(async () => (await unsynced(device.db)) === 0, ACK_TIMEOUT_MS, 'the import being acknowledged');
      const msToAcked = performance.now() - t;
      const left = await unsynced(device.db);
      await device.close();
      return { system, ops, opsAcked: ops - left, ...counts[system], msToAcked };
    }
    const rows = refs.map(() => cardRows('u'));
    if (system === 'replicache') {
      const r = await openReplicache();
      await until(async () => counts.replicache.requests > 0, 10_000, 'Replicache pulling at start').catch(() => {});
      await sleep(500);
      resetCounts(system);
      const t = performance.now();
      await r.rep.mutate.importVerseCards(rows);
      await until(r.settled, ACK_TIMEOUT_MS, 'Replicache acknowledging the import');
      const msToAcked = performance.now() - t;
      await r.close();
      return { system, ops, opsAcked: ops, ...counts[system], msToAcked };
    }
    const tq = await openTanstack();
    resetCounts(system);
    const t = performance.now();
    const { acked } = await tq.write(() => {
      tq.verses.insert(rows.map((r) => r.verse));
      tq.cards.insert(rows.map((r) => r.card));
    });
    await acked;
    const msToAcked = performance.now() - t;
    const opsAcked = tq.acked() / 2; // a card and its verse per op
    await tq.close();
    return { system, ops, opsAcked, ...counts[system], msToAcked };
  },

  async pacedRun(system, actions) {
    const start = performance.now();
    const at = async (ms: number) => {
      const wait = start + ms - performance.now();
      if (wait > 0) await sleep(wait);
    };
    const cards: string[] = [];
    const cardOf = (i: number) => cards[Math.min(i, cards.length - 1)];
    let lastWrite = 0;
    if (system === 'versesSync') {
      const device = await openVersesSync({ online: true, defaults: true });
      resetCounts(system);
      const t = performance.now();
      for (const a of actions) {
        await at(a.at);
        if (a.kind === 'add') cards.push((await device.data.addVerseCard(a.ref)).id);
        else if (a.kind === 'review') await device.data.recordReview(cardOf(a.card), a.correct);
        else await device.data.updateProfile(a.patch);
        lastWrite = performance.now();
      }
      await until(async () => (await unsynced(device.db)) === 0, ACK_TIMEOUT_MS, 'the session being acknowledged', 50);
      const done = performance.now();
      await device.close();
      return { system, ops: actions.length, opsAcked: actions.length, ...counts[system], msToAcked: done - t, msAfterLastWrite: done - lastWrite } as SyncRun;
    }
    if (system === 'replicache') {
      const r = await openReplicache();
      await sleep(500);
      resetCounts(system);
      const t = performance.now();
      for (const a of actions) {
        await at(a.at);
        if (a.kind === 'add') {
          const rows = cardRows('u');
          await r.rep.mutate.addVerseCard(rows);
          cards.push(rows.card.id);
        } else if (a.kind === 'review') await r.rep.mutate.recordReview({ id: uuid(), cardId: cardOf(a.card), correct: a.correct, reviewedAt: new Date().toISOString() });
        else await r.rep.mutate.updateProfile(a.patch);
        lastWrite = performance.now();
      }
      await until(r.settled, ACK_TIMEOUT_MS, 'Replicache acknowledging the session', 50);
      const done = performance.now();
      await r.close();
      return { system, ops: actions.length, opsAcked: actions.length, ...counts[system], msToAcked: done - t, msAfterLastWrite: done - lastWrite } as SyncRun;
    }
    const tq = await openTanstack();
    resetCounts(system);
    const acks: Array<Promise<unknown>> = [];
    const t = performance.now();
    for (const a of actions) {
      await at(a.at);
      if (a.kind === 'add') {
        const rows = cardRows('u');
        cards.push(rows.card.id);
        acks.push((await tq.write(() => { tq.verses.insert(rows.verse); tq.cards.insert(rows.card); })).acked);
      } else if (a.kind === 'review') {
        const review = { id: uuid(), cardId: cardOf(a.card), correct: a.correct, reviewedAt: new Date().toISOString() };
        acks.push((await tq.write(() => tq.other.insert(review))).acked);
      } else {
        const id = 'profile';
        acks.push((await tq.write(() => (tq.other.has(id) ? tq.other.update(id, (d) => Object.assign(d, a.patch)) : tq.other.insert({ id, ...a.patch })))).acked);
      }
      lastWrite = performance.now();
    }
    await Promise.all(acks);
    const done = performance.now();
    await tq.close();
    return { system, ops: actions.length, opsAcked: actions.length, ...counts[system], msToAcked: done - t, msAfterLastWrite: done - lastWrite } as SyncRun;
  },
};

window.bench = api;
document.getElementById('status')!.textContent = 'ready';
