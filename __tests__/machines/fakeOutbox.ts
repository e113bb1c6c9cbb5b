// An in-memory outbox that follows the Dexie outbox's rules (src/outbox/batches.ts): same actor
// signatures, same retry and dead-letter decisions, batch rows with the same statuses. The unit tests
// use it for speed; the model tests run against both it and the real one (dexieOutbox.ts).
import type {
  ClaimBatchInput,
  ClaimedBatch,
  RecordOutcome,
  RecordResultsInput,
  ReleaseBatchInput,
  ReleaseOutcome,
  WireOperation,
} from '../../machines/types.ts';
import {
  isRetryable,
  MODEL_MAX_RETRIES,
  withHarness,
  type BatchRow,
  type OpStatus,
  type OutboxOptions,
  type OutboxUnderTest,
} from './outboxUnderTest.ts';

export { predictRecord, type HeldCall, type OutboxActorName, type OutboxOptions, type OutboxUnderTest } from './outboxUnderTest.ts';

/** `aside`: set aside (see SyncOperation.setAside): how often in a row, from what first wait, due when, on trial or confirmed. */
type StoredOp = {
  op: WireOperation;
  status: OpStatus;
  batchId: string | null;
  retryCount: number;
  bytes: number;
  aside?: { count: number; baseMs: number; until: number; confirmed: boolean };
};

/** What each fake op weighs against maxBatchBytes. */
export const OP_BYTES = 100;

let seq = 0;
const fakeOp = (): WireOperation => {
  seq += 1;
  return {
    id: `op-${seq}`,
    seq,
    type: 'UPDATE_PROFILE',
    payload: { dailyGoal: 1 + (seq % 100), updatedAt: '2026-11-24T00:00:00.000Z' },
  };
};

export function createFakeOutbox(options: OutboxOptions = {}): OutboxUnderTest {
  const ops = new Map<string, StoredOp>();
  const batches = new Map<string, BatchRow>();
  const maxRetries = options.maxRetries ?? MODEL_MAX_RETRIES;

  const list = () => [...ops.values()].sort((a, b) => a.op.seq - b.op.seq);
  // As the Dexie outbox counts: confirmed set-aside ops wait for their time; ops on trial are pending.
  const confirmed = (o: StoredOp) => o.status === 'queued' && o.aside?.confirmed === true;
  const onTrial = () => list().filter((o) => o.status === 'queued' && o.aside && !o.aside.confirmed);
  const queuedCount = () => list().filter((o) => o.status === 'queued' && !confirmed(o)).length;
  const setAsideUntil = () => {
    const until = list().flatMap((o) => (confirmed(o) ? [o.aside!.until] : []));
    return until.length > 0 ? { setAsideUntil: Math.min(...until) } : {};
  };
  /** After a batch: ops on trial (not in it) are confirmed when the server took some of it, else back in their place. */
  const settleTrials = (serverTookOthers: boolean, except: readonly string[]) => {
    for (const stored of onTrial()) {
      if (except.includes(stored.op.id)) continue;
      if (serverTookOthers) stored.aside!.confirmed = true;
      else delete stored.aside;
    }
  };
  const inFlightOf = (batchId: string) => list().filter((o) => o.batchId === batchId && o.status === 'inFlight');

  const claim = ({ batchId, maxOps, maxBytes, now = 0, trial = false }: ClaimBatchInput): ClaimedBatch | null => {
    if (batches.has(batchId)) throw new Error(`batch id '${batchId}' was used before; claim with a fresh id`);
    // Only the trial batch leaves ops on trial out; any other claim gives them their place back.
    if (!trial) for (const stored of onTrial()) delete stored.aside;
    const taken: StoredOp[] = [];
    let bytes = 0;
    // A due set-aside op goes alone (not in the trial batch); the others stay (fake ops belong to no card, so nothing waits behind them).
    const due = trial
      ? undefined
      : list()
          .filter((o) => confirmed(o) && o.aside!.until <= now)
          .sort((a, b) => a.aside!.until - b.aside!.until)[0];
    if (due) taken.push(due);
    for (const stored of due ? [] : list()) {
      if (stored.status !== 'queued' || stored.aside) continue;
      if (taken.length >= maxOps || (taken.length > 0 && bytes + stored.bytes > maxBytes)) break;
      taken.push(stored);
      bytes += stored.bytes;
    }
    // Nothing else to test the server with: the ops on trial go themselves, back in their place.
    if (taken.length === 0 && trial && onTrial().length > 0) return claim({ batchId, maxOps, maxBytes, now });
    if (taken.length === 0) return null;
    if (due) bytes = due.bytes;
    for (const stored of taken) Object.assign(stored, { status: 'inFlight', batchId });
    batches.set(batchId, { id: batchId, status: 'syncing', opIds: taken.map((s) => s.op.id) });
    return { batchId, operations: taken.map((s) => s.op), bytes };
  };

  /** Back in the queue, or dead once its attempts are spent; true when dead. */
  const requeue = (stored: StoredOp, countAttempt: boolean): boolean => {
    const retryCount = stored.retryCount + (countAttempt ? 1 : 0);
    const dead = countAttempt && retryCount >= maxRetries;
    Object.assign(stored, { retryCount, batchId: null, status: dead ? 'dead' : 'queued' });
    return dead;
  };
  const kill = (stored: StoredOp, countAttempt: boolean) => {
    delete stored.aside; // refused: a dead letter, no longer set aside
    return Object.assign(stored, { retryCount: stored.retryCount + (countAttempt ? 1 : 0), batchId: null, status: 'dead' });
  };

  const record = ({ batchId, results }: RecordResultsInput): RecordOutcome => {
    const batch = batches.get(batchId);
    if (!batch) throw new Error(`no batch '${batchId}' in the outbox; was it claimed with claimBatch?`);
    const mine = inFlightOf(batchId);
    if (mine.length === 0) {
      const status = batch.status === 'completed' || batch.status === 'partial' ? batch.status : 'failed';
      return { status, succeeded: 0, requeued: 0, held: 0, dead: 0, pending: queuedCount(), ...setAsideUntil() };
    }
    const byId = new Map(results.map((r) => [r.id, r]));
    let succeeded = 0;
    let requeued = 0;
    let dead = 0;
    for (const stored of mine) {
      delete stored.aside; // the server answered for it
      const result = byId.get(stored.op.id);
      if (result?.success) {
        ops.delete(stored.op.id);
        succeeded += 1;
      } else if (isRetryable(result)) {
        // Only the server's own retryable answer for the op spends one of its retries.
        if (requeue(stored, result !== undefined && result.error !== undefined)) dead += 1;
        else requeued += 1;
      } else {
        kill(stored, true);
        dead += 1;
      }
    }
    const status = requeued + dead === 0 ? 'completed' : succeeded === 0 ? 'failed' : 'partial';
    batch.status = status;
    settleTrials(succeeded > 0, batch.opIds);
    return { status, succeeded, requeued, held: 0, dead, pending: queuedCount(), ...setAsideUntil() };
  };

  const release = ({ batchId, failure, setAside, now = 0 }: ReleaseBatchInput): ReleaseOutcome => {
    const batch = batches.get(batchId);
    if (!batch) return { requeued: 0, dead: 0, pending: queuedCount(), ...setAsideUntil() };
    const mine = inFlightOf(batchId);
    let requeued = 0;
    let dead = 0;
    let asideCount = 0;
    const loneServerError = failure.kind === 'server' && failure.status !== 503 && mine.length === 1 && setAside !== undefined;
    for (const stored of mine) {
      if (failure.kind === 'fatal') {
        kill(stored, false);
        dead += 1;
      } else {
        // A failure of the whole request never spends an op's retries.
        requeue(stored, false);
        requeued += 1;
        if (loneServerError && (setAside.streakReached || stored.aside)) {
          // The Dexie outbox's wait with random() = 0.5: three quarters of the doubled wait.
          const count = (stored.aside?.count ?? 0) + 1;
          const baseMs = stored.aside?.baseMs ?? setAside.baseMs;
          const wait = Math.min(baseMs * 2 ** (count - 1), baseMs * 32);
          stored.aside = { count, baseMs, until: now + Math.round(wait * 0.75), confirmed: stored.aside?.confirmed ?? false };
          asideCount += 1;
        }
      }
    }
    if (mine.length > 0 || batch.status === 'syncing' || batch.status === 'pending') batch.status = 'failed';
    settleTrials(false, batch.opIds);
    return { requeued, dead, pending: queuedCount(), ...(asideCount > 0 ? { setAside: asideCount } : {}), ...setAsideUntil() };
  };

  const enqueue = async (count: number) => {
    for (let i = 0; i < count; i += 1) {
      const op = fakeOp();
      ops.set(op.id, { op, status: 'queued', batchId: null, retryCount: 0, bytes: OP_BYTES });
    }
  };

  return withHarness(
    {
      kind: 'fake',
      claimBatch: async (input) => claim(input),
      recordResults: async (input) => record(input),
      releaseBatch: async (input) => release(input),
      enqueue,
      async setQueued(count) {
        const queued = list().filter((o) => o.status === 'queued' && !o.aside);
        for (const stored of queued.slice(count)) ops.delete(stored.op.id);
        await enqueue(Math.max(0, count - queued.length));
      },
      async rows() {
        return {
          ops: list().map((s) => ({ id: s.op.id, seq: s.op.seq, status: s.status, batchId: s.batchId, retryCount: s.retryCount, setAside: s.aside ? (s.aside.confirmed ? 'confirmed' : 'trial') : false })),
          batches: [...batches.values()].map((b) => ({ ...b, opIds: [...b.opIds] })),
        };
      },
      async close() {
        ops.clear();
        batches.clear();
      },
    },
    options,
  );
}
