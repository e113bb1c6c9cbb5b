// The vocabulary the machines share with the code that gives them their actors.
// Machines import only types from here; every effect is an injected actor.
import type { OperationResult, OperationType, WireOperation } from '../supabase/functions/_shared/protocol.ts';

export type { OperationResult, OperationType, WireOperation };

export type Priority = 'immediate' | 'high' | 'normal' | 'low';
export type Quality = 'poor' | 'good' | 'excellent';

/** How the queue batches on one connection quality. */
export type BatchConfig = {
  /** Ops that send a batch at once. */
  size: number;
  /**
   * The idle gap: a batch goes once no new op came for this long (the stream paused). It is the
   * seed's window, counted from the latest op instead of the first, so it must be longer than the
   * usual gap of a study session; the latency budget caps the wait from the oldest op.
   */
  timeoutMs: number;
  /** Backlog mode: when more than `size` ops wait, a batch may grow up to this many ops… */
  maxBatchOps: number;
  /** …and this many bytes of operations (both below the function's limits). */
  maxBatchBytes: number;
};

/**
 * The seed's table (poor 3 ops, good 10, excellent 20) plus backlog bounds. Its timeouts (15 / 5 / 2 s
 * from the first op) became idle gaps of at least 10 s, counted from the latest op: with writes every
 * 2–6 s a 2 s window held one op, so every review was a request and the radio never slept.
 */
export const DEFAULT_BATCH_CONFIG: Record<Quality, BatchConfig> = {
  poor: { size: 3, timeoutMs: 15_000, maxBatchOps: 3, maxBatchBytes: 64 * 1024 },
  good: { size: 10, timeoutMs: 10_000, maxBatchOps: 250, maxBatchBytes: 512 * 1024 },
  excellent: { size: 20, timeoutMs: 10_000, maxBatchOps: 500, maxBatchBytes: 768 * 1024 },
};

/**
 * The latency budget per priority: the longest an op waits from its enqueue to its acknowledgement,
 * counted from the OLDEST op waiting (a later op never restarts it). 'immediate' goes at once.
 */
export type LatencyBudget = Record<Priority, number>;

export const DEFAULT_LATENCY_BUDGET: LatencyBudget = { immediate: 0, high: 30_000, normal: 30_000, low: 120_000 };

/**
 * How much of the budget is kept for sending: a batch leaves this floor plus three times the last
 * batch's duration (claim, request, record) before the budget ends, at most a quarter of it, so its
 * answer still arrives within the budget on a slow device or network.
 */
export const DEFAULT_ACK_ALLOWANCE_MS = 500;
/** The batch duration assumed before one was timed. */
export const ASSUMED_BATCH_MS = 500;

/**
 * Fetch keepalive's limit is 64 KiB of bodies in flight per page; a batch sent while the page hides
 * carries at most this many bytes of operations, leaving room for the request's own envelope.
 */
export const KEEPALIVE_BATCH_BYTES = 60 * 1024;

/** Why a whole request failed; decides retry, wait, pause or dead letter. */
export type FailureKind =
  | 'network' // fetch failed, connection reset, relay error
  | 'timeout' // no answer within the request timeout
  | 'server' // 5xx
  | 'rateLimited' // 429, honour retryAfterMs
  | 'auth' // 401: pause, refresh the session, resend without spending a retry
  | 'fatal'; // other 4xx: the request itself is wrong; its ops go to dead letters

export type TransportFailure = {
  kind: FailureKind;
  message: string;
  status?: number;
  code?: string;
  retryAfterMs?: number;
};

/** The ops a batch took out of the outbox (marked inFlight with its batchId). */
export type ClaimedBatch = {
  batchId: string;
  operations: WireOperation[];
  bytes: number;
};

export type UploadResult =
  | { ok: true; results: OperationResult[] }
  | { ok: false; failure: TransportFailure };

/** The answer to a check that the server is there at all (a GET to the function). */
export type ServerCheck = { ok: true } | { ok: false; failure: TransportFailure };

/** What recording a batch's answer did to the outbox. */
export type RecordOutcome = {
  status: 'completed' | 'partial' | 'failed';
  succeeded: number;
  /** Ops that went back to the queue (retryable per-op errors, or left out of the answer). */
  requeued: number;
  /** Ops that now wait on a refused change they depend on (status 'held'). */
  held: number;
  /** Ops moved to dead letters (permanent per-op errors, or the server's retryable answers for the op exhausted). */
  dead: number;
  /** Ops still queued in the outbox afterwards (set-aside ones not counted once confirmed: they wait for their time). */
  pending: number;
  /** While ops are set aside (confirmed): when the first of them is due (epoch ms). */
  setAsideUntil?: number;
};

/** What releasing a failed batch did: its ops are queued again or dead. */
export type ReleaseOutcome = {
  requeued: number;
  dead: number;
  pending: number;
  /**
   * Ops this release set aside (a lone op the server kept failing on); absent when none. A first
   * set-aside is on trial: the op is still pending until the next batch, without it, is answered.
   */
  setAside?: number;
  /** While ops are set aside (confirmed): when the first of them is due (epoch ms). */
  setAsideUntil?: number;
};

/** What coalescing did to the queued ops before a claim (cancelled and merged ones leave the outbox). */
export type CoalesceResult = { removed: number };

// Inputs of the injected promise actors (the `input` a machine passes them).
/**
 * `now`: the queue's clock (epoch ms), which decides whether a set-aside op is due. `trial`: the
 * batch right after an op was set aside on trial; it leaves that op out, so its answer says whether
 * the server takes the others (any other claim gives an op on trial its place back).
 */
export type ClaimBatchInput = { batchId: string; maxOps: number; maxBytes: number; now?: number; trial?: boolean };
/** `keepalive`: the page is hiding or closing; the request must outlive it (fetch keepalive). */
export type UploadBatchInput = { batchId: string; operations: WireOperation[]; keepalive?: boolean };
export type RecordResultsInput = { batchId: string; results: OperationResult[] };
/**
 * `setAside`: a lone op failing with a 5xx is set aside when `streakReached` (its HALVE_AFTER-th such
 * failure in a row) or when it was set aside before; its first wait is `baseMs`. `now`: the queue's clock.
 */
export type ReleaseBatchInput = { batchId: string; failure: TransportFailure; setAside?: SetAsideRequest; now?: number };
export type SetAsideRequest = { baseMs: number; streakReached: boolean };
