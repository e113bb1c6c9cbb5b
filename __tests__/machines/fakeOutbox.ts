// An in-memory outbox with the same actor signatures as the Dexie one, behind a factory, so the
// model-based tests can later run against the real outbox by swapping `createOutbox`.
import { fromPromise } from 'xstate';
import type {
  ClaimBatchInput,
  ClaimedBatch,
  OperationResult,
  RecordOutcome,
  RecordResultsInput,
  ReleaseBatchInput,
  ReleaseOutcome,
  WireOperation,
} from '../../machines/types.ts';

export type OpStatus = 'queued' | 'inFlight' | 'dead';
export type StoredOp = { op: WireOperation; status: OpStatus; batchId: string | null; retryCount: number; bytes: number };

export type OutboxActorName = 'claimBatch' | 'recordResults' | 'releaseBatch';

/** A call the test holds open (manual mode): it runs the real operation only when told to. */
export type HeldCall = {
  name: OutboxActorName;
  input: unknown;
  state: 'open' | 'done' | 'failed';
  proceed(): void;
  fail(message: string): void;
};

export interface OutboxUnderTest {
  /** Adds `count` queued ops, as local writes would. */
  enqueue(count: number): Promise<void>;
  /** Makes exactly `count` ops queued (another tab wrote or sent some). */
  setQueued(count: number): Promise<void>;
  counts(): Promise<{ queued: number; inFlight: number; dead: number }>;
  /** The batch ids that hold inFlight ops. */
  inFlightBatchIds(): Promise<string[]>;
  /** The operations themselves (for a test that builds its own actors around them). */
  run: {
    claimBatch(input: ClaimBatchInput): Promise<ClaimedBatch | null>;
    recordResults(input: RecordResultsInput): Promise<RecordOutcome>;
    releaseBatch(input: ReleaseBatchInput): Promise<ReleaseOutcome>;
  };
  /** The real actor logic for `machine.provide({ actors })`. */
  actors: {
    claimBatch: ReturnType<typeof fromPromise<ClaimedBatch | null, ClaimBatchInput>>;
    recordResults: ReturnType<typeof fromPromise<RecordOutcome, RecordResultsInput>>;
    releaseBatch: ReturnType<typeof fromPromise<ReleaseOutcome, ReleaseBatchInput>>;
  };
  /** Calls waiting for the test (only the actors named in `manual`). */
  held(name?: OutboxActorName): HeldCall[];
}

export type OutboxOptions = {
  /** Actors whose calls wait for `held()[i].proceed()` or `.fail()`. */
  manual?: OutboxActorName[];
  maxRetries?: number;
  opBytes?: number;
};

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

/** What recording these results does (shared with the model tests that predict it). */
export function predictRecord(results: OperationResult[], queuedBefore: number): RecordOutcome {
  const succeeded = results.filter((r) => r.success).length;
  const requeued = results.filter((r) => !r.success && r.error?.retryable !== false).length;
  const dead = results.length - succeeded - requeued;
  const status = succeeded === results.length ? 'completed' : succeeded > 0 ? 'partial' : 'failed';
  return { status, succeeded, requeued, dead, pending: queuedBefore + requeued };
}

export function createFakeOutbox(options: OutboxOptions = {}): OutboxUnderTest {
  const ops = new Map<string, StoredOp>();
  const calls: HeldCall[] = [];
  const manual = new Set(options.manual ?? []);
  const maxRetries = options.maxRetries ?? 100;
  const opBytes = options.opBytes ?? OP_BYTES;

  const list = () => [...ops.values()].sort((a, b) => a.op.seq - b.op.seq);
  const queuedCount = () => list().filter((o) => o.status === 'queued').length;

  const claim = ({ batchId, maxOps, maxBytes }: ClaimBatchInput): ClaimedBatch | null => {
    const taken: StoredOp[] = [];
    let bytes = 0;
    for (const stored of list()) {
      if (stored.status !== 'queued') continue;
      if (taken.length >= maxOps || (taken.length > 0 && bytes + stored.bytes > maxBytes)) break;
      taken.push(stored);
      bytes += stored.bytes;
    }
    if (taken.length === 0) return null;
    for (const stored of taken) Object.assign(stored, { status: 'inFlight', batchId });
    return { batchId, operations: taken.map((s) => s.op), bytes };
  };

  /** Puts an op back in the queue; true when it ran out of retries and went to dead letters instead. */
  const requeue = (stored: StoredOp, countAttempt: boolean): boolean => {
    const retryCount = stored.retryCount + (countAttempt ? 1 : 0);
    const dead = retryCount > maxRetries;
    Object.assign(stored, { retryCount, batchId: null, status: dead ? 'dead' : 'queued' });
    return dead;
  };

  const record = ({ batchId, results }: RecordResultsInput): RecordOutcome => {
    const byId = new Map(results.map((r) => [r.id, r]));
    let succeeded = 0;
    let requeued = 0;
    let dead = 0;
    for (const stored of list()) {
      if (stored.batchId !== batchId || stored.status !== 'inFlight') continue;
      const result = byId.get(stored.op.id);
      if (result?.success) {
        ops.delete(stored.op.id);
        succeeded += 1;
      } else if (!result || result.error?.retryable !== false) {
        if (requeue(stored, true)) dead += 1;
        else requeued += 1;
      } else {
        Object.assign(stored, { status: 'dead', batchId: null });
        dead += 1;
      }
    }
    const total = succeeded + requeued + dead;
    const status = succeeded === total ? 'completed' : succeeded > 0 ? 'partial' : 'failed';
    return { status, succeeded, requeued, dead, pending: queuedCount() };
  };

  const release = ({ batchId, failure, countAttempt }: ReleaseBatchInput): ReleaseOutcome => {
    let requeued = 0;
    let dead = 0;
    for (const stored of list()) {
      if (stored.batchId !== batchId || stored.status !== 'inFlight') continue;
      if (failure.kind === 'fatal') {
        Object.assign(stored, { status: 'dead', batchId: null });
        dead += 1;
        continue;
      }
      if (requeue(stored, countAttempt)) dead += 1;
      else requeued += 1;
    }
    return { requeued, dead, pending: queuedCount() };
  };

  function call<I, O>(name: OutboxActorName, run: (input: I) => O) {
    return (input: I): Promise<O> => {
      if (!manual.has(name)) return Promise.resolve().then(() => run(input));
      return new Promise<O>((resolve, reject) => {
        const held: HeldCall = {
          name,
          input,
          state: 'open',
          proceed: () => {
            held.state = 'done';
            resolve(run(input));
          },
          fail: (message) => {
            held.state = 'failed';
            reject(new Error(message));
          },
        };
        calls.push(held);
      });
    };
  }
  const runners = {
    claimBatch: call('claimBatch', claim),
    recordResults: call('recordResults', record),
    releaseBatch: call('releaseBatch', release),
  };

  return {
    async enqueue(count) {
      for (let i = 0; i < count; i += 1) {
        const op = fakeOp();
        ops.set(op.id, { op, status: 'queued', batchId: null, retryCount: 0, bytes: opBytes });
      }
    },
    async setQueued(count) {
      const queued = list().filter((o) => o.status === 'queued');
      for (const stored of queued.slice(count)) ops.delete(stored.op.id);
      await this.enqueue(Math.max(0, count - queued.length));
    },
    async counts() {
      const all = list();
      return {
        queued: all.filter((o) => o.status === 'queued').length,
        inFlight: all.filter((o) => o.status === 'inFlight').length,
        dead: all.filter((o) => o.status === 'dead').length,
      };
    },
    async inFlightBatchIds() {
      return [...new Set(list().filter((o) => o.status === 'inFlight').map((o) => o.batchId as string))];
    },
    run: runners,
    actors: {
      claimBatch: fromPromise(({ input }: { input: ClaimBatchInput }) => runners.claimBatch(input)),
      recordResults: fromPromise(({ input }: { input: RecordResultsInput }) => runners.recordResults(input)),
      releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => runners.releaseBatch(input)),
    },
    held: (name) => calls.filter((c) => c.state === 'open' && (!name || c.name === name)),
  };
}
