// Enqueue cost and memory with 1k, 10k and 100k ops queued: the same writes made with the
// orchestrator running (offline, so everything stays queued) and without it (the floor). Each
// queue is seeded up to its level (bench/seedQueue.ts); only the data service's writes are timed.
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Dexie } from 'dexie';
import { createVersesDb, type VersesDb } from '../src/db/index.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../src/service/dataService.ts';
import type { BenchEnv } from './env.ts';
import { benchReferences, seedQueue } from './seedQueue.ts';

const fmtInt = (x: number) => x.toLocaleString('en-US');

export type EnqueueLevel = {
  queued: number;
  /** The median of the rounds below. */
  perOpUs: number;
  /** Three rounds of single writes at this level (taking turns with the other levels and the floor), to show the spread. */
  perOpUsRounds: number[];
  /** Each round's median per op (a round's mean counts every gc pause it met). */
  p50UsRounds: number[];
  floorPerOpUs: number;
  floorPerOpUsRounds: number[];
  floorP50UsRounds: number[];
  /** Per op of one import of 1,000 (addVerseCards) just below this level; null where the level leaves no room for it. */
  bulkPerOpUs: number | null;
};
export type EnqueueResult = { levels: EnqueueLevel[]; heapMbWith: number; heapMbWithout: number; heapMbAdded: number; sampleWrites: number };

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Below a level the queue is seeded (bench/seedQueue.ts: the rows imports of new cards write,
// 10,000 a transaction), then one real import of 1,000 is timed (the bulk column) where the level
// leaves room for it, then the single writes: the timed part is always the data service's write
// with its outbox op.
const IMPORT = 1000;

type Device = {
  level: number;
  withOrchestrator: boolean;
  db: VersesDb;
  userId: string;
  sync?: BatchSyncService;
  data: DataService;
  ref: () => string;
  queued: number;
  rounds: number[];
  p50Rounds: number[];
  bulkPerOpUs: number | null;
  close(): Promise<void>;
};

async function openDevice(env: BenchEnv, level: number, withOrchestrator: boolean): Promise<Device> {
  const db = createVersesDb(`bench-enqueue-${randomUUID()}`);
  await db.open();
  let sync: BatchSyncService | undefined;
  const { userId, client } = await env.newUser();
  if (withOrchestrator) {
    sync = new BatchSyncService({ db, client, getUserId: () => userId, probeLatency: async () => 20, networkEvents: 'none', online: false });
    await sync.start();
  }
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync?.notifyEnqueued });
  return {
    level,
    withOrchestrator,
    db,
    userId,
    sync,
    data,
    ref: benchReferences(),
    queued: 0,
    rounds: [],
    p50Rounds: [],
    bulkPerOpUs: null,
    async close() {
      if (sync) await sync.stop();
      db.close();
      await Dexie.delete(db.name);
    },
  };
}

// One database per level and per path (with the orchestrator, and the floor without it), each
// filled to its level first; then the rounds of single writes take turns across all of them, so a
// change in the machine's load falls on every level and both paths alike instead of on whichever
// was measured last.
async function measure(env: BenchEnv, levels: number[], sampleWrites: number, progress: (line: string) => void, onStep: () => void) {
  const perRound = Math.max(1, Math.floor(sampleWrites / ROUNDS));
  const devices: Device[] = [];
  // The heap each path's queue at the last level adds, weighed when it is filled (after gc, the
  // orchestrator given time to catch up with what it was told: counts, snapshots).
  const heap = new Map<boolean, number>();
  const last = levels[levels.length - 1];
  for (const level of levels) {
    for (const withOrchestrator of [false, true]) {
      const before = level === last ? await settledHeap() : 0;
      const d = await openDevice(env, level, withOrchestrator);
      devices.push(d);
      const who = withOrchestrator ? 'with the orchestrator' : 'floor, no orchestrator';
      // The timed writes start at the level: a third of them before the first round's end, as before.
      const target = level - perRound * ROUNDS;
      const importing = target >= IMPORT;
      const seed = Math.max(0, target - (importing ? IMPORT : 0));
      if (seed > 0) {
        const t = performance.now();
        // The orchestrator hears of each chunk as it would of an import's commit.
        await seedQueue(d.db, { count: seed, userId: d.userId, nextReference: d.ref, onChunk: (added) => d.sync?.notifyEnqueued({ priority: 'normal', count: added }) });
        d.queued += seed;
        progress(`enqueue (Node, ${who}): seeded ${fmtInt(seed)} ops in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      if (importing) {
        const t = performance.now();
        await d.data.addVerseCards(Array.from({ length: IMPORT }, () => ({ reference: d.ref() })));
        d.bulkPerOpUs = ((performance.now() - t) * 1000) / IMPORT;
        d.queued += IMPORT;
        progress(`enqueue (Node, ${who}): one import of ${fmtInt(IMPORT)} to ${fmtInt(d.queued)} in ${((d.bulkPerOpUs * IMPORT) / 1e6).toFixed(1)} s`);
      }
      if (level === last) {
        await new Promise((r) => setTimeout(r, 200));
        heap.set(withOrchestrator, (await settledHeap()) - before);
      }
    }
  }
  // Within a round the queues take turns write by write, so a gc pause or a burst of load on the
  // machine falls on every queue alike; each round gives each queue's mean and median.
  for (let r = 0; r < ROUNDS; r++) {
    const samples = new Map<Device, number[]>(devices.map((d) => [d, []]));
    for (let i = 0; i < perRound; i++) {
      for (const d of devices) {
        const t = performance.now();
        await d.data.addVerseCard(d.ref());
        samples.get(d)!.push((performance.now() - t) * 1000);
      }
    }
    for (const d of devices) {
      const xs = samples.get(d)!;
      d.queued += perRound;
      d.rounds.push(xs.reduce((a, b) => a + b, 0) / xs.length);
      d.p50Rounds.push(median(xs));
    }
    progress(`enqueue (Node): round ${r + 1} of ${ROUNDS}, ${perRound} single writes a queue, mean (p50) µs: ${devices.map((d) => `${fmtInt(d.level)}${d.withOrchestrator ? '' : ' floor'} ${d.rounds[r].toFixed(0)} (${d.p50Rounds[r].toFixed(0)})`).join(', ')}`);
    onStep();
  }
  const levelsOut = levels.map((level) => {
    const of = (withOrchestrator: boolean) => devices.find((d) => d.level === level && d.withOrchestrator === withOrchestrator)!;
    const w = of(true);
    const f = of(false);
    return { queued: w.queued, perOpUs: median(w.rounds), perOpUsRounds: w.rounds, p50UsRounds: w.p50Rounds, floorPerOpUs: median(f.rounds), floorPerOpUsRounds: f.rounds, floorP50UsRounds: f.p50Rounds, bulkPerOpUs: w.bulkPerOpUs };
  });
  for (const d of devices) await d.close();
  return { levels: levelsOut, heapBytesWith: heap.get(true) ?? 0, heapBytesWithout: heap.get(false) ?? 0 };
}

export async function benchEnqueue(env: BenchEnv, options: { levels?: number[]; sampleWrites: number; onStep?: () => void; progress?: (line: string) => void }): Promise<EnqueueResult> {
  const levels = options.levels ?? [1_000, 10_000, 100_000];
  const run = await measure(env, levels, options.sampleWrites, options.progress ?? (() => {}), options.onStep ?? (() => {}));
  const MB = 1024 * 1024;
  return {
    levels: run.levels,
    heapMbWith: run.heapBytesWith / MB,
    heapMbWithout: run.heapBytesWithout / MB,
    heapMbAdded: (run.heapBytesWith - run.heapBytesWithout) / MB,
    sampleWrites: options.sampleWrites,
  };
}
