// Drives `count` batches through the real outbox (enqueue → claim → record, fake-indexeddb) in a
// plain Node process and prints what it saw as JSON. history.test.ts runs it as a child: inside
// Jest 30 every Dexie zone switch redefines the global Promise, which Jest's global proxy records
// (a list that grows with every await and is walked at teardown): 10,000 batches took minutes
// there and a fraction of that here.
import 'fake-indexeddb/auto';
import { randomUUID } from 'node:crypto';
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import { BATCH_SEQ_META_KEY, createVersesDb } from '../../src/db/index.ts';
import { claimBatch, enqueueOperations, recordResults } from '../../src/outbox/index.ts';

export type HistoryRun = {
  /** Status of every settled batch, in claim order (seq = index + 1). */
  statuses: string[];
  /** Most syncBatches rows seen, counted after every 5th batch (5 and the prune interval 4 share no factor). */
  maxRows: number;
  /** The rows kept at the end. */
  rows: Array<{ seq: number; status: string }>;
  lastSeq: number;
  opsLeft: number;
  elapsedMs: number;
  heapMb: number;
};

export const BOUNDS = { completed: 100, failed: 40 };

const ok = (id: string): OperationResult => ({ id, success: true });
const retry = (id: string): OperationResult => ({ id, success: false, error: { code: 'DEADLOCK', message: 'try again', retryable: true } });

async function run(count: number): Promise<HistoryRun> {
  const db = createVersesDb(`verses-sync-history-${randomUUID()}`);
  const enqueue = (n: number) =>
    db.transaction('rw', db.syncOperations, db.meta, () =>
      enqueueOperations(
        db,
        Array.from({ length: n }, (_, i) => {
          const verseCardId = randomUUID();
          return { type: 'CREATE_VERSE' as const, payload: { verseCardId, reference: `Ps ${i + 1}:1` }, localRecordId: verseCardId };
        }),
      ),
    );
  const settleOne = async (maxOps: number, answer: (id: string, i: number) => OperationResult) => {
    const claimed = await claimBatch(db, { batchId: randomUUID(), maxOps, maxBytes: 512 * 1024 });
    if (!claimed) return null;
    return recordResults(db, { batchId: claimed.batchId, results: claimed.operations.map((o, i) => answer(o.id, i)) }, { history: BOUNDS });
  };

  const started = Date.now();
  const statuses: string[] = [];
  let maxRows = 0;
  // A short queue (10 user-less ops at a time, refilled when empty): the cost under test is the history's, not a backlog's.
  for (let n = 0; n < count; n++) {
    if (n % 5 === 0) maxRows = Math.max(maxRows, await db.syncBatches.count());
    // Every 7th batch fails (its op goes back and is sent by the next batch), every 11th is partial.
    const partial = n % 11 === 5;
    const answer = (id: string, k: number) => (n % 7 === 3 || (partial && k === 1) ? retry(id) : ok(id));
    let outcome = await settleOne(partial ? 2 : 1, answer);
    if (!outcome) {
      await enqueue(10);
      outcome = (await settleOne(partial ? 2 : 1, answer))!;
    }
    statuses.push(outcome.status);
  }
  // Drain what the failures left behind.
  for (let outcome = await settleOne(100, ok); outcome; outcome = await settleOne(100, ok)) statuses.push(outcome.status);
  maxRows = Math.max(maxRows, await db.syncBatches.count());
  const rows = (await db.syncBatches.toArray()).map((r) => ({ seq: r.seq, status: r.status })).sort((a, b) => a.seq - b.seq);
  const result: HistoryRun = {
    statuses,
    maxRows,
    rows,
    lastSeq: (await db.meta.get(BATCH_SEQ_META_KEY))!.value as number,
    opsLeft: await db.syncOperations.count(),
    elapsedMs: Date.now() - started,
    heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
  await db.delete();
  return result;
}

if (require.main === module) {
  run(Number(process.argv[2] ?? 10_000)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
