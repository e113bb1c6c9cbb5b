// Enqueue cost and memory with 1k, 10k and 100k ops queued: the same writes made once with
// the orchestrator running (offline, so everything stays queued) and once without it.
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Dexie } from 'dexie';
import { createVersesDb } from '../src/db/index.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService } from '../src/service/dataService.ts';
import type { BenchEnv } from './env.ts';

export type EnqueueLevel = {
  queued: number;
  /** The median of the rounds below. */
  perOpUs: number;
  /** Three rounds of single writes at this level, one after another, to show the spread. */
  perOpUsRounds: number[];
  floorPerOpUs: number;
  floorPerOpUsRounds: number[];
  /** Per op of the imports (1,000 at a time) that filled the queue up to this level; null below 1,000. */
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

async function fillAndMeasure(env: BenchEnv, withOrchestrator: boolean, levels: number[], sampleWrites: number, onStep: () => void): Promise<Run> {
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
  let queued = 0;
  const out: Run['levels'] = [];
  for (const level of levels) {
    // Bring the queue to `level` with bulk writes of up to 1,000 (an import), then time single writes.
    const perRound = Math.max(1, Math.floor(sampleWrites / ROUNDS));
    const target = level - perRound * ROUNDS;
    let bulkMs = 0;
    let bulkOps = 0;
    while (queued < target) {
      const size = Math.min(1000, target - queued);
      const t = performance.now();
      await data.addVerseCards(Array.from({ length: size }, () => ({ reference: ref() })));
      bulkMs += performance.now() - t;
      bulkOps += size;
      queued += size;
    }
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      for (let i = 0; i < perRound; i++) await data.addVerseCard(ref());
      queued += perRound;
      rounds.push(((performance.now() - t) * 1000) / perRound);
    }
    out.push({ queued, perOpUs: median(rounds), perOpUsRounds: rounds, bulkPerOpUs: bulkOps >= 1000 ? (bulkMs * 1000) / bulkOps : null });
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

export async function benchEnqueue(env: BenchEnv, options: { levels?: number[]; sampleWrites: number; onStep?: () => void }): Promise<EnqueueResult> {
  const levels = options.levels ?? [1_000, 10_000, 100_000];
  const step = options.onStep ?? (() => {});
  const without = await fillAndMeasure(env, false, levels, options.sampleWrites, step);
  const withIt = await fillAndMeasure(env, true, levels, options.sampleWrites, step);
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
