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
import { cardOf, refusedCards } from './dependants.ts';
import { countPending } from './pending.ts';
import { settleByServer, type ServerSettled } from './serverWins.ts';
import { jsonBytes, toWireOperation } from './wire.ts';
import { readWriteBackCards, WRITE_BACK_TABLES, writeBack, type Applied } from './writeBack.ts';

export type ClaimOptions = {
  userId?: string;
  now?: Date;
  /** Told the claimed ops' ids and enqueue times once the claim is written (metrics), so nobody reads the batch back. */
  onClaimed?: (ops: ReadonlyArray<{ id: string; timestamp: number }>) => void;
};
export type RecordOptions = {
  now?: Date;
  /** The jitter of a set-aside op's wait (default Math.random). */
  random?: () => number;
  /** How many settled batches the history keeps (defaults: 100 completed, 1,000 failed or partial). */
  history?: Partial<HistoryBounds>;
};

// Room for the request envelope around the operations array.
const ENVELOPE_BYTES = 256;
const PAGE_SIZE = 200;
const MIN_PAGE_SIZE = 16;
/**
 * Most ops one claim, record or release transaction touches (a batch of 500 takes twenty). A
 * local write waits for the one running, so they are kept small: while a backlog drains, the
 * write's tail is one chunk's time.
 */
export const OPS_PER_TRANSACTION = 25;

/** The row back in the queue: no batch, optionally one more attempt spent. */
function requeued(op: SyncOperation, patch: Partial<SyncOperation>): SyncOperation {
  const { batchId: _batchId, ...rest } = op;
  return { ...rest, ...patch, status: 'queued' };
}

function toDeadLetter(op: SyncOperation, patch: Partial<SyncOperation>): SyncOperation {
  const { batchId: _batchId, ...rest } = op;
  return { ...rest, ...patch, status: 'dead' };
}

/** Out of the queue until the refused change `causeId` is retried (or discarded, with it). */
function held(op: SyncOperation, causeId: string, patch: Partial<SyncOperation> = {}): SyncOperation {
  const { batchId: _batchId, ...rest } = op;
  return { ...rest, ...patch, status: 'held', heldBy: causeId };
}

/** The longest a set-aside op waits, as a multiple of its first wait (the backoff cap). */
export const SET_ASIDE_MAX_FACTOR = 32;

/** Back in the queue as it was, out of set-aside: the server answered for it, or it gets its place back. */
function answeredFor(op: SyncOperation): SyncOperation {
  const { setAside: _setAside, nextAttemptAt: _nextAttemptAt, ...rest } = op;
  return rest;
}

/**
 * Set aside once more: the wait doubles from its first (the backoff cap), at most
 * SET_ASIDE_MAX_FACTOR times it, and lands in its upper half (jitter, so devices spread out).
 */
function setAside(op: SyncOperation, baseMs: number, now: number, random: () => number): Partial<SyncOperation> {
  const count = (op.setAside?.count ?? 0) + 1;
  const base = op.setAside?.baseMs ?? baseMs;
  const wait = Math.min(base * 2 ** (count - 1), base * SET_ASIDE_MAX_FACTOR);
  // The first time it is on trial (see SetAside); once confirmed, it stays so until answered.
  const confirmed = op.setAside?.confirmed ? { confirmed: true as const } : {};
  return { setAside: { count, baseMs: base, ...confirmed }, nextAttemptAt: now + Math.round(wait / 2 + random() * (wait / 2)) };
}

/** The queued ops set aside, on trial or confirmed, earliest due first (the index on nextAttemptAt holds only those). */
function setAsideOps(db: VersesDb): Promise<SyncOperation[]> {
  // A Dexie promise (no native await), so a caller can read it beside its other reads.
  return db.syncOperations
    .orderBy('nextAttemptAt')
    .toArray()
    .then((ops) => ops.filter((op) => op.status === 'queued' && op.setAside !== undefined));
}

/** When the first confirmed set-aside op is due, as an outcome field (absent while none is). */
async function setAsideUntil(db: VersesDb): Promise<{ setAsideUntil?: number }> {
  const first = (await setAsideOps(db)).find((op) => op.setAside!.confirmed);
  return first?.nextAttemptAt !== undefined ? { setAsideUntil: first.nextAttemptAt } : {};
}

/**
 * After a batch that was answered or failed: `userId`'s ops set aside on trial (left out of it) are
 * confirmed when the server took some of its ops, and otherwise get their place in the queue back
 * (then the server is failing on everything, not on them). `except`: the batch's own ops.
 */
async function settleTrials(db: VersesDb, userId: string | undefined, serverTookOthers: boolean, except: ReadonlySet<string>): Promise<{ setAsideUntil?: number }> {
  const asides = await setAsideOps(db);
  const trials = asides.filter(
    (op) => !op.setAside!.confirmed && !except.has(op.id) && (op.userId === undefined || userId === undefined || op.userId === userId),
  );
  if (trials.length > 0) {
    await db.syncOperations.bulkPut(trials.map((op) => (serverTookOthers ? { ...op, setAside: { ...op.setAside!, confirmed: true as const } } : answeredFor(op))));
  }
  // setAsideUntil after these writes, from the same read (earliest due first; a trial given its place back has no time).
  const first = asides.find((op) => op.setAside!.confirmed || (serverTookOthers && trials.includes(op)));
  return first?.nextAttemptAt !== undefined ? { setAsideUntil: first.nextAttemptAt } : {};
}

function inFlightOf(db: VersesDb, batchId: string): Promise<SyncOperation[]> {
  // Filter in memory: a Dexie filter() walks a cursor, which is far slower than getAll. A Dexie
  // promise (no native await), so a caller can read it beside its other reads.
  return db.syncOperations
    .where('batchId')
    .equals(batchId)
    .toArray()
    .then((ops) => ops.filter((op) => op.status === 'inFlight').sort((a, b) => a.seq - b.seq));
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
  const now = options.now ?? (input.now !== undefined ? new Date(input.now) : new Date());
  const mine = (op: SyncOperation) => op.userId === undefined || op.userId === userId;

  // Chunks of at most OPS_PER_TRANSACTION ops, one transaction each, so a local write waits for one
  // chunk, not for a whole 500-op claim. A crash between chunks leaves ops inFlight under
  // this id, which recoverInFlight gives back (the batch row, written first, says 'syncing').
  const taken: SyncOperation[] = [];
  const operations: WireOperation[] = [];
  let bytes = 2; // the brackets of the operations array
  let afterSeq = -Infinity;
  let full = false;
  let batch: SyncBatch | undefined;
  let causes: Map<string, string> | undefined;
  // Set-aside ops are never part of a larger batch: one that is due goes alone; the others, and
  // the later ops of their cards (which must not overtake them), stay queued. An op set aside on
  // trial is left out only of the batch that tests the others (`input.trial`); any other claim
  // gives it its place back first, and so does the trial claim when nothing else could go.
  let trial = input.trial === true;
  let onTrial: SyncOperation[] = [];
  let asideIds: Set<string> | undefined;
  let asideCards: Map<string, number> | undefined;
  try {
    while (!full) {
      const more = await db.transaction('rw', db.syncOperations, db.syncBatches, db.meta, async () => {
        const pageAfter = (seq: number, size: number) =>
          db.syncOperations.where('[status+seq]').between(['queued', seq], ['queued', Dexie.maxKey], false, true).limit(size).toArray();
        // Everything the chunk reads first is read at once (one wait, not five): a local write
        // waits for this whole transaction.
        const firstSize = Math.min(PAGE_SIZE, OPS_PER_TRANSACTION, Math.max(maxOps - taken.length, MIN_PAGE_SIZE));
        const [row, refused, lastSeq, setAsideRows, firstPage] = await Dexie.Promise.all([
          db.syncBatches.get(batchId),
          causes ?? refusedCards(db),
          batch ? undefined : db.meta.get(BATCH_SEQ_META_KEY),
          asideIds ? undefined : setAsideOps(db),
          pageAfter(afterSeq, firstSize),
        ]);
        if (!batch && row) throw new OutboxError('BATCH_EXISTS', `batch id '${batchId}' was used before; claim with a fresh id`);
        // A release (claim timeout) between two chunks gave back what was claimed: claim no more.
        if (batch && row?.status !== 'syncing') {
          throw new OutboxError('BATCH_RELEASED', `batch '${batchId}' was released while it was being claimed`);
        }
        const chunk: SyncOperation[] = [];
        const holding: SyncOperation[] = [];
        causes = refused;
        let next: SyncOperation[] | undefined = firstPage;
        if (!asideIds) {
          const asides = (setAsideRows ?? []).filter(mine);
          onTrial = asides.filter((op) => !op.setAside!.confirmed);
          if (!trial && onTrial.length > 0) {
            await db.syncOperations.bulkPut(onTrial.map(answeredFor));
            next = undefined; // the page read above has those rows as they were
          }
          const apart = trial ? asides : asides.filter((op) => op.setAside!.confirmed);
          asideIds = new Set(apart.map((op) => op.id));
          asideCards = new Map();
          for (const op of apart) {
            const card = cardOf(op);
            if (card !== undefined) asideCards.set(card, Math.min(asideCards.get(card) ?? Infinity, op.seq));
          }
          // The trial batch carries the others only: a due op alone would say nothing about them.
          const due = trial ? undefined : apart.find((op) => op.setAside!.confirmed && (op.nextAttemptAt ?? 0) <= now.getTime());
          if (due) {
            const wire = toWireOperation(due);
            bytes += jsonBytes(wire);
            operations.push(wire);
            chunk.push(due);
            taken.push(due);
            full = true;
          }
        }
        // A small batch (or chunk) need not read (and clone) a whole page of the backlog.
        const pageSize = Math.min(PAGE_SIZE, OPS_PER_TRANSACTION, Math.max(maxOps - taken.length, MIN_PAGE_SIZE));
        if (pageSize !== firstSize) next = undefined;
        let exhausted = false;
        while (!full && !exhausted && chunk.length < OPS_PER_TRANSACTION) {
          const page = next ?? (await pageAfter(afterSeq, pageSize));
          next = undefined;
          let read = 0;
          for (const op of page) {
            if (chunk.length >= OPS_PER_TRANSACTION) break; // the rest of the page is read again by the next chunk
            read++;
            afterSeq = op.seq;
            if (!mine(op)) continue; // another user's: stays queued
            if (asideIds.has(op.id) || op.seq > (asideCards!.get(cardOf(op) ?? '') ?? Infinity)) continue; // set aside, or behind one
            // Sent now it could only fail with CARD_NOT_FOUND: it waits with the refused create instead.
            const cause = op.type === 'CREATE_VERSE' ? undefined : causes.get(cardOf(op) ?? '');
            if (cause !== undefined) {
              holding.push(held(op, cause));
              continue;
            }
            const wire = toWireOperation(op);
            const size = jsonBytes(wire) + (operations.length > 0 ? 1 : 0);
            // Stop rather than skip: a later, smaller op must not overtake this one.
            if (operations.length > 0 && bytes + size > maxBytes) {
              full = true;
              break;
            }
            bytes += size;
            operations.push(wire);
            chunk.push(op);
            taken.push(op);
            if (operations.length >= maxOps) {
              full = true;
              break;
            }
          }
          exhausted = page.length < pageSize && read === page.length;
        }
        // The chunk's writes are issued together too (IndexedDB runs them in order): one wait.
        const writes: Array<Promise<unknown>> = [];
        if (holding.length > 0) writes.push(db.syncOperations.bulkPut(holding));
        if (taken.length === 0 && trial && onTrial.length > 0) {
          // Nothing else to test the server with: the ops on trial get their place back and go now.
          writes.push(db.syncOperations.bulkPut(onTrial.map(answeredFor)));
          await Dexie.Promise.all(writes);
          trial = false;
          onTrial = [];
          asideIds = undefined;
          afterSeq = -Infinity;
          return true;
        }
        if (taken.length === 0) {
          await Dexie.Promise.all(writes);
          return false;
        }
        if (chunk.length > 0) {
          writes.push(
            db.syncOperations.bulkPut(
              chunk.map((op) => ({
                ...op,
                status: 'inFlight' as const,
                batchId,
                claimedAt: op.claimedAt ?? now.getTime(),
                ...(op.userId === undefined && userId !== undefined ? { userId } : {}),
              })),
            ),
          );
        }
        if (!batch) {
          const last = lastSeq?.value;
          const seq = (typeof last === 'number' ? last : 0) + 1;
          writes.push(db.meta.put({ key: BATCH_SEQ_META_KEY, value: seq }));
          batch = { id: batchId, seq, status: 'syncing', opIds: [], opCount: 0, bytes: 0, createdAt: now.toISOString(), successCount: 0, failureCount: 0 };
          if (userId !== undefined) batch.userId = userId;
        }
        const done = full || exhausted;
        // The row says what is claimed so far; the last chunk writes the whole batch.
        batch = { ...batch, opIds: taken.map((op) => op.id), opCount: taken.length, bytes };
        writes.push(db.syncBatches.put(batch));
        await Dexie.Promise.all(writes);
        return !done;
      });
      if (!more) break;
    }
  } catch (error) {
    // A later chunk failed: give back what the earlier ones claimed, so nothing waits inFlight
    // for the next start, then report the failure.
    const released = error instanceof OutboxError && error.code === 'BATCH_RELEASED';
    if (batch && !released) await releaseBatch(db, { batchId, failure: { kind: 'network', message: `claim failed: ${(error as Error).message}` } }).catch(() => undefined);
    throw error;
  }
  if (taken.length === 0) return null;
  options.onClaimed?.(taken.map((op) => ({ id: op.id, timestamp: op.timestamp })));
  return { batchId, operations, bytes };
}

/**
 * Settles a claimed batch with the server's per-operation results: successes
 * leave the outbox and mark their local record synced; conflicts the server
 * settles (CARD_DELETED) leave it too, the local records taking the server's
 * state; a CARD_NOT_FOUND behind a refused create is held with it. A retryable
 * error the server gave for an op spends one of its maxRetries; an op the
 * answer left out (or failed without a reason) goes back without spending one,
 * since that is the request failing, not the op. The rest become dead letters.
 */
export async function recordResults(db: VersesDb, input: RecordResultsInput, options: RecordOptions = {}): Promise<RecordOutcome> {
  const now = options.now ?? new Date();
  const results = new Map(input.results.map((r) => [r.id, r]));
  let batch: SyncBatch | undefined;
  let inFlight: SyncOperation[] = [];
  let causes = new Map<string, string>();
  let succeeded = 0;
  let requeuedCount = 0;
  let heldCount = 0;
  let dead = 0;
  let pending = 0;
  let next: { setAsideUntil?: number } = {};
  let firstFailure: OperationError | undefined;
  let status: RecordOutcome['status'] = 'failed';

  // In seq order, OPS_PER_TRANSACTION ops a transaction (a local write waits for one chunk, not the
  // whole batch); a batch of one chunk reads the batch and its ops in that chunk, the last chunk
  // settles the batch row and reads what is left queued. An op another settle or a recovery took meanwhile is
  // skipped. A crash between chunks leaves the rest inFlight: recovered, resent, and answered
  // from the server's ledger. Each transaction issues its reads at once and then its writes at
  // once: a local write waits for the whole transaction, so it is kept to a few round trips.
  const readBatch = () =>
    Dexie.Promise.all([db.syncBatches.get(input.batchId), inFlightOf(db, input.batchId), refusedCards(db)]).then(([found, all, refused]) => {
      if (!found) throw new OutboxError('BATCH_NOT_FOUND', `no batch '${input.batchId}' in the outbox; was it claimed with claimBatch?`);
      batch = found;
      inFlight = all;
      causes = refused;
      status = found.status === 'completed' || found.status === 'partial' ? found.status : 'failed';
      return found;
    });
  // A batch of more than one chunk (a backlog's) reads its ops in a read-only transaction of its
  // own first, so no settle chunk carries that read too: a local write waits for one or the other.
  const readAhead = input.results.length > OPS_PER_TRANSACTION;
  if (readAhead) await db.transaction('r', db.syncOperations, db.syncBatches, readBatch);
  for (let start = 0, first = true; first || start < inFlight.length; start += OPS_PER_TRANSACTION, first = false) {
    await db.transaction('rw', ['syncOperations', 'syncBatches', 'notices', ...WRITE_BACK_TABLES], async () => {
      let ops: SyncOperation[];
      let row: SyncBatch | undefined;
      const isLast = () => start + OPS_PER_TRANSACTION >= inFlight.length;
      if (first && !readAhead) {
        const found = await readBatch();
        row = found;
        ops = inFlight.slice(0, OPS_PER_TRANSACTION).map(answeredFor); // read in this very transaction
      } else {
        const ids = inFlight.slice(start, start + OPS_PER_TRANSACTION).map((op) => op.id);
        const [found, rows] = await Dexie.Promise.all([isLast() ? db.syncBatches.get(input.batchId) : undefined, db.syncOperations.bulkGet(ids)]);
        row = found;
        ops = rows.filter((op): op is SyncOperation => op !== undefined && op.status === 'inFlight' && op.batchId === input.batchId).map(answeredFor);
      }
      const last = isLast();
      const applied: Applied[] = [];
      const settledByServer: ServerSettled[] = [];
      const settled: SyncOperation[] = [];
      for (const op of ops) {
        const result = results.get(op.id);
        if (result?.success === true) {
          const syncedAt = typeof result.appliedAt === 'string' && !Number.isNaN(Date.parse(result.appliedAt)) ? result.appliedAt : now.toISOString();
          applied.push({ op, result, syncedAt });
          continue;
        }
        const error = result?.error;
        const card = cardOf(op);
        if (error?.code === 'CARD_DELETED' && (op.type === 'RECORD_REVIEW' || op.type === 'CREATE_ALIAS')) {
          settledByServer.push({ op, code: 'CARD_DELETED', at: now });
          continue;
        }
        const cause = card === undefined ? undefined : causes.get(card);
        if (error?.code === 'CARD_NOT_FOUND' && cause !== undefined && op.type !== 'CREATE_VERSE') {
          settled.push(held(op, cause, { lastError: storedError(error.code, error.message, false, now) }));
          heldCount++;
          continue;
        }
        const reported: OperationError = error
          ? error
          : result
            ? { code: 'OPERATION_FAILED', message: 'the server reported a failure without a reason', retryable: true }
            : { code: 'NO_RESULT', message: "the server's answer had no result for this change", retryable: true };
        firstFailure ??= reported;
        const lastError = storedError(reported.code, reported.message, reported.retryable === true, now);
        if (!error) {
          settled.push(requeued(op, { lastError }));
          requeuedCount++;
          continue;
        }
        const retryCount = op.retryCount + 1;
        if (error.retryable === true && retryCount < op.maxRetries) {
          settled.push(requeued(op, { retryCount, lastError }));
          requeuedCount++;
        } else {
          settled.push(toDeadLetter(op, { retryCount, lastError }));
          dead++;
          // Its card's later ops in this very batch fail with CARD_NOT_FOUND: they wait on it.
          if (op.type === 'CREATE_VERSE' && card !== undefined) causes.set(card, op.id);
        }
      }
      // The outbox's writes and the write-back's reads of the cards at once, then its writes.
      const [, , cards] = await Dexie.Promise.all([
        applied.length > 0 ? db.syncOperations.bulkDelete(applied.map((a) => a.op.id)) : undefined,
        settled.length > 0 ? db.syncOperations.bulkPut(settled) : undefined,
        readWriteBackCards(db, applied),
      ]);
      const tail: Array<Promise<unknown>> = [];
      succeeded += applied.length + settledByServer.length;
      const settleBatch = last && row !== undefined && succeeded + requeuedCount + heldCount + dead > 0;
      if (settleBatch && row) {
        const failures = requeuedCount + heldCount + dead;
        status = failures === 0 ? 'completed' : succeeded === 0 ? 'failed' : 'partial';
        const update: Partial<SyncBatch> = { status, successCount: succeeded, failureCount: failures, syncedAt: now.toISOString() };
        if (firstFailure) {
          update.errorMessage = `${failures} of ${succeeded + failures} operations failed; first: ${firstFailure.code}: ${firstFailure.message}`.slice(0, 1000);
        }
        tail.push(db.syncBatches.put({ ...row, ...update }));
      }
      await writeBack(db, applied, cards, tail);
      await settleByServer(db, settledByServer);
      if (!last) return;
      // The trials, what is left queued and the next set-aside op due are read here rather than in
      // transactions of their own that a local write would wait for.
      if (settleBatch && batch) next = await settleTrials(db, batch.userId, succeeded > 0, new Set(batch.opIds));
      else next = await setAsideUntil(db);
      if (settleBatch && batch) await pruneHistoryAfter(db, batch.seq, options.history);
      pending = await countPending(db, batch?.userId);
    });
  }
  return { status, succeeded, requeued: requeuedCount, held: heldCount, dead, pending, ...next };
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
 * Gives a failed batch's operations back to the queue, or, for a 'fatal' failure
 * (the request itself refused), moves them all to dead letters. A failure of the
 * whole request (network, timeout, 5xx, 429, 401) never spends an op's maxRetries
 * and never kills an op: the queue retries it for as long as it takes. A lone op that keeps
 * getting a 5xx (`input.setAside`) is set aside instead: it waits until its nextAttemptAt while
 * the other cards' ops are claimed, and its wait doubles each time it fails alone again.
 * The batch row becomes 'failed'. An unknown batch id changes nothing (safe to
 * call after a claim that timed out).
 */
export async function releaseBatch(db: VersesDb, input: ReleaseBatchInput, options: RecordOptions = {}): Promise<ReleaseOutcome> {
  const now = options.now ?? new Date();
  const { failure } = input;
  // First mark the batch failed, so a claim still running (claim timeout) adds no chunk after
  // this; then every op it holds in flight is read here and goes back below.
  const { batch, ops: inFlight } = await db.transaction('rw', db.syncOperations, db.syncBatches, async () => {
    const found = await db.syncBatches.get(input.batchId);
    if (!found) return { batch: undefined, ops: [] };
    const ops = await inFlightOf(db, input.batchId);
    if (found.status === 'syncing' || found.status === 'pending') {
      await db.syncBatches.update(found.id, { status: 'failed', errorMessage: failure.message.slice(0, 1000), failureCount: ops.length });
    }
    return { batch: found, ops };
  });
  // Unknown batch: the claim found nothing or never committed. Releasing is
  // then a no-op, so a machine may always release after a claim timeout.
  if (!batch) return { requeued: 0, dead: 0, pending: await countPending(db), ...(await setAsideUntil(db)) };
  const fatal = failure.kind === 'fatal';
  // A 503 says the whole server is away, no op's fault (as the queue's halving reads it).
  const loneServerError = failure.kind === 'server' && failure.status !== 503 && inFlight.length === 1 && input.setAside !== undefined;
  const nowMs = input.now ?? now.getTime();
  let setAsideCount = 0;
  const lastError = storedError(failure.code ?? FAILURE_CODES[failure.kind] ?? 'REQUEST_FAILED', failure.message, !fatal, now);
  let requeuedCount = 0;
  let dead = 0;
  let next: { setAsideUntil?: number } = {};
  // Chunked like recordResults; the last transaction (or the only one, for a batch with no
  // ops left in flight) marks the batch failed.
  const chunks = Math.max(1, Math.ceil(inFlight.length / OPS_PER_TRANSACTION));
  for (let c = 0; c < chunks; c++) {
    const ids = inFlight.slice(c * OPS_PER_TRANSACTION, (c + 1) * OPS_PER_TRANSACTION).map((op) => op.id);
    await db.transaction('rw', db.syncOperations, db.syncBatches, async () => {
      const ops = (await db.syncOperations.bulkGet(ids)).filter(
        (op): op is SyncOperation => op !== undefined && op.status === 'inFlight' && op.batchId === input.batchId,
      );
      const settled = ops.map((op) => {
        if (fatal) {
          dead++;
          return toDeadLetter(answeredFor(op), { lastError });
        }
        requeuedCount++;
        if (loneServerError && (input.setAside!.streakReached || op.setAside !== undefined)) {
          setAsideCount++;
          return requeued(op, { lastError, ...setAside(op, input.setAside!.baseMs, nowMs, options.random ?? Math.random) });
        }
        return requeued(op, { lastError });
      });
      if (settled.length > 0) await db.syncOperations.bulkPut(settled);
      if (c < chunks - 1) return;
      if (requeuedCount + dead > 0) {
        await db.syncBatches.update(batch.id, { status: 'failed', errorMessage: failure.message.slice(0, 1000), failureCount: requeuedCount + dead });
      }
      // Its read of the set-aside ops, after this release's own writes, also says when the first is due.
      next = await settleTrials(db, batch.userId, false, new Set(batch.opIds));
      await pruneHistoryAfter(db, batch.seq, options.history);
    });
  }
  return {
    requeued: requeuedCount,
    dead,
    pending: await countPending(db, batch.userId),
    ...(setAsideCount > 0 ? { setAside: setAsideCount } : {}),
    ...next,
  };
}

/**
 * Start-up recovery: in-flight operations of a previous session go back to the
 * queue without spending an attempt (the server's ledger makes a resend safe),
 * and unfinished batches are marked failed 'interrupted'. Returns how many ops it recovered.
 */
export async function recoverInFlight(db: VersesDb, options: Pick<RecordOptions, 'history'> = {}): Promise<number> {
  return db.transaction('rw', db.syncOperations, db.syncBatches, async () => {
    const ops = await db.syncOperations.where('[status+seq]').between(['inFlight', Dexie.minKey], ['inFlight', Dexie.maxKey]).toArray();
    await db.syncOperations.bulkPut(ops.map((op) => requeued(op, {})));
    await db.syncBatches.where('status').anyOf('syncing', 'pending').modify({ status: 'failed', errorMessage: 'interrupted' });
    await pruneHistory(db, options.history);
    return ops.length;
  });
}
