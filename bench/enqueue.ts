// Enqueue cost and memory with 1k, 10k and 100k ops queued: the same writes made once with
// the orchestrator running (offline, so everything stays queued) and once without it. The queue
// is seeded up to each level (bench/seedQueue.ts), and only the data service's writes are timed.
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Dexie } from 'dexie';
import { createVersesDb } from '../src/db/index.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService } from '../src/service/dataService.ts';
import type { BenchEnv } from './env.ts';
import { seedQueue } from './seedQueue.ts';

const fmtInt = (x: number) => x.toLocaleString('en-US');

export type EnqueueLevel = {
  queued: number;
  /** The median of the rounds below. */
  perOpUs: number;
  /** Three rounds of single writes at this level, one after another, to show the spread. */
  perOpUsRounds: number[];
  floorPerOpUs: number;
  floorPerOpUsRounds: number[];
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

let n = 0;
// A real book: the client refuses a reference whose book it does not know before writing anything.
const ref = () => {
  const i = n++;
  return `Psalm ${1 + (i % 150)}:${1 + Math.floor(i / 150)}`;
};

type Run = { levels: Array<{ queued: number; perOpUs: number; perOpUsRounds: number[]; bulkPerOpUs: number | null }>; heapBytes: number };

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Below a level the queue is seeded (bench/seedQueue.ts: the rows imports of new cards write,
// 10,000 a transaction), then one real import of 1,000 is timed (the bulk column) where the level
// leaves room for it, then the single writes: the timed part is always the data service's write
// with its outbox op.
const IMPORT = 1000;

async function fillAndMeasure(env: BenchEnv, withOrchestrator: boolean, levels: number[], sampleWrites: number, progress: (line: string) => void, onStep: () => void): Promise<Run> {
  const base = await settledHeap();
  const db = createVersesDb(`bench-enqueue-${randomUUID()}`);
  await db.open();
  let sync: BatchSyncService | undefined;
  const { userId, client } = await env.newUser();
  if (withOrchestrator) {
    sync = new BatchSyncService({ db, client, getUserId: () => userId, probeLatency: async () => 20, networkEvents: 'none', online: false });
    await sync.start();
  }
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync?.notifyEnqueued });
  const who = withOrchestrator ? 'with the orchestrator' : 'floor, no orchestrator';
  let queued = 0;
  const out: Run['levels'] = [];
  for (const level of levels) {
    const perRound = Math.max(1, Math.floor(sampleWrites / ROUNDS));
    const target = level - perRound * ROUNDS;
    const importing = target - queued >= IMPORT;
    const seed = Math.max(0, target - queued - (importing ? IMPORT : 0));
    if (seed > 0) {
      const t = performance.now();
      // The orchestrator hears of each chunk as it would of an import's commit.
      await seedQueue(db, { count: seed, userId, nextReference: ref, onChunk: (added) => sync?.notifyEnqueued({ priority: 'normal', count: added }) });
      queued += seed;
      progress(`enqueue (Node, ${who}): seeded ${fmtInt(seed)} ops to ${fmtInt(queued)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    let bulkPerOpUs: number | null = null;
    if (importing) {
      const t = performance.now();
      await data.addVerseCards(Array.from({ length: IMPORT }, () => ({ reference: ref() })));
      bulkPerOpUs = ((performance.now() - t) * 1000) / IMPORT;
      queued += IMPORT;
      progress(`enqueue (Node, ${who}): one import of ${fmtInt(IMPORT)} to ${fmtInt(queued)} in ${(bulkPerOpUs / 1000).toFixed(1)} s`);
    }
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      for (let i = 0; i < perRound; i++) await data.addVerseCard(ref());
      queued += perRound;
      rounds.push(((performance.now() - t) * 1000) / perRound);
    }
    progress(`enqueue (Node, ${who}): ${ROUNDS} rounds of ${perRound} single writes at ${fmtInt(level)} queued: ${rounds.map((x) => x.toFixed(0)).join(', ')} µs per op`);
    out.push({ queued, perOpUs: median(rounds), perOpUsRounds: rounds, bulkPerOpUs });
    onStep();
  }
  // Let the orchestrator catch up with what it was told (counts, snapshots) before weighing it.
  await new Promise((r) => setTimeout(r, 200));
  const heapBytes = (await settledHeap()) - base;
  if (sync) await sync.stop();
  db.close();
  await Dexie.delete(db.name);
  await settledHeap();
  return { levels: out, heapBytes };
}

export async function benchEnqueue(env: BenchEnv, options: { levels?: number[]; sampleWrites: number; onStep?: () => void; progress?: (line: string) => void }): Promise<EnqueueResult> {
  const levels = options.levels ?? [1_000, 10_000, 100_000];
  const step = options.onStep ?? (() => {});
  const progress = options.progress ?? (() => {});
  const without = await fillAndMeasure(env, false, levels, options.sampleWrites, progress, step);
  const withIt = await fillAndMeasure(env, true, levels, options.sampleWrites, progress, step);
  const MB = 1024 * 1024;
  return {
    levels: withIt.levels.map((l, i) => ({
      queued: l.queued,
      perOpUs: l.perOpUs,
      perOpUsRounds: l.perOpUsRounds,
      floorPerOpUs: without.levels[i].perOpUs,
      floorPerOpUsRounds: without.levels[i].perOpUsRounds,
      bulkPerOpUs: l.bulkPerOpUs,
    })),
    heapMbWith: withIt.heapBytes / MB,
    heapMbWithout: without.heapBytes / MB,
    heapMbAdded: (withIt.heapBytes - without.heapBytes) / MB,
    sampleWrites: options.sampleWrites,
  };
}
