// The outbox scheduler, in two parallel regions: `transfer` sends one batch at a time (by structure:
// it has one `sending` state, which invokes the batch), `schedule` decides when the next one goes.
// The Dexie outbox is the truth; this machine holds counts and timers, never copies of operations.
// The clock and the batch ids come through `.provide(queueEnvironment({ now, newBatchId }))`, so the
// context is plain data and a persisted snapshot restores as it is.
import { enqueueActions, setup, stateIn, type SnapshotFrom } from 'xstate';
import { batchMachine, type BatchOutput } from './batch.machine.ts';
import { RETRY_BACKOFF_DEFAULTS, retryBackoffMachine } from './retryBackoff.machine.ts';
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
};

/** Where the queue reads the time and gets batch ids (provided; tests give a simulated clock). */
export type QueueEnvironment = { now: () => number; newBatchId: () => string };

/*
 * When a batch goes (schedule: collecting → flushing), the first of:
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
  /** The batch the transfer region is sending (its actor is `batch`), if any. */
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
  /** The check before a set-aside attempt got no answer: the server is away, so no lone op is called stuck until it answers. */
  serverAway?: boolean;
  /** Consecutive 5xx answers to that lone op (HALVE_AFTER of them set it aside). */
  loneFailuresInRow: number;
  /** When the first set-aside op is due (epoch ms), as the last batch's outcome said; null while none is. */
  setAsideWakeAt: number | null;
  /** A set-aside op is due: the next batch carries it alone. */
  setAsideDue: boolean;
  /**
   * A lone op was just set aside on trial: the next batch leaves it out and tests the others. If
   * the server takes them, the op stays set aside; if not, it gets its place back (an outage, not
   * the op). Set aside again after it was confirmed, it is no trial.
   */
  trialBatch: boolean;
  /** The wait retryBackoff drew for the retry now scheduled, and when that retry is due. */
  retryDelayMs: number | null;
  nextRetryAt: number | null;
  lastSyncAt: number | null;
  lastError: TransportFailure | null;
  batchesSent: number;
  batchesFailed: number;
  opsAcked: number;
  requestsSent: number;
};

/** The invoked batch's id (one at a time, so one id). */
export const BATCH_ACTOR_ID = 'batch';
/** The invoked retry timer's id. */
export const RETRY_BACKOFF_ACTOR_ID = 'retry-backoff';

export type BatchDoneEvent = { type: 'xstate.done.actor.batch'; output: BatchOutput };
/** retryBackoff's snapshot: the queue publishes the wait it drew. */
export type RetryDrawnEvent = { type: 'xstate.snapshot.retry-backoff'; snapshot: SnapshotFrom<typeof retryBackoffMachine> };

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
  | BatchDoneEvent
  | RetryDrawnEvent;

export type QueueEmitted =
  | { type: 'batch.settled'; output: BatchOutput }
  | { type: 'queue.drained' }
  /** `atCap`: the wait no longer grows (past maxAttempts); the queue still retries. */
  | { type: 'sync.failed'; failure: TransportFailure; attempt: number; nextRetryAt: number | null; atCap: boolean };

/**
 * After this many 5xx in a row for a batch of several ops, the next batch takes half as many:
 * one op the server cannot take (a bug, a row it chokes on) must not hold back the ops before
 * it, and alone it shows who is stuck.
 */
export const HALVE_AFTER = 3;

/** How many ops the batch's release set aside (a lone op the server kept failing on). */
const setAsideBy = (output: BatchOutput | null): number => (output?.outcome && 'setAside' in output.outcome ? (output.outcome.setAside ?? 0) : 0);

const RETRYABLE: ReadonlySet<FailureKind> = new Set(['network', 'timeout', 'server', 'rateLimited']);

const outputOf = (event: QueueEvent): BatchOutput | null => (event.type === 'xstate.done.actor.batch' ? event.output : null);

const failureOf = (output: BatchOutput | null): TransportFailure | undefined =>
  output?.status === 'failed' ? (output.failure ?? { kind: 'server', message: 'the request failed' }) : undefined;

// The outbox's own count when the batch reports it, plus what was enqueued meanwhile. This may count
// an op twice (never zero times): an extra claim finds nothing and the queue goes idle.
function pendingAfter(context: QueueContext, output: BatchOutput): number {
  if (output.outcome) return output.outcome.pending + context.enqueuedDuringBatch;
  if (output.status === 'empty') return context.enqueuedDuringBatch;
  return context.pending;
}

/** Everything a settled batch changes in the counts and the failure record, as plain data. */
function settle(context: QueueContext, output: BatchOutput, now: number): Partial<QueueContext> {
  const failure = failureOf(output);
  const succeeded = output.status === 'completed' || output.status === 'partial' || output.status === 'empty';
  // The server answered (all refused is an answer): the failing stretch is over; its refusals are dead letters.
  const answered = succeeded || failure?.kind === 'fatal';
  const retryable = failure !== undefined && RETRYABLE.has(failure.kind);
  // A 429 with Retry-After is the server pacing us, not a failure to count.
  const waitServer = failure?.kind === 'rateLimited' && failure.retryAfterMs !== undefined;
  const attempt = answered ? 0 : retryable && !waitServer ? context.attempt + 1 : context.attempt;
  const outcome = output.outcome;
  // A 503 says the whole server is away (its database, its capacity): no op's fault.
  const serverError = failure?.kind === 'server' && failure.status !== 503;
  const streak = serverError && output.opCount > 1 ? context.serverFailuresInRow + 1 : 0;
  const halve = streak >= HALVE_AFTER;
  const doubled = context.opsLimit === null ? null : context.opsLimit * 2 >= context.config.size ? null : context.opsLimit * 2;
  const opsLimit = halve ? Math.max(1, Math.ceil(output.opCount / 2)) : succeeded && output.opCount > 0 ? doubled : context.opsLimit;
  const acknowledged = output.status === 'completed' || output.status === 'partial';
  // A format-2 snapshot saved before set-asides existed lacks these fields.
  const lone = serverError && output.opCount === 1 && context.opsLimit === 1;
  const setAside = setAsideBy(output) > 0;
  const serverAway = output.serverCheck === 'away' || (output.serverCheck !== 'answered' && !answered && (context.serverAway ?? false));
  const wakeAt = context.setAsideWakeAt ?? null;
  // Without an outcome (nothing claimed, a storage failure) the last one known stands, unless its
  // time came and went: then the claim found nothing due, and waking again would find nothing either.
  const setAsideWakeAt = outcome ? (outcome.setAsideUntil ?? null) : wakeAt !== null && wakeAt > now ? wakeAt : null;
  return {
    pending: pendingAfter(context, output),
    inFlight: null,
    enqueuedDuringBatch: 0,
    flushAgain: false,
    attempt,
    lastSyncAt: acknowledged ? now : context.lastSyncAt,
    lastBatchMs: acknowledged ? Math.max(0, now - context.batchStartedAt) : context.lastBatchMs,
    // Only a failure that is being retried is shown; an answer ends it.
    lastError: retryable ? plainFailure(failure) : answered ? null : context.lastError,
    failingSince: retryable ? (context.failingSince ?? now) : answered ? null : context.failingSince,
    serverFailuresInRow: halve ? 0 : streak,
    // With the op the server chokes on set aside, the rest goes in whole batches again.
    opsLimit: setAside ? null : opsLimit,
    stuck: setAside || serverAway ? false : serverError ? lone : answered ? false : context.stuck,
    serverAway,
    loneFailuresInRow: setAside ? 0 : lone ? (context.loneFailuresInRow ?? 0) + 1 : 0,
    setAsideWakeAt,
    setAsideDue: setAsideWakeAt !== null && setAsideWakeAt <= now,
    // A due op alone set aside again was confirmed before; any other lone op set aside is on trial.
    trialBatch: setAside && !context.setAsideDue,
    batchesSent: context.batchesSent + (acknowledged ? 1 : 0),
    batchesFailed: context.batchesFailed + (output.status === 'failed' ? 1 : 0),
    opsAcked: context.opsAcked + (outcome && 'succeeded' in outcome ? outcome.succeeded : 0),
    requestsSent: context.requestsSent + (output.opCount > 0 ? 1 : 0),
  };
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

const queueSetup = setup({
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
});

type Args = { context: QueueContext; event: QueueEvent };

/**
 * The actions, guards and delays that read the clock or make batch ids, for
 * `queueMachine.provide(queueEnvironment({ now, newBatchId }))`.
 */
export function queueEnvironment(env: QueueEnvironment) {
  const { now, newBatchId } = env;
  return {
    guards: {
      // A tighter budget than the oldest op's brings the batch forward; a looser one never delays it.
      shortensBudget: ({ context, event }: Args) =>
        event.type === 'op.enqueued' && context.dueAt !== null && dueOf(context, event.priority, now()) < context.dueAt,
    },
    delays: {
      latencyBudget: ({ context }: Args) => Math.max(0, (context.dueAt ?? now()) - now()),
      idleGap: ({ context }: Args) => Math.max(0, context.lastEnqueuedAt + context.config.timeoutMs - now()),
      setAsideWake: ({ context }: Args) => Math.max(0, (context.setAsideWakeAt ?? now()) - now()),
    },
    actions: {
      'count enqueued': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          if (event.type !== 'op.enqueued') return;
          const count = Math.max(0, event.count ?? 1);
          const at = now();
          const due = dueOf(context, event.priority, at);
          enqueue.assign({ pending: context.pending + count, dueAt: Math.min(context.dueAt ?? due, due), lastEnqueuedAt: at });
        }),
      ),
      // They wait for the next batch, with their own budget; an 'immediate' one sends it at once.
      'count enqueued during batch': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          if (event.type !== 'op.enqueued') return;
          const count = Math.max(0, event.count ?? 1);
          const at = now();
          const due = dueOf(context, event.priority, at);
          enqueue.assign({
            pending: context.pending + count,
            enqueuedDuringBatch: context.enqueuedDuringBatch + count,
            dueDuringBatch: Math.min(context.dueDuringBatch ?? due, due),
            lastEnqueuedAt: at,
            flushAgain: context.flushAgain || event.priority === 'immediate',
          });
        }),
      ),
      // Ops another tab wrote (or a settle left queued) count as enqueued now, at 'normal' priority.
      'collect what waits': queueSetup.createAction(
        enqueueActions(({ context, enqueue }) => {
          const at = now();
          const due = dueOf(context, 'normal', at);
          enqueue.assign({
            dueAt: Math.min(context.dueDuringBatch ?? due, due),
            lastEnqueuedAt: context.dueDuringBatch === null ? at : context.lastEnqueuedAt,
            dueDuringBatch: null,
          });
        }),
      ),
      'start batch': queueSetup.createAction(
        enqueueActions(({ context, enqueue }) => {
          const { size, maxBatchOps } = context.config;
          // Backlog mode: more waiting than one window's worth, so the batch may grow.
          // A due set-aside op travels alone (the outbox claims it so), unless this batch tests the others.
          const maxOps = context.setAsideDue && !context.trialBatch ? 1 : Math.min(context.pending > size ? Math.max(size, maxBatchOps) : size, context.opsLimit ?? Infinity);
          enqueue.assign({
            inFlight: { batchId: newBatchId(), maxOps },
            batchStartedAt: now(),
            enqueuedDuringBatch: 0,
            dueDuringBatch: null,
            dueAt: null,
            flushAgain: false,
          });
        }),
      ),
      'settle batch': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          const output = outputOf(event);
          if (!output) return;
          enqueue.assign(settle(context, output, now()));
          enqueue.emit({ type: 'batch.settled', output });
        }),
      ),
      'publish retry': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          if (event.type !== 'xstate.snapshot.retry-backoff') return;
          const { delayMs, attempt, maxAttempts } = event.snapshot.context;
          const retryDelayMs = delayMs ?? 0;
          const nextRetryAt = now() + retryDelayMs;
          enqueue.assign({ retryDelayMs, nextRetryAt });
          const failure = context.lastError ?? { kind: 'server', message: 'the request failed' };
          enqueue.emit({ type: 'sync.failed', failure, attempt: context.attempt, nextRetryAt, atCap: attempt >= maxAttempts - 1 });
        }),
      ),
      'rearm retry': queueSetup.createAction(
        enqueueActions(({ context, self, enqueue }) => {
          // The child is absent only where a model runs the chart without its actors.
          if (!self.getSnapshot()?.children?.[RETRY_BACKOFF_ACTOR_ID]) return;
          enqueue.sendTo(RETRY_BACKOFF_ACTOR_ID, { type: 'retry.rearm', delayMs: Math.max(0, (context.nextRetryAt ?? now()) - now()) });
        }),
      ),
    },
  };
}

const realEnvironment = queueEnvironment({ now: () => Date.now(), newBatchId: () => crypto.randomUUID() });

export const queueMachine = queueSetup
  .extend({
    guards: {
      ...realEnvironment.guards,
      isOffline: ({ context }: Args) => !context.online,
      isOnline: ({ context }: Args) => context.online,
      hasWork: ({ context }: Args) => context.pending > 0 || context.inFlight !== null,
      windowFull: ({ context }: Args) => context.pending >= context.config.size,
      isHidden: ({ context }: Args) => context.hidden,
      isImmediate: ({ event }: Args) => event.type === 'op.enqueued' && event.priority === 'immediate',
      reportsPending: ({ event }: Args) => event.type === 'outbox.changed' && event.pending > 0,
      reportsNothing: ({ event }: Args) => event.type === 'outbox.changed' && event.pending <= 0,
      goesOffline: ({ event }: Args) => event.type === 'network.changed' && !event.online,
      comesOnline: ({ event }: Args) => event.type === 'network.changed' && event.online,
      batchOut: ({ context }: Args) => context.inFlight !== null,
      batchIsDue: stateIn('#queue.schedule.flushing'),
      hasSetAside: ({ context }: Args) => (context.setAsideWakeAt ?? null) !== null,
      // How a batch ended, in the order the schedule asks (all before the batch is settled):
      isAuthFailure: ({ event }: Args) => failureOf(outputOf(event))?.kind === 'auth',
      setsAside: ({ event }: Args) => setAsideBy(outputOf(event)) > 0,
      isRetryable: ({ event }: Args) => {
        const failure = failureOf(outputOf(event));
        return failure !== undefined && RETRYABLE.has(failure.kind);
      },
      drained: ({ context, event }: Args) => {
        const output = outputOf(event);
        return output !== null && pendingAfter(context, output) === 0;
      },
      sendsAgain: ({ context, event }: Args) => {
        const output = outputOf(event);
        // A set-aside op the server took at last: its card's ops, held behind it, follow at once.
        const setAsideTaken = context.setAsideDue && output?.status === 'completed';
        // Coming back from halved batches: one full to its limit was taken, so what waits behind it
        // (written during the failing stretch, its budget long spent) goes now, in a batch twice as big.
        const rampingUp = context.opsLimit !== null && (output?.status === 'completed' || output?.status === 'partial') && output.opCount >= context.opsLimit;
        return output !== null && (context.flushAgain || context.hidden || setAsideTaken || rampingUp || pendingAfter(context, output) >= context.config.size);
      },
      waitDrawn: ({ context, event }: Args) =>
        event.type === 'xstate.snapshot.retry-backoff' && event.snapshot.context.delayMs !== null && context.nextRetryAt === null,
    },
    delays: realEnvironment.delays,
    actions: {
      ...realEnvironment.actions,
      recount: queueSetup.createAction(
        enqueueActions(({ event, enqueue }) => {
          if (event.type === 'outbox.changed') enqueue.assign({ pending: Math.max(0, event.pending) });
        }),
      ),
      // Idle → collecting: nothing was waiting, so the budget starts with this op.
      'start collecting': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ dueAt: null }))),
      'forget due': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ dueAt: null, dueDuringBatch: null }))),
      'note hidden': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ hidden: true }))),
      // Segment's bug #783: a flag set on hide and never reset kept every later batch in unload mode.
      'note visible': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ hidden: false }))),
      'flush again after this batch': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ flushAgain: true }))),
      'apply network': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          if (event.type !== 'network.changed') return;
          enqueue.assign({ online: event.online, config: event.config ?? context.config });
        }),
      ),
      // A failure that schedules no retry (auth, refused, or one that came back while paused).
      'report failure': queueSetup.createAction(
        enqueueActions(({ context, event, enqueue }) => {
          const failure = failureOf(outputOf(event));
          if (!failure) return;
          enqueue.emit({ type: 'sync.failed', failure: plainFailure(failure), attempt: context.attempt, nextRetryAt: null, atCap: false });
        }),
      ),
      // Nothing left to send: no error still applies.
      'announce drained': queueSetup.createAction(
        enqueueActions(({ enqueue }) => {
          enqueue.assign({ lastError: null, failingSince: null });
          enqueue.emit({ type: 'queue.drained' });
        }),
      ),
      'wake set-aside': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ setAsideDue: true }))),
      'forget retry': queueSetup.createAction(enqueueActions(({ enqueue }) => enqueue.assign({ nextRetryAt: null, retryDelayMs: null }))),
    },
  })
  .createMachine({
    id: 'queue',
    context: ({ input }) => ({
      pending: Math.max(0, input.pending),
      online: input.online,
      config: input.config,
      requestTimeoutMs: input.requestTimeoutMs ?? 30_000,
      backoff: { ...RETRY_BACKOFF_DEFAULTS, ...input.backoff },
      budget: { ...DEFAULT_LATENCY_BUDGET, ...input.budget },
      ackAllowanceMs: input.ackAllowanceMs ?? DEFAULT_ACK_ALLOWANCE_MS,
      lastBatchMs: ASSUMED_BATCH_MS,
      // Both are set before they are read (a batch's start, an op's enqueue).
      batchStartedAt: 0,
      dueAt: null,
      lastEnqueuedAt: 0,
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
      serverAway: false,
      loneFailuresInRow: 0,
      setAsideWakeAt: null,
      setAsideDue: false,
      trialBatch: false,
      retryDelayMs: null,
      nextRetryAt: null,
      lastSyncAt: null,
      lastError: null,
      batchesSent: 0,
      batchesFailed: 0,
      opsAcked: 0,
      requestsSent: 0,
    }),
    type: 'parallel',
    states: {
      transfer: {
        description: 'Sends the batches, one at a time: a second cannot start while one is out.',
        initial: 'idle',
        states: {
          idle: {
            description: 'No request is out; a batch starts as soon as the schedule says one is due.',
            always: { guard: 'batchIsDue', target: 'sending' },
          },
          sending: {
            description: 'One batch claims ops from the outbox, sends them in one request and records the answer.',
            tags: 'busy',
            entry: 'start batch',
            invoke: {
              id: BATCH_ACTOR_ID,
              src: 'batch',
              input: ({ context }) => {
                // A hiding page may be gone before the answer: the request must be a keepalive one, within its limit.
                const keepalive = context.hidden;
                const { maxBatchBytes } = context.config;
                return {
                  batchId: context.inFlight?.batchId ?? '',
                  maxOps: context.inFlight?.maxOps ?? 0,
                  maxBytes: keepalive ? Math.min(maxBatchBytes, KEEPALIVE_BATCH_BYTES) : maxBatchBytes,
                  requestTimeoutMs: context.requestTimeoutMs,
                  now: context.batchStartedAt,
                  ...(context.trialBatch ? { trial: true } : {}),
                  // A lone op failing with a 5xx for the HALVE_AFTER-th time in a row waits apart from the rest, from the backoff cap.
                  setAside: { baseMs: context.backoff.capMs, streakReached: (context.loneFailuresInRow ?? 0) >= HALVE_AFTER - 1 },
                  ...(keepalive ? { keepalive } : {}),
                };
              },
              onDone: { target: 'idle', actions: 'settle batch' },
            },
          },
        },
      },
      schedule: {
        description: 'Decides when the next batch goes: now, after collecting, after a backoff, or not while paused.',
        initial: 'resuming',
        // What every schedule state does unless it says otherwise.
        on: {
          'op.enqueued': [{ guard: 'batchOut', actions: 'count enqueued during batch' }, { actions: 'count enqueued' }],
          'outbox.changed': { actions: 'recount' },
          'network.changed': [{ guard: 'goesOffline', target: '.paused.offline', actions: 'apply network' }, { actions: 'apply network' }],
          'auth.expired': { guard: 'isOnline', target: '.paused.auth' },
          'page.hidden': { actions: 'note hidden' },
          'page.visible': { actions: 'note visible' },
        },
        states: {
          resuming: {
            description: 'A start, or a return to the network: anything left over goes out at once.',
            always: [{ guard: 'isOffline', target: 'paused.offline' }, { guard: 'hasWork', target: 'flushing' }, { target: 'idle' }],
          },
          idle: {
            description: 'Nothing waits to be sent, or only ops set aside until their time: then it wakes when the first is due.',
            entry: 'forget due',
            after: { setAsideWake: { guard: 'hasSetAside', target: 'flushing', actions: 'wake set-aside' } },
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
            description: "Ops wait for a fuller batch: until the size fills, the oldest op's budget runs out, or the stream pauses.",
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
                after: { idleGap: '#queue.schedule.flushing' },
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
            description:
              'A batch is due or out. When it ends: a 401 pauses for auth, a lone op set aside sends the rest at once, ' +
              'a retryable failure backs off, nothing left goes idle, ' +
              'a full window (or Sync Now, an immediate op, a hidden page, a halved batch taken whole) sends again, anything else collects.',
            on: {
              'xstate.done.actor.batch': [
                { guard: 'isAuthFailure', target: 'paused.auth', actions: 'report failure' },
                { guard: 'setsAside', target: 'resuming', actions: 'report failure' },
                { guard: 'isRetryable', target: 'backoff' },
                { guard: 'drained', target: 'idle', actions: ['report failure', 'announce drained'] },
                { guard: 'sendsAgain', target: 'flushing', actions: 'report failure' },
                { target: 'collecting', actions: ['report failure', 'collect what waits'] },
              ],
              'sync.now': { actions: 'flush again after this batch' },
            },
          },
          backoff: {
            description: 'A retryable failure (network, timeout, 5xx, 429): wait the drawn backoff, then send again.',
            tags: 'error',
            exit: 'forget retry',
            invoke: {
              id: RETRY_BACKOFF_ACTOR_ID,
              src: 'retryBackoff',
              input: ({ context }) => ({
                attempt: context.attempt - 1,
                baseMs: context.backoff.baseMs,
                capMs: context.backoff.capMs,
                maxAttempts: context.backoff.maxAttempts,
                ...(context.lastError?.retryAfterMs !== undefined
                  ? { retryAfterMs: context.lastError.retryAfterMs, retryAfterOnly: context.lastError.kind === 'rateLimited' }
                  : {}),
              }),
              onSnapshot: { guard: 'waitDrawn', actions: 'publish retry' },
              onDone: 'flushing',
            },
            on: {
              'sync.now': 'flushing',
              'retry.rearm': { actions: 'rearm retry' },
            },
          },
          paused: {
            description: 'Nothing is sent until the cause is gone; a batch already out still ends and is recorded.',
            initial: 'offline',
            on: {
              'xstate.done.actor.batch': { actions: 'report failure' },
            },
            states: {
              offline: {
                description: 'The device is offline: ops wait in the outbox.',
                tags: 'offline',
                on: {
                  'network.changed': [
                    { guard: 'comesOnline', target: '#queue.schedule.resuming', actions: 'apply network' },
                    { actions: 'apply network' },
                  ],
                },
              },
              auth: {
                description: 'The server refused the session (401): wait for a renewed one, without spending an attempt.',
                tags: 'auth',
                on: { 'auth.refreshed': '#queue.schedule.flushing' },
              },
            },
          },
        },
      },
    },
  });
