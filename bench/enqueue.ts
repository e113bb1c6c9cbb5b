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

export type EnqueueLevel = { queued: number; perOpUs: number; floorPerOpUs: number; bulkPerOpUs: number };
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

type Run = { levels: Array<{ queued: number; perOpUs: number; bulkPerOpUs: number }>; heapBytes: number };

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
  let bulkMs = 0;
  let bulkOps = 0;
  for (const level of levels) {
    // Bring the queue to `level` with bulk writes of up to 1,000 (an import), then time single writes.
    const target = level - sampleWrites;
    while (queued < target) {
      const size = Math.min(1000, target - queued);
      const t = performance.now();
      await data.addVerseCards(Array.from({ length: size }, () => ({ reference: ref() })));
      bulkMs += performance.now() - t;
      bulkOps += size;
      queued += size;
    }
    const t = performance.now();
    for (let i = 0; i < sampleWrites; i++) await data.addVerseCard(ref());
    queued += sampleWrites;
    out.push({ queued, perOpUs: ((performance.now() - t) * 1000) / sampleWrites, bulkPerOpUs: bulkOps ? (bulkMs * 1000) / bulkOps : 0 });
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
    levels: withIt.levels.map((l, i) => ({ queued: l.queued, perOpUs: l.perOpUs, floorPerOpUs: without.levels[i].perOpUs, bulkPerOpUs: l.bulkPerOpUs })),
    heapMbWith: withIt.heapBytes / MB,
    heapMbWithout: without.heapBytes / MB,
    heapMbAdded: (withIt.heapBytes - without.heapBytes) / MB,
    sampleWrites: options.sampleWrites,
  };
}
