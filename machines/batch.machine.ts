// One in-flight batch: coalesce what waits, claim ops from the outbox, send them in one request,
// record or release.
import { assign, fromPromise, setup } from 'xstate';
import type {
  ClaimBatchInput,
  ClaimedBatch,
  CoalesceResult,
  OperationResult,
  RecordOutcome,
  RecordResultsInput,
  ReleaseBatchInput,
  ReleaseOutcome,
  ServerCheck,
  SetAsideRequest,
  TransportFailure,
  UploadBatchInput,
  UploadResult,
} from './types.ts';

export type BatchInput = {
  batchId: string;
  maxOps: number;
  maxBytes: number;
  /** How long the upload may take before it counts as a 'timeout' failure (default 30 s). */
  requestTimeoutMs?: number;
  /** How long claiming, recording or releasing in the local outbox may take (default 15 s). */
  storageTimeoutMs?: number;
  /** Sent while the page hides or closes: the upload uses fetch keepalive. */
  keepalive?: boolean;
  /** The queue's clock when the batch started (epoch ms): whether a set-aside op is due, and from when it waits. */
  now?: number;
  /** How a lone op failing with a 5xx is set aside (see ReleaseBatchInput). */
  setAside?: SetAsideRequest;
  /** This batch tests the others: ops set aside on trial stay out of it (see ClaimBatchInput). */
  trial?: boolean;
};

export type BatchStatus = 'empty' | 'completed' | 'partial' | 'failed';

export type BatchOutput = {
  batchId: string;
  status: BatchStatus;
  opCount: number;
  bytes: number;
  outcome?: RecordOutcome | ReleaseOutcome;
  failure?: TransportFailure;
  /** The check before a lone op's set-aside attempt: the server answered it, or it is away. */
  serverCheck?: 'answered' | 'away';
};

export type BatchContext = {
  batchId: string;
  maxOps: number;
  maxBytes: number;
  requestTimeoutMs: number;
  storageTimeoutMs: number;
  keepalive: boolean;
  now?: number;
  setAside?: SetAsideRequest;
  trial: boolean;
  claimed: ClaimedBatch | null;
  results: OperationResult[];
  status: BatchStatus | null;
  outcome?: RecordOutcome | ReleaseOutcome;
  failure?: TransportFailure;
  serverCheck?: 'answered' | 'away';
};

/** The batch machine takes no events from outside; it runs to completion on its actors. */
export type BatchEvent = { type: 'batch.noop' };

/** Plain data from whatever was thrown, so it can be stored and sent (never an Error object). */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);

const outputOf = <T>(event: unknown): T => (event as { output: T }).output;
const errorOf = (event: unknown): unknown => (event as { error?: unknown }).error;

const fail = (kind: TransportFailure['kind'], message: string): TransportFailure => ({ kind, message });

export const batchMachine = setup({
  types: {
    context: {} as BatchContext,
    events: {} as BatchEvent,
    input: {} as BatchInput,
    output: {} as BatchOutput,
    tags: {} as 'busy',
  },
  actors: {
    coalesceQueued: fromPromise<CoalesceResult>(async () => {
      throw new Error("provide 'coalesceQueued' via .provide()");
    }),
    claimBatch: fromPromise<ClaimedBatch | null, ClaimBatchInput>(async () => {
      throw new Error("provide 'claimBatch' via .provide()");
    }),
    checkServer: fromPromise<ServerCheck>(async () => {
      throw new Error("provide 'checkServer' via .provide()");
    }),
    uploadBatch: fromPromise<UploadResult, UploadBatchInput>(async () => {
      throw new Error("provide 'uploadBatch' via .provide()");
    }),
    recordResults: fromPromise<RecordOutcome, RecordResultsInput>(async () => {
      throw new Error("provide 'recordResults' via .provide()");
    }),
    releaseBatch: fromPromise<ReleaseOutcome, ReleaseBatchInput>(async () => {
      throw new Error("provide 'releaseBatch' via .provide()");
    }),
  },
  guards: {
    nothingClaimed: ({ event }) => {
      const claimed = outputOf<ClaimedBatch | null>(event);
      return !claimed || claimed.operations.length === 0;
    },
    // The attempt that would set a lone op aside goes only once the server is seen to answer.
    checkFirst: ({ context }) => context.setAside?.streakReached === true && !context.trial,
    serverAnswered: ({ event }) => outputOf<ServerCheck>(event).ok,
    uploadSucceeded: ({ event }) => outputOf<UploadResult>(event).ok,
    recordedAs: ({ event }, params: { status: RecordOutcome['status'] }) => outputOf<RecordOutcome>(event).status === params.status,
  },
  delays: {
    requestTimeout: ({ context }) => context.requestTimeoutMs,
    storageTimeout: ({ context }) => context.storageTimeoutMs,
  },
  actions: {
    'keep claimed ops': assign({ claimed: ({ event }) => outputOf<ClaimedBatch>(event) }),
    'keep results': assign({
      results: ({ event }) => {
        const result = outputOf<UploadResult>(event);
        return result.ok ? result.results : [];
      },
    }),
    'note server answered': assign({ serverCheck: 'answered' as const }),
    'note server away': assign({ serverCheck: 'away' as const }),
    // No answer, or a 5xx: the server is away. Any other answer (a 401, a 429) is the server's, and stands as it is.
    'keep check failure': assign(({ event }) => {
      const result = outputOf<ServerCheck>(event);
      if (result.ok) return {};
      const away = result.failure.kind === 'network' || result.failure.kind === 'timeout' || result.failure.kind === 'server';
      return away
        ? { serverCheck: 'away' as const, failure: { ...result.failure, message: `the server is not answering (${result.failure.message})` } }
        : { serverCheck: 'answered' as const, failure: { ...result.failure } };
    }),
    'keep upload failure': assign({
      failure: ({ event }) => {
        const result = outputOf<UploadResult>(event);
        return result.ok ? undefined : { ...result.failure };
      },
    }),
    // A rejected upload never reached an HTTP answer: the network failed.
    'keep network failure': assign({ failure: ({ event }) => fail('network', messageOf(errorOf(event))) }),
    'keep request timeout': assign({
      failure: ({ context }) => fail('timeout', `no answer from the server within ${Math.round(context.requestTimeoutMs / 1000)} s`),
    }),
    'keep storage error': assign({
      failure: ({ event }, params: { step: string }) => fail('server', `${params.step} failed: ${messageOf(errorOf(event))}`),
    }),
    'keep storage timeout': assign({
      failure: ({ context }, params: { step: string }) => fail('timeout', `${params.step} took longer than ${context.storageTimeoutMs} ms`),
    }),
    // Every op failed on its own: retry if some went back to the queue, else they are all dead letters.
    'keep outcome': assign({
      outcome: ({ event }) => ({ ...outputOf<RecordOutcome | ReleaseOutcome>(event) }),
      failure: ({ context, event }) => {
        const outcome = outputOf<RecordOutcome | ReleaseOutcome>(event);
        if (!('status' in outcome) || outcome.status !== 'failed') return context.failure;
        return outcome.requeued > 0
          ? fail('server', `the server took none of the ${outcome.requeued + outcome.dead} changes sent; they will be sent again`)
          : fail('fatal', outcome.dead === 1 ? 'the server refused the change sent' : `the server refused all ${outcome.dead} changes sent`);
      },
    }),
    'set status': assign({ status: (_, params: { status: BatchStatus }) => params.status }),
  },
}).createMachine({
  id: 'batch',
  context: ({ input }) => ({
    batchId: input.batchId,
    maxOps: input.maxOps,
    maxBytes: input.maxBytes,
    requestTimeoutMs: input.requestTimeoutMs ?? 30_000,
    storageTimeoutMs: input.storageTimeoutMs ?? 15_000,
    keepalive: input.keepalive ?? false,
    ...(input.now !== undefined ? { now: input.now } : {}),
    ...(input.setAside ? { setAside: input.setAside } : {}),
    trial: input.trial ?? false,
    claimed: null,
    results: [],
    status: null,
  }),
  initial: 'coalescing',
  states: {
    coalescing: {
      description: 'Queued ops that need not travel go first: a card created and deleted unsent cancels, repeated profile updates merge.',
      tags: 'busy',
      invoke: {
        id: 'coalesceQueued',
        src: 'coalesceQueued',
        onDone: [{ guard: 'checkFirst', target: 'checking' }, { target: 'claiming' }],
        onError: { target: 'failed', actions: { type: 'keep storage error', params: { step: 'coalesceQueued' } } },
      },
      after: { storageTimeout: { target: 'failed', actions: { type: 'keep storage timeout', params: { step: 'coalesceQueued' } } } },
    },
    checking: {
      description:
        'Before the attempt that would set a lone failing op aside, a GET asks whether the server answers at all: if not, the server is away (no fault of the op), and nothing is claimed.',
      tags: 'busy',
      invoke: {
        id: 'checkServer',
        src: 'checkServer',
        onDone: [{ guard: 'serverAnswered', target: 'claiming', actions: 'note server answered' }, { target: 'failed', actions: 'keep check failure' }],
        onError: { target: 'failed', actions: ['keep network failure', 'note server away'] },
      },
      after: { requestTimeout: { target: 'failed', actions: ['keep request timeout', 'note server away'] } },
    },
    claiming: {
      description: 'Takes the oldest queued ops (within the size and bytes) out of the outbox and marks them in flight.',
      tags: 'busy',
      invoke: {
        id: 'claimBatch',
        src: 'claimBatch',
        input: ({ context }) => ({
          batchId: context.batchId,
          maxOps: context.maxOps,
          maxBytes: context.maxBytes,
          ...(context.now !== undefined ? { now: context.now } : {}),
          ...(context.trial ? { trial: true } : {}),
        }),
        onDone: [{ guard: 'nothingClaimed', target: 'empty' }, { target: 'sending', actions: 'keep claimed ops' }],
        onError: { target: 'failed', actions: { type: 'keep storage error', params: { step: 'claimBatch' } } },
      },
      after: { storageTimeout: { target: 'failed', actions: { type: 'keep storage timeout', params: { step: 'claimBatch' } } } },
    },
    sending: {
      description: 'One request carries the claimed ops; no answer within the request timeout counts as a timeout.',
      tags: 'busy',
      // Leaving this state stops the upload actor, which aborts its request through `signal`.
      invoke: {
        id: 'uploadBatch',
        src: 'uploadBatch',
        input: ({ context }) => ({
          batchId: context.batchId,
          operations: context.claimed?.operations ?? [],
          ...(context.keepalive ? { keepalive: true } : {}),
        }),
        onDone: [
          { guard: 'uploadSucceeded', target: 'recording', actions: 'keep results' },
          { target: 'releasing', actions: 'keep upload failure' },
        ],
        onError: { target: 'releasing', actions: 'keep network failure' },
      },
      after: { requestTimeout: { target: 'releasing', actions: 'keep request timeout' } },
    },
    recording: {
      description: "Writes the server's answer per op: applied ops leave the outbox, the others are requeued, held or dead.",
      tags: 'busy',
      invoke: {
        id: 'recordResults',
        src: 'recordResults',
        input: ({ context }) => ({ batchId: context.batchId, results: context.results }),
        onDone: [
          { guard: { type: 'recordedAs', params: { status: 'completed' } }, target: 'completed', actions: 'keep outcome' },
          { guard: { type: 'recordedAs', params: { status: 'partial' } }, target: 'partial', actions: 'keep outcome' },
          { target: 'failed', actions: 'keep outcome' },
        ],
        // The server applied the ops; releasing them resends later, and its ledger makes that a no-op.
        onError: { target: 'releasing', actions: { type: 'keep storage error', params: { step: 'recordResults' } } },
      },
      after: { storageTimeout: { target: 'releasing', actions: { type: 'keep storage timeout', params: { step: 'recordResults' } } } },
    },
    releasing: {
      description: 'The request failed as a whole: its ops go back to the queue (or, refused, to dead letters).',
      tags: 'busy',
      invoke: {
        id: 'releaseBatch',
        src: 'releaseBatch',
        input: ({ context }) => ({
          batchId: context.batchId,
          failure: context.failure ?? fail('server', 'unknown failure'),
          ...(context.setAside ? { setAside: context.setAside } : {}),
          ...(context.now !== undefined ? { now: context.now } : {}),
        }),
        onDone: { target: 'failed', actions: 'keep outcome' },
        onError: { target: 'failed', actions: { type: 'keep storage error', params: { step: 'releaseBatch' } } },
      },
      after: { storageTimeout: { target: 'failed', actions: { type: 'keep storage timeout', params: { step: 'releaseBatch' } } } },
    },
    empty: { type: 'final', description: 'Nothing was queued: no request was made.', entry: { type: 'set status', params: { status: 'empty' } } },
    completed: { type: 'final', description: 'The server applied every op.', entry: { type: 'set status', params: { status: 'completed' } } },
    partial: { type: 'final', description: 'The server applied some ops; the others were requeued, held or dead-lettered.', entry: { type: 'set status', params: { status: 'partial' } } },
    failed: { type: 'final', description: 'No op was applied: the request failed, or the server took none of them.', entry: { type: 'set status', params: { status: 'failed' } } },
  },
  output: ({ context }) => ({
    batchId: context.batchId,
    status: context.status ?? 'failed',
    opCount: context.claimed?.operations.length ?? 0,
    bytes: context.claimed?.bytes ?? 0,
    ...(context.outcome ? { outcome: context.outcome } : {}),
    ...(context.failure ? { failure: context.failure } : {}),
    ...(context.serverCheck ? { serverCheck: context.serverCheck } : {}),
  }),
});
