// Taking operations out of the outbox as a batch and settling the batch with
// the server's answer or a transport failure. Each function is one transaction.
import { Dexie } from 'dexie';
import { LIMITS, type OperationError, type WireOperation } from '../../supabase/functions/_shared/protocol.ts';
import type {
  ClaimBatchInput,
  ClaimedBatch,
  FailureKind,
  RecordOutcome,
  RecordResultsInput,
  ReleaseBatchInput,
  ReleaseOutcome,
} from '../../machines/types.ts';
import { BATCH_SEQ_META_KEY, type VersesDb } from '../db/database.ts';
import type { SyncBatch, SyncOperation } from '../db/types.ts';
import { OutboxError, storedError } from './errors.ts';
import { pruneHistory, pruneHistoryAfter, type HistoryBounds } from './history.ts';
import { countPending } from './pending.ts';
import { jsonBytes, toWireOperation } from './wire.ts';
import { WRITE_BACK_TABLES, writeBack, type Applied } from './writeBack.ts';

export type ClaimOptions = { userId?: string; now?: Date };
export type SettleOptions = {
  now?: Date;
  /** How many settled batches the history keeps (defaults: 100 completed, 1,000 failed or partial). */
  history?: Partial<HistoryBounds>;
};

// Room for the request envelope around the operations array.
const ENVELOPE_BYTES = 256;
const PAGE_SIZE = 200;
const MIN_PAGE_SIZE = 16;

/** The row back in the queue: no batch, optionally one more attempt spent. */
function requeued(op: SyncOperation, patch: Partial<SyncOperation>): SyncOperation {
  const { batchId: _batchId, ...rest } = op;
  return { ...rest, ...patch, status: 'queued' };
}

function killed(op: SyncOperation, patch: Partial<SyncOperation>): SyncOperation {
  const { batchId: _batchId, ...rest } = op;
  return { ...rest, ...patch, status: 'dead' };
}

async function inFlightOf(db: VersesDb, batchId: string): Promise<SyncOperation[]> {
  // Filter in memory: a Dexie filter() walks a cursor, which is far slower than getAll.
  const ops = await db.syncOperations.where('batchId').equals(batchId).toArray();
  return ops.filter((op) => op.status === 'inFlight').sort((a, b) => a.seq - b.seq);
}

async function requireBatch(db: VersesDb, batchId: string): Promise<SyncBatch> {
  const batch = await db.syncBatches.get(batchId);
  if (!batch) throw new OutboxError('BATCH_NOT_FOUND', `no batch '${batchId}' in the outbox; was it claimed with claimBatch?`);
  return batch;
}

/**
 * Marks the oldest queued operations (by seq) inFlight under `batchId`, up to
 * maxOps and maxBytes of JSON (at least one), and records the batch as 'syncing'.
 * Other users' operations are skipped; user-less ones are adopted. Null when nothing is queued.
 */
export async function claimBatch(db: VersesDb, input: ClaimBatchInput, options: ClaimOptions = {}): Promise<ClaimedBatch | null> {
  const { batchId } = input;
  if (!Number.isInteger(input.maxOps) || input.maxOps < 1) {
    throw new OutboxError('INVALID_OPERATION', `maxOps must be a whole number of at least 1, got ${String(input.maxOps)}`);
  }
  if (!(input.maxBytes > 0)) throw new OutboxError('INVALID_OPERATION', `maxBytes must be positive, got ${String(input.maxBytes)}`);
  const maxOps = Math.min(input.maxOps, LIMITS.maxOperations);
  const maxBytes = Math.min(input.maxBytes, LIMITS.maxBodyBytes - ENVELOPE_BYTES);
  const { userId } = options;
  const now = options.now ?? new Date();

  return db.transaction('rw', db.syncOperations, db.syncBatches, db.meta, async () => {
    if (await db.syncBatches.get(batchId)) {
      throw new OutboxError('BATCH_EXISTS', `batch id '${batchId}' was used before; claim with a fresh id`);
    }
    const taken: SyncOperation[] = [];
    const operations: WireOperation[] = [];
    let bytes = 2; // the brackets of the operations array
    let afterSeq = -Infinity;
    let full = false;
    // A small batch need not read (and clone) a whole page of the backlog.
    const pageSize = Math.min(PAGE_SIZE, Math.max(maxOps, MIN_PAGE_SIZE));

    while (!full) {
      const page = await db.syncOperations
        .where('[status+seq]')
        .between(['queued', afterSeq], ['queued', Dexie.maxKey], false, true)
        .limit(pageSize)
        .toArray();
      for (const op of page) {
        afterSeq = op.seq;
        if (op.userId !== undefined && op.userId !== userId) continue; // another user's: stays queued
        const wire = toWireOperation(op);
        const size = jsonBytes(wire) + (operations.length > 0 ? 1 : 0);
        // Stop rather than skip: a later, smaller op must not overtake this one.
        if (operations.length > 0 && bytes + size > maxBytes) {
          full = true;
          break;
        }
        bytes += size;
        operations.push(wire);
        taken.push(op);
        if (operations.length >= maxOps) {
          full = true;
          break;
        }
      }
      if (page.length < pageSize) break;
    }
    if (taken.length === 0) return null;

    await db.syncOperations.bulkPut(
      taken.map((op) => ({
        ...op,
        status: 'inFlight' as const,
        batchId,
        claimedAt: op.claimedAt ?? now.getTime(),
        ...(op.userId === undefined && userId !== undefined ? { userId } : {}),
      })),
    );
    const lastSeq = (await db.meta.get(BATCH_SEQ_META_KEY))?.value;
    const seq = (typeof lastSeq === 'number' ? lastSeq : 0) + 1;
    await db.meta.put({ key: BATCH_SEQ_META_KEY, value: seq });
    const batch: SyncBatch = {
      id: batchId,
      seq,
      status: 'syncing',
      opIds: taken.map((op) => op.id),
      opCount: taken.length,
      bytes,
      createdAt: now.toISOString(),
      successCount: 0,
      failureCount: 0,
    };
    if (userId !== undefined) batch.userId = userId;
    await db.syncBatches.add(batch);
    return { batchId, operations, bytes };
  });
}

/**
 * Settles a claimed batch with the server's per-operation results: successes
 * leave the outbox and mark their local record synced; retryable failures
 * (and operations the answer left out) go back to the queue until maxRetries;
 * the rest become dead letters.
 */
export async function recordResults(db: VersesDb, input: RecordResultsInput, options: SettleOptions = {}): Promise<RecordOutcome> {
  const now = options.now ?? new Date();
  return db.transaction('rw', ['syncOperations', 'syncBatches', ...WRITE_BACK_TABLES], async () => {
    const batch = await requireBatch(db, input.batchId);
    const ops = await inFlightOf(db, input.batchId);
    if (ops.length === 0) {
      // Already settled (or recovered); an answer arriving late changes nothing.
      const status = batch.status === 'completed' || batch.status === 'partial' ? batch.status : 'failed';
      return { status, succeeded: 0, requeued: 0, dead: 0, pending: await countPending(db, batch.userId) };
    }
    const results = new Map(input.results.map((r) => [r.id, r]));
    const applied: Applied[] = [];
    const settled: SyncOperation[] = [];
    let requeuedCount = 0;
    let dead = 0;
    let firstFailure: OperationError | undefined;

    for (const op of ops) {
      const result = results.get(op.id);
      if (result?.success === true) {
        const syncedAt = typeof result.appliedAt === 'string' && !Number.isNaN(Date.parse(result.appliedAt)) ? result.appliedAt : now.toISOString();
        applied.push({ op, result, syncedAt });
        continue;
      }
      const error: OperationError = result
        ? result.error ?? { code: 'OPERATION_FAILED', message: 'the server reported a failure without a reason', retryable: true }
        : { code: 'NO_RESULT', message: "the server's answer had no result for this operation", retryable: true };
      firstFailure ??= error;
      const retryCount = op.retryCount + 1;
      const lastError = storedError(error.code, error.message, error.retryable === true, now);
      if (error.retryable === true && retryCount < op.maxRetries) {
        settled.push(requeued(op, { retryCount, lastError }));
        requeuedCount++;
      } else {
        settled.push(killed(op, { retryCount, lastError }));
        dead++;
      }
    }
    if (applied.length > 0) await db.syncOperations.bulkDelete(applied.map((a) => a.op.id));
    if (settled.length > 0) await db.syncOperations.bulkPut(settled);
    await writeBack(db, applied);
    const succeeded = applied.length;

    const failures = requeuedCount + dead;
    const status = failures === 0 ? 'completed' : succeeded === 0 ? 'failed' : 'partial';
    const update: Partial<SyncBatch> = { status, successCount: succeeded, failureCount: failures, syncedAt: now.toISOString() };
    if (firstFailure) {
      update.errorMessage = `${failures} of ${ops.length} operations failed; first: ${firstFailure.code}: ${firstFailure.message}`.slice(0, 1000);
    }
    await db.syncBatches.put({ ...batch, ...update }); // read above in this transaction: no second get
    await pruneHistoryAfter(db, batch.seq, options.history);
    return { status, succeeded, requeued: requeuedCount, dead, pending: await countPending(db, batch.userId) };
  });
}

const FAILURE_CODES: Record<FailureKind, string> = {
  network: 'NETWORK',
  timeout: 'TIMEOUT',
  server: 'SERVER_ERROR',
  rateLimited: 'RATE_LIMITED',
  auth: 'UNAUTHORIZED',
  fatal: 'REQUEST_REJECTED',
};

/**
 * Gives a failed batch's operations back to the queue (spending an attempt only
 * when countAttempt; dead once maxRetries is reached), or, for a 'fatal'
 * failure, moves them all to dead letters. The batch row becomes 'failed'.
 * An unknown batch id changes nothing (safe to call after a claim that timed out).
 */
export async function releaseBatch(db: VersesDb, input: ReleaseBatchInput, options: SettleOptions = {}): Promise<ReleaseOutcome> {
  const now = options.now ?? new Date();
  const { failure, countAttempt } = input;
  return db.transaction('rw', db.syncOperations, db.syncBatches, async () => {
    // Unknown batch: the claim found nothing or never committed. Releasing is
    // then a no-op, so a machine may always release after a claim timeout.
    const batch = await db.syncBatches.get(input.batchId);
    if (!batch) return { requeued: 0, dead: 0, pending: await countPending(db) };
    const ops = await inFlightOf(db, input.batchId);
    const fatal = failure.kind === 'fatal';
    const lastError = storedError(failure.code ?? FAILURE_CODES[failure.kind] ?? 'REQUEST_FAILED', failure.message, !fatal, now);
    let requeuedCount = 0;
    let dead = 0;
    const settled = ops.map((op) => {
      const retryCount = countAttempt ? op.retryCount + 1 : op.retryCount;
      if (fatal || (countAttempt && retryCount >= op.maxRetries)) {
        dead++;
        return killed(op, { retryCount, lastError });
      }
      requeuedCount++;
      return requeued(op, { retryCount, lastError });
    });
    await db.syncOperations.bulkPut(settled);
    if (ops.length > 0 || batch.status === 'syncing' || batch.status === 'pending') {
      await db.syncBatches.update(batch.id, { status: 'failed', errorMessage: failure.message.slice(0, 1000), failureCount: ops.length });
    }
    await pruneHistoryAfter(db, batch.seq, options.history);
    return { requeued: requeuedCount, dead, pending: await countPending(db, batch.userId) };
  });
}

/**
 * Start-up recovery: in-flight operations of a previous session go back to the
 * queue without spending an attempt (the server's ledger makes a resend safe),
 * and unfinished batches are marked failed 'interrupted'. Returns how many ops it recovered.
 */
export async function recoverInFlight(db: VersesDb, options: Pick<SettleOptions, 'history'> = {}): Promise<number> {
  return db.transaction('rw', db.syncOperations, db.syncBatches, async () => {
    const ops = await db.syncOperations.where('[status+seq]').between(['inFlight', Dexie.minKey], ['inFlight', Dexie.maxKey]).toArray();
    await db.syncOperations.bulkPut(ops.map((op) => requeued(op, {})));
    await db.syncBatches.where('status').anyOf('syncing', 'pending').modify({ status: 'failed', errorMessage: 'interrupted' });
    await pruneHistory(db, options.history);
    return ops.length;
  });
}
