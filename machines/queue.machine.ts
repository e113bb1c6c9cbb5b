// The outbox scheduler: decides when to send, one batch at a time. The Dexie outbox is the truth;
// this machine holds counts and timers, never copies of operations.
import { enqueueActions, setup } from 'xstate';
import { batchMachine, type BatchOutput } from './batch.machine.ts';
import { RETRY_BACKOFF_DEFAULTS, backoffDelay, retryBackoffMachine } from './retryBackoff.machine.ts';
import {
  ASSUMED_BATCH_MS,
  DEFAULT_ACK_ALLOWANCE_MS,
  DEFAULT_LATENCY_BUDGET,
  KEEPALIVE_BATCH_BYTES,
  type BatchConfig,
  type FailureKind,
  type LatencyBudget,
  type Priority,
  type TransportFailure,
} from './types.ts';

export type QueueInput = {
  /** Ops queued in the outbox right now. */
  pending: number;
  online: boolean;
  config: BatchConfig;
  requestTimeoutMs?: number;
  /** Per priority, the longest wait from enqueue to acknowledgement (defaults: DEFAULT_LATENCY_BUDGET). */
  budget?: Partial<LatencyBudget>;
  /** The least a batch leaves before its budget ends (plus 3× the last batch's duration; default 0.5 s). */
  ackAllowanceMs?: number;
  backoff?: { baseMs?: number; capMs?: number; maxAttempts?: number };
  random?: () => number;
  newBatchId?: () => string;
  now?: () => number;
};

/*
 * When a batch goes (collecting → flushing), the first of:
 *  - `config.size` ops wait (the connection quality's size; backlog mode grows the batch itself);
 *  - the latency budget of the oldest waiting op runs out (`dueAt`; never moved later by new ops);
 *  - the stream pauses: no new op for `config.timeoutMs` (the idle gap);
 *  - an 'immediate' op, 'sync.now' (Sync Now, or the app ending a session), coming back online,
 *    or the page hiding (then in keepalive batches of at most KEEPALIVE_BATCH_BYTES).
 * How the connection quality's table combines with the budget: the quality (networkQuality) sets the
 * size, the backlog bounds and the idle gap (its `timeoutMs`); the budget is per priority and the same
 * on every quality. A dense stream (an import) fills its size long before either timer; a sparse one
 * (a study session) goes when its oldest op's budget ends, or sooner when it pauses.
 */

export type QueueContext = {
  pending: number;
  online: boolean;
  config: BatchConfig;
  requestTimeoutMs: number;
  backoff: { baseMs: number; capMs: number; maxAttempts: number };
  random: () => number;
  newBatchId: () => string;
  now: () => number;
  budget: LatencyBudget;
  ackAllowanceMs: number;
  /** How long the last successful batch took from its start to its settle (ms). */
  lastBatchMs: number;
  batchStartedAt: number;
  /** When the oldest waiting op's budget (less the allowance) runs out; null with nothing collected. */
  dueAt: number | null;
  /** When the latest op was enqueued: the idle gap counts from it. */
  lastEnqueuedAt: number;
  /** The earliest due time of the ops enqueued while a batch was out (they wait for the next one). */
  dueDuringBatch: number | null;
  /** The page is hidden (or closing): send what waits at once, with fetch keepalive. */
  hidden: boolean;
  /** The one batch actor running (`batch-<batchId>`), if any. */
  inFlight: { batchId: string; maxOps: number } | null;
  /** Ops enqueued since the batch in flight started (added to the outbox's count when it settles). */
  enqueuedDuringBatch: number;
  /** An 'immediate' op or 'sync.now' arrived during a batch: send the next one at once. */
  flushAgain: boolean;
  /** Consecutive failed batches (network, timeout, server). */
  attempt: number;
  /** Epoch ms of the first of the failed requests in a row (cleared by the next answer the server gives). */
  failingSince: number | null;
  /** Consecutive 5xx answers to multi-op batches (HALVE_AFTER of them halve the next batch). */
  serverFailuresInRow: number;
  /** While set, batches take at most this many ops: halved after repeated 5xx, doubled back after a success. */
  opsLimit: number | null;
  /** One op alone still gets a 5xx: the server cannot take it; it is retried, and shown as stuck. */
  stuck: boolean;
  retryDelayMs: number | null;
  nextRetryAt: number | null;
  lastSyncAt: number | null;
  lastError: TransportFailure | null;
  batchesSent: number;
  batchesFailed: number;
  opsAcked: number;
  requestsSent: number;
};

export type BatchDoneEvent = { type: `xstate.done.actor.batch-${string}`; output: BatchOutput };

export type QueueEvent =
  | { type: 'op.enqueued'; priority: Priority; count?: number }
  | { type: 'outbox.changed'; pending: number }
  | { type: 'sync.now' }
  | { type: 'network.changed'; online: boolean; config?: BatchConfig }
  | { type: 'auth.expired' }
  | { type: 'auth.refreshed' }
  | { type: 'page.hidden' }
  | { type: 'page.visible' }
  /** After a restore in backoff: the restored snapshot holds no timer, arm it for what is left of the wait. */
  | { type: 'retry.rearm' }
  | BatchDoneEvent;

export type QueueEmitted =
  | { type: 'batch.settled'; output: BatchOutput }
  | { type: 'queue.drained' }
  | { type: 'sync.failed'; failure: TransportFailure; attempt: number; nextRetryAt: number | null; exhausted: boolean };

type Route = 'auth' | 'retry' | 'idle' | 'flush' | 'collect';

/**
 * After this many 5xx in a row for a batch of several ops, the next batch takes half as many:
 * one op the server cannot take (a bug, a row it chokes on) must not hold back the ops before
 * it, and alone it shows who is stuck.
 */
export const HALVE_AFTER = 3;

const RETRYABLE: ReadonlySet<FailureKind> = new Set(['network', 'timeout', 'server', 'rateLimited']);

const batchActorId = (batchId: string) => `batch-${batchId}`;

/** The output of the batch in flight, or null when the event is about another actor. */
function currentBatchOutput(context: QueueContext, event: { type: string }): BatchOutput | null {
  if (!context.inFlight || event.type !== `xstate.done.actor.${batchActorId(context.inFlight.batchId)}`) return null;
  return (event as BatchDoneEvent).output;
}

const failureOf = (output: BatchOutput): TransportFailure | undefined =>
  output.status === 'failed' ? (output.failure ?? { kind: 'server', message: 'the request failed' }) : undefined;

// The outbox's own count when the batch reports it, plus what was enqueued meanwhile. This may count
// an op twice (never zero times): an extra claim finds nothing and the queue goes idle.
function pendingAfter(context: QueueContext, output: BatchOutput): number {
  if (output.outcome) return output.outcome.pending + context.enqueuedDuringBatch;
  if (output.status === 'empty') return context.enqueuedDuringBatch;
  return context.pending;
}

function routeOf(context: QueueContext, output: BatchOutput): Route {
  const failure = failureOf(output);
  if (failure?.kind === 'auth') return 'auth';
  if (failure && RETRYABLE.has(failure.kind)) return 'retry';
  const pending = pendingAfter(context, output);
  if (pending === 0) return 'idle';
  if (context.flushAgain || context.hidden || pending >= context.config.size) return 'flush';
  return 'collect';
}

/** Everything a settled batch changes, as plain data; `paused` means no retry timer runs now. */
function settle(context: QueueContext, output: BatchOutput, paused: boolean) {
  const failure = failureOf(output);
  const succeeded = output.status === 'completed' || output.status === 'partial' || output.status === 'empty';
  // The server answered (all refused is an answer): the failing stretch is over; its refusals are dead letters.
  const answered = succeeded || failure?.kind === 'fatal';
  const retryable = failure !== undefined && RETRYABLE.has(failure.kind);
  const waitServer = failure?.kind === 'rateLimited' && failure.retryAfterMs !== undefined;
  const countsAttempt = failure !== undefined && RETRYABLE.has(failure.kind) && !waitServer;
  const attempt = answered ? 0 : countsAttempt ? context.attempt + 1 : context.attempt;
  const retry = failure !== undefined && RETRYABLE.has(failure.kind) && !paused;
  const { baseMs, capMs, maxAttempts } = context.backoff;
  // Past maxAttempts the wait stops growing but the queue keeps retrying: giving up on ops is the
  // outbox's call (each op's retryCount/maxRetries sends it to dead letters), never the timer's.
  const backoff = { attempt: Math.min(Math.max(0, attempt - 1), maxAttempts - 1), baseMs, capMs, random: context.random };
  // Retry-After (429, or a 503 from a function whose database is away) is a floor under the backoff.
  const retryAfterMs = failure?.retryAfterMs;
  const retryDelayMs = !retry
    ? null
    : retryAfterMs === undefined
      ? backoffDelay(backoff)
      : waitServer
        ? backoffDelay({ ...backoff, retryAfterMs })
        : Math.max(backoffDelay(backoff), backoffDelay({ ...backoff, retryAfterMs }));
  const now = context.now();
  const outcome = output.outcome;
  // A 503 says the whole server is away (its database, its capacity): no op's fault.
  const serverError = failure?.kind === 'server' && failure.status !== 503;
  const streak = serverError && output.opCount > 1 ? context.serverFailuresInRow + 1 : 0;
  const halve = streak >= HALVE_AFTER;
  const doubled = context.opsLimit === null ? null : context.opsLimit * 2 >= context.config.size ? null : context.opsLimit * 2;
  const opsLimit = halve ? Math.max(1, Math.ceil(output.opCount / 2)) : succeeded && output.opCount > 0 ? doubled : context.opsLimit;
  const patch: Partial<QueueContext> = {
    pending: pendingAfter(context, output),
    inFlight: null,
    enqueuedDuringBatch: 0,
    flushAgain: paused ? context.flushAgain : false,
    attempt,
    retryDelayMs,
    nextRetryAt: retryDelayMs === null ? null : now + retryDelayMs,
    lastSyncAt: output.status === 'completed' || output.status === 'partial' ? now : context.lastSyncAt,
    lastBatchMs: output.status === 'completed' || output.status === 'partial' ? Math.max(0, now - context.batchStartedAt) : context.lastBatchMs,
    // Only a failure that is being retried is shown; an answer ends it.
    lastError: retryable ? plainFailure(failure) : answered ? null : context.lastError,
    failingSince: retryable ? (context.failingSince ?? now) : answered ? null : context.failingSince,
    serverFailuresInRow: halve ? 0 : streak,
    opsLimit,
    stuck: serverError ? output.opCount === 1 && context.opsLimit === 1 : answered ? false : context.stuck,
    batchesSent: context.batchesSent + (output.status === 'completed' || output.status === 'partial' ? 1 : 0),
    batchesFailed: context.batchesFailed + (output.status === 'failed' ? 1 : 0),
    opsAcked: context.opsAcked + (outcome && 'succeeded' in outcome ? outcome.succeeded : 0),
    requestsSent: context.requestsSent + (output.opCount > 0 ? 1 : 0),
  };
  const failed: QueueEmitted | null = failure
    ? { type: 'sync.failed', failure: plainFailure(failure), attempt, nextRetryAt: patch.nextRetryAt ?? null, exhausted: attempt >= maxAttempts }
    : null;
  return { patch, failed };
}

/** Errors live in snapshots and IndexedDB: keep only plain fields. */
function plainFailure(failure: TransportFailure): TransportFailure {
  const plain: TransportFailure = { kind: failure.kind, message: String(failure.message) };
  if (failure.status !== undefined) plain.status = failure.status;
  if (failure.code !== undefined) plain.code = String(failure.code);
  if (failure.retryAfterMs !== undefined) plain.retryAfterMs = failure.retryAfterMs;
  return plain;
}

/** What of a budget is kept for sending the batch and getting its answer. */
export const ackAllowance = (context: Pick<QueueContext, 'ackAllowanceMs' | 'lastBatchMs'>, budgetMs: number) =>
  Math.min(budgetMs / 4, context.ackAllowanceMs + 3 * context.lastBatchMs);

const dueOf = (context: QueueContext, priority: Priority, at: number) =>
  at + Math.max(0, context.budget[priority] - ackAllowance(context, context.budget[priority]));

export const queueMachine = setup({
  types: {
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueInput,
    emitted: {} as QueueEmitted,
    tags: {} as 'busy' | 'offline' | 'error' | 'auth',
  },
  actors: {
    batch: batchMachine,
    retryBackoff: retryBackoffMachine,
  },
  guards: {
    isOffline: ({ context }) => !context.online,
    isOnline: ({ context }) => context.online,
    hasWork: ({ context }) => context.pending > 0 || context.inFlight !== null,
    windowFull: ({ context }) => context.pending >= context.config.size,
    isHidden: ({ context }) => context.hidden,
    isImmediate: ({ event }) => event.type === 'op.enqueued' && event.priority === 'immediate',
    // A tighter budget than the oldest op's brings the batch forward; a looser one never delays it.
    shortensBudget: ({ context, event }) =>
      event.type === 'op.enqueued' && context.dueAt !== null && dueOf(context, event.priority, context.now()) < context.dueAt,
    reportsPending: ({ event }) => event.type === 'outbox.changed' && event.pending > 0,
    reportsNothing: ({ event }) => event.type === 'outbox.changed' && event.pending <= 0,
    goesOffline: ({ event }) => event.type === 'network.changed' && !event.online,
    comesOnline: ({ event }) => event.type === 'network.changed' && event.online,
    isCurrentBatch: ({ context, event }) => currentBatchOutput(context, event) !== null,
    routeIs: ({ context, event }, params: { route: Route }) => {
      const output = currentBatchOutput(context, event);
      return output !== null && routeOf(context, output) === params.route;
    },
  },
  delays: {
    latencyBudget: ({ context }) => Math.max(0, (context.dueAt ?? context.now()) - context.now()),
    idleGap: ({ context }) => Math.max(0, context.lastEnqueuedAt + context.config.timeoutMs - context.now()),
  },
  actions: {
    'count enqueued': enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'op.enqueued') return;
      const count = Math.max(0, event.count ?? 1);
      const now = context.now();
      const due = dueOf(context, event.priority, now);
      if (context.inFlight) {
        enqueue.assign({
          pending: context.pending + count,
          enqueuedDuringBatch: context.enqueuedDuringBatch + count,
          dueDuringBatch: Math.min(context.dueDuringBatch ?? due, due),
          lastEnqueuedAt: now,
          flushAgain: context.flushAgain || event.priority === 'immediate',
        });
        return;
      }
      enqueue.assign({ pending: context.pending + count, dueAt: Math.min(context.dueAt ?? due, due), lastEnqueuedAt: now });
    }),
    recount: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'outbox.changed') enqueue.assign({ pending: Math.max(0, event.pending) });
    }),
    // Idle → collecting: nothing was waiting, so the budget starts with this op.
    'start collecting': enqueueActions(({ enqueue }) => enqueue.assign({ dueAt: null })),
    // Ops another tab wrote (or a settle left queued) count as enqueued now, at 'normal' priority.
    'collect what waits': enqueueActions(({ context, enqueue }) => {
      const now = context.now();
      const due = dueOf(context, 'normal', now);
      enqueue.assign({ dueAt: Math.min(context.dueDuringBatch ?? due, due), lastEnqueuedAt: context.dueDuringBatch === null ? now : context.lastEnqueuedAt, dueDuringBatch: null });
    }),
    'forget due': enqueueActions(({ enqueue }) => enqueue.assign({ dueAt: null, dueDuringBatch: null })),
    'note hidden': enqueueActions(({ enqueue }) => enqueue.assign({ hidden: true })),
    // Segment's bug #783: a flag set on hide and never reset kept every later batch in unload mode.
    'note visible': enqueueActions(({ enqueue }) => enqueue.assign({ hidden: false })),
    'flush again after this batch': enqueueActions(({ enqueue }) => enqueue.assign({ flushAgain: true })),
    'apply network': enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'network.changed') return;
      enqueue.assign({ online: event.online, config: event.config ?? context.config });
    }),
    'start batch': enqueueActions(({ context, enqueue }) => {
      // One batch at a time: after a pause the earlier one may still be running; wait for it.
      if (context.inFlight) return;
      const batchId = context.newBatchId();
      const { size, maxBatchOps, maxBatchBytes } = context.config;
      // Backlog mode: more waiting than one window's worth, so the batch may grow.
      const maxOps = Math.min(context.pending > size ? Math.max(size, maxBatchOps) : size, context.opsLimit ?? Infinity);
      // A hiding page may be gone before the answer: the request must be a keepalive one, within its limit.
      const keepalive = context.hidden;
      const maxBytes = keepalive ? Math.min(maxBatchBytes, KEEPALIVE_BATCH_BYTES) : maxBatchBytes;
      enqueue.assign({ inFlight: { batchId, maxOps }, batchStartedAt: context.now(), enqueuedDuringBatch: 0, dueDuringBatch: null, dueAt: null, flushAgain: false });
      enqueue.spawnChild('batch', {
        id: batchActorId(batchId),
        input: { batchId, maxOps, maxBytes, requestTimeoutMs: context.requestTimeoutMs, ...(keepalive ? { keepalive } : {}) },
      });
    }),
    'settle batch': enqueueActions(({ context, event, enqueue }, params: { paused: boolean }) => {
      const output = currentBatchOutput(context, event);
      if (!output) return;
      const { patch, failed } = settle(context, output, params.paused);
      enqueue.stopChild(batchActorId(output.batchId));
      enqueue.assign(patch);
      enqueue.emit({ type: 'batch.settled', output });
      if (failed) enqueue.emit(failed);
    }),
    // Nothing left to send: no error still applies.
    'announce drained': enqueueActions(({ enqueue }) => {
      enqueue.assign({ lastError: null, failingSince: null });
      enqueue.emit({ type: 'queue.drained' });
    }),
    'rearm retry': enqueueActions(({ context, self, enqueue }) => {
      // The child is absent only where a model runs the chart without its actors.
      if (!self.getSnapshot()?.children?.['retry-backoff']) return;
      enqueue.sendTo('retry-backoff', { type: 'retry.rearm', delayMs: Math.max(0, (context.nextRetryAt ?? context.now()) - context.now()) });
    }),
    'forget retry': enqueueActions(({ enqueue }) => enqueue.assign({ nextRetryAt: null, retryDelayMs: null })),
  },
}).createMachine({
  id: 'queue',
  context: ({ input }) => {
    const now = input.now ?? Date.now;
    return {
      pending: Math.max(0, input.pending),
      online: input.online,
      config: input.config,
      requestTimeoutMs: input.requestTimeoutMs ?? 30_000,
      backoff: { ...RETRY_BACKOFF_DEFAULTS, ...input.backoff },
      random: input.random ?? Math.random,
      newBatchId: input.newBatchId ?? (() => crypto.randomUUID()),
      now,
      budget: { ...DEFAULT_LATENCY_BUDGET, ...input.budget },
      ackAllowanceMs: input.ackAllowanceMs ?? DEFAULT_ACK_ALLOWANCE_MS,
      lastBatchMs: ASSUMED_BATCH_MS,
      batchStartedAt: now(),
      dueAt: null,
      lastEnqueuedAt: now(),
      dueDuringBatch: null,
      hidden: false,
      inFlight: null,
      enqueuedDuringBatch: 0,
      flushAgain: false,
      attempt: 0,
      failingSince: null,
      serverFailuresInRow: 0,
      opsLimit: null,
      stuck: false,
      retryDelayMs: null,
      nextRetryAt: null,
      lastSyncAt: null,
      lastError: null,
      batchesSent: 0,
      batchesFailed: 0,
      opsAcked: 0,
      requestsSent: 0,
    };
  },
  initial: 'resuming',
  on: {
    'op.enqueued': { actions: 'count enqueued' },
    'outbox.changed': { actions: 'recount' },
    'network.changed': [{ guard: 'goesOffline', target: '.paused.offline', actions: 'apply network' }, { actions: 'apply network' }],
    'auth.expired': { guard: 'isOnline', target: '.paused.auth' },
    'page.hidden': { actions: 'note hidden' },
    'page.visible': { actions: 'note visible' },
  },
  states: {
    // Where a start or a return to the network decides: anything left over goes out at once.
    resuming: {
      always: [{ guard: 'isOffline', target: 'paused.offline' }, { guard: 'hasWork', target: 'flushing' }, { target: 'idle' }],
    },
    idle: {
      entry: 'forget due',
      on: {
        'op.enqueued': [
          { guard: 'isImmediate', target: 'flushing', actions: 'count enqueued' },
          { target: 'collecting', actions: ['start collecting', 'count enqueued'] },
        ],
        'outbox.changed': { guard: 'reportsPending', target: 'collecting', actions: ['recount', 'collect what waits'] },
        'sync.now': 'flushing',
      },
    },
    collecting: {
      description: 'Ops wait for a fuller batch: until the size fills, the oldest op\'s budget runs out, or the stream pauses.',
      always: [
        { guard: 'windowFull', target: 'flushing' },
        { guard: 'isHidden', target: 'flushing' },
      ],
      // Counted from the oldest op: later ops re-enter only `streaming`, which leaves this timer alone.
      after: { latencyBudget: 'flushing' },
      initial: 'streaming',
      states: {
        streaming: {
          description: 'The idle gap, restarted by every new op.',
          after: { idleGap: '#queue.flushing' },
        },
      },
      on: {
        'op.enqueued': [
          { guard: 'isImmediate', target: 'flushing', actions: 'count enqueued' },
          { guard: 'shortensBudget', target: 'collecting', reenter: true, actions: 'count enqueued' },
          { target: '.streaming', reenter: true, actions: 'count enqueued' },
        ],
        'outbox.changed': { guard: 'reportsNothing', target: 'idle', actions: ['recount', 'announce drained'] },
        // A new quality changes size and idle gap; re-entering re-arms the timers for what is left of them.
        'network.changed': { guard: 'comesOnline', target: 'collecting', reenter: true, actions: 'apply network' },
        'sync.now': 'flushing',
        'page.hidden': { target: 'flushing', actions: 'note hidden' },
      },
    },
    flushing: {
      tags: 'busy',
      entry: 'start batch',
      on: {
        'xstate.done.actor.*': [
          { guard: { type: 'routeIs', params: { route: 'auth' } }, target: 'paused.auth', actions: { type: 'settle batch', params: { paused: true } } },
          { guard: { type: 'routeIs', params: { route: 'retry' } }, target: 'backoff', actions: { type: 'settle batch', params: { paused: false } } },
          { guard: { type: 'routeIs', params: { route: 'flush' } }, target: 'flushing', reenter: true, actions: { type: 'settle batch', params: { paused: false } } },
          { guard: { type: 'routeIs', params: { route: 'collect' } }, target: 'collecting', actions: [{ type: 'settle batch', params: { paused: false } }, 'collect what waits'] },
          { guard: { type: 'routeIs', params: { route: 'idle' } }, target: 'idle', actions: [{ type: 'settle batch', params: { paused: false } }, 'announce drained'] },
        ],
        'sync.now': { actions: 'flush again after this batch' },
      },
    },
    backoff: {
      tags: 'error',
      exit: 'forget retry',
      invoke: {
        id: 'retry-backoff',
        src: 'retryBackoff',
        // The queue drew the delay already (so it can publish nextRetryAt); the child waits exactly that.
        input: ({ context }) => ({
          attempt: Math.min(Math.max(0, context.attempt - 1), context.backoff.maxAttempts - 1),
          baseMs: context.backoff.baseMs,
          capMs: context.backoff.capMs,
          maxAttempts: context.backoff.maxAttempts,
          delayMs: context.retryDelayMs ?? 0,
        }),
        onDone: 'flushing',
      },
      on: {
        'sync.now': 'flushing',
        'retry.rearm': { actions: 'rearm retry' },
      },
    },
    paused: {
      initial: 'offline',
      on: {
        // A batch started before the pause may still finish or time out; record it and stay paused.
        'xstate.done.actor.*': { guard: 'isCurrentBatch', actions: { type: 'settle batch', params: { paused: true } } },
      },
      states: {
        offline: {
          tags: 'offline',
          on: {
            'network.changed': [
              { guard: 'comesOnline', target: '#queue.resuming', actions: 'apply network' },
              { actions: 'apply network' },
            ],
          },
        },
        auth: {
          tags: 'auth',
          on: { 'auth.refreshed': '#queue.flushing' },
        },
      },
    },
  },
});
