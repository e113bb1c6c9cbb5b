// What the machine tests need from an outbox, whichever one stands behind it (the in-memory fake or
// the real Dexie outbox): its three actors, calls the test can hold open, and a view of its rows.
import { fromPromise } from 'xstate';
import type {
  ClaimBatchInput,
  ClaimedBatch,
  CoalesceResult,
  OperationResult,
  RecordOutcome,
  RecordResultsInput,
  ReleaseBatchInput,
  ReleaseOutcome,
} from '../../machines/types.ts';
import { settle } from './fakes.ts';

export type OpStatus = 'queued' | 'inFlight' | 'dead' | 'held';
export type BatchRowStatus = 'pending' | 'syncing' | 'completed' | 'partial' | 'failed';

/** One operation as the outbox holds it (the fields the tests check). */
/** `setAside`: waits apart until its time (SyncOperation.setAside), once confirmed; until then on trial. */
export type OpRow = { id: string; seq: number; status: OpStatus; batchId: string | null; retryCount: number; setAside: false | 'trial' | 'confirmed' };
/** One `syncBatches` row. */
export type BatchRow = { id: string; status: BatchRowStatus; opIds: string[] };
export type OutboxRows = { ops: OpRow[]; batches: BatchRow[] };

export type OutboxActorName = 'coalesceQueued' | 'claimBatch' | 'recordResults' | 'releaseBatch';

/** A call the test holds open (manual mode): it runs the real operation only when told to. */
export type HeldCall = {
  name: OutboxActorName;
  input: unknown;
  state: 'open' | 'done' | 'failed';
  proceed(): void;
  fail(message: string): void;
};

export type OutboxRunners = {
  /** Coalescing is tested on its own (property tests); here it changes nothing, so counts stay predictable. */
  coalesceQueued(input?: unknown): Promise<CoalesceResult>;
  claimBatch(input: ClaimBatchInput): Promise<ClaimedBatch | null>;
  recordResults(input: RecordResultsInput): Promise<RecordOutcome>;
  releaseBatch(input: ReleaseBatchInput): Promise<ReleaseOutcome>;
};

export interface OutboxUnderTest {
  /** 'fake' or 'dexie', for test names and coverage lines. */
  kind: string;
  /** Adds `count` queued ops, as local writes would. */
  enqueue(count: number): Promise<void>;
  /** Makes exactly `count` ops queued (another tab wrote or sent some). */
  setQueued(count: number): Promise<void>;
  counts(): Promise<{ queued: number; inFlight: number; dead: number }>;
  /** The batch ids that hold inFlight ops. */
  inFlightBatchIds(): Promise<string[]>;
  /** Every op (in seq order) and every batch row. */
  rows(): Promise<OutboxRows>;
  /** The operations themselves (for a test that builds its own actors around them). */
  run: OutboxRunners;
  /** The real actor logic for `machine.provide({ actors })`. */
  actors: {
    coalesceQueued: ReturnType<typeof fromPromise<CoalesceResult>>;
    claimBatch: ReturnType<typeof fromPromise<ClaimedBatch | null, ClaimBatchInput>>;
    recordResults: ReturnType<typeof fromPromise<RecordOutcome, RecordResultsInput>>;
    releaseBatch: ReturnType<typeof fromPromise<ReleaseOutcome, ReleaseBatchInput>>;
  };
  /** Calls waiting for the test (only the actors named in `manual`). */
  held(name?: OutboxActorName): HeldCall[];
  /** Resolves once no outbox call is running and whatever its answer woke has run too. */
  quiet(): Promise<void>;
  /** Throws the outbox away (the Dexie one deletes its database). */
  close(): Promise<void>;
}

export type OutboxOptions = {
  /** Actors whose calls wait for `held()[i].proceed()` or `.fail()`. */
  manual?: OutboxActorName[];
  /** Attempts an op gets: it is dead once its retryCount reaches this (as SyncOperation.maxRetries). */
  maxRetries?: number;
};

export type OutboxFactory = (options?: OutboxOptions) => OutboxUnderTest;

/** The model tests' default: ops never run out of attempts, so every retryable failure requeues. */
export const MODEL_MAX_RETRIES = 100;

/** Requeued, per the real outbox: no result, no reason, or a reason marked retryable. */
export const isRetryable = (result: OperationResult | undefined): boolean =>
  !result || (!result.success && (!result.error || result.error.retryable === true));

/** What recording these results does (shared with the model tests that predict it). */
export function predictRecord(results: OperationResult[], queuedBefore: number): RecordOutcome {
  const succeeded = results.filter((r) => r.success).length;
  const requeued = results.filter((r) => !r.success && isRetryable(r)).length;
  const dead = results.length - succeeded - requeued;
  const status = requeued + dead === 0 ? 'completed' : succeeded === 0 ? 'failed' : 'partial';
  return { status, succeeded, requeued, held: 0, dead, pending: queuedBefore + requeued };
}

/** The storage underneath one outbox under test; `withHarness` adds holding, counting and quiet. */
export type OutboxStorage = Omit<OutboxRunners, 'coalesceQueued'> & {
  kind: string;
  enqueue(count: number): Promise<void>;
  setQueued(count: number): Promise<void>;
  rows(): Promise<OutboxRows>;
  close(): Promise<void>;
};

export function withHarness(storage: OutboxStorage, options: OutboxOptions = {}): OutboxUnderTest {
  const manual = new Set(options.manual ?? []);
  const calls: HeldCall[] = [];
  const running = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    work.then(
      () => running.delete(work),
      () => running.delete(work),
    );
    return work;
  };

  function call<I, O>(name: OutboxActorName, run: (input: I) => Promise<O>) {
    return (input: I): Promise<O> => {
      if (!manual.has(name)) return track(Promise.resolve().then(() => run(input)));
      return new Promise<O>((resolve, reject) => {
        const held: HeldCall = {
          name,
          input,
          state: 'open',
          proceed: () => {
            held.state = 'done';
            resolve(track(run(input)));
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
  const runners: OutboxRunners = {
    coalesceQueued: call('coalesceQueued', async () => ({ removed: 0 })),
    claimBatch: call('claimBatch', (input: ClaimBatchInput) => storage.claimBatch(input)),
    recordResults: call('recordResults', (input: RecordResultsInput) => storage.recordResults(input)),
    releaseBatch: call('releaseBatch', (input: ReleaseBatchInput) => storage.releaseBatch(input)),
  };

  return {
    kind: storage.kind,
    enqueue: (count) => track(storage.enqueue(count)),
    setQueued: (count) => track(storage.setQueued(count)),
    rows: () => track(storage.rows()),
    async counts() {
      const { ops } = await this.rows();
      return {
        queued: ops.filter((o) => o.status === 'queued' && o.setAside !== 'confirmed').length,
        inFlight: ops.filter((o) => o.status === 'inFlight').length,
        dead: ops.filter((o) => o.status === 'dead').length,
      };
    },
    async inFlightBatchIds() {
      const { ops } = await this.rows();
      return [...new Set(ops.filter((o) => o.status === 'inFlight').map((o) => o.batchId as string))];
    },
    run: runners,
    actors: {
      coalesceQueued: fromPromise(() => runners.coalesceQueued()),
      claimBatch: fromPromise(({ input }: { input: ClaimBatchInput }) => runners.claimBatch(input)),
      recordResults: fromPromise(({ input }: { input: RecordResultsInput }) => runners.recordResults(input)),
      releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => runners.releaseBatch(input)),
    },
    held: (name) => calls.filter((c) => c.state === 'open' && (!name || c.name === name)),
    async quiet() {
      // A Dexie transaction spans several macrotasks, and its answer may start the next call.
      for (let round = 0; round < 1_000; round += 1) {
        await settle(2);
        if (running.size === 0) return;
        await Promise.allSettled([...running]);
      }
      throw new Error(`the ${storage.kind} outbox kept working for 1000 rounds`);
    },
    async close() {
      await this.quiet();
      await storage.close();
    },
  };
}
