// Times the outbox's own transactions with a 10,000-op backlog (what a write waits behind while it drains).
import 'fake-indexeddb/auto';
import { randomUUID } from 'node:crypto';
import { createVersesDb } from '../src/db/index.ts';
import { createDataService } from '../src/service/dataService.ts';
import { claimBatch, coalesceQueued, countPending, recordResults } from '../src/outbox/index.ts';

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  console.log(`${label}: ${(performance.now() - t).toFixed(1)} ms`);
  return out;
}

async function main() {
  const backlog = Number(process.argv[2] ?? 10_000);
  const db = createVersesDb(`probe-${randomUUID()}`);
  const userId = randomUUID();
  const data = createDataService({ db, getUserId: () => userId });
  let n = 0;
  for (let i = 0; i < backlog; i += 1000) await data.addVerseCards(Array.from({ length: 1000 }, () => ({ reference: `Psalm ${1 + (++n % 150)}:${1 + (Math.floor(n / 150) % 999)}` })));
  for (let round = 0; round < 3; round++) {
    await time(`coalesceQueued (${backlog} queued)`, () => coalesceQueued(db));
    await time('countPending(user)', () => countPending(db, userId));
    const batchId = randomUUID();
    const claimed = await time('claimBatch 500', () => claimBatch(db, { batchId, maxOps: 500, maxBytes: 768 * 1024 }, { userId }));
    await time('recordResults 500', () => recordResults(db, { batchId, results: claimed!.operations.map((o) => ({ id: o.id, success: true, appliedAt: new Date().toISOString() })) }));
    await time('addVerseCard', () => data.addVerseCard(`John ${1 + (++n % 21)}:${1 + (Math.floor(n / 21) % 999)}`));
  }
}
main();
