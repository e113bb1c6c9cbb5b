// The vocabulary the machines share with the code that gives them their actors.
// Machines import only types from here; every effect is an injected actor.
import type { OperationResult, OperationType, WireOperation } from '../supabase/functions/_shared/protocol.ts';

export type { OperationResult, OperationType, WireOperation };

export type Priority = 'immediate' | 'high' | 'normal' | 'low';
export type Quality = 'poor' | 'good' | 'excellent';

/** How the queue batches on one connection quality. */
export type BatchConfig = {
  /** Ops that close the window at once. */
  size: number;
  /** How long the window stays open after its first op. */
  timeoutMs: number;
  /** Backlog mode: when more than `size` ops wait, a batch may grow up to this many ops… */
  maxBatchOps: number;
  /** …and this many bytes of operations (both below the function's limits). */
  maxBatchBytes: number;
};

/** The seed's table (poor 3/15 s, good 10/5 s, excellent 20/2 s) plus backlog bounds. */
export const DEFAULT_BATCH_CONFIG: Record<Quality, BatchConfig> = {
  poor: { size: 3, timeoutMs: 15_000, maxBatchOps: 3, maxBatchBytes: 64 * 1024 },
  good: { size: 10, timeoutMs: 5_000, maxBatchOps: 250, maxBatchBytes: 512 * 1024 },
  excellent: { size: 20, timeoutMs: 2_000, maxBatchOps: 500, maxBatchBytes: 768 * 1024 },
};

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
  /** Ops still queued in the outbox afterwards. */
  pending: number;
};

/** What releasing a failed batch did: its ops are queued again or dead. */
export type ReleaseOutcome = { requeued: number; dead: number; pending: number };

// Inputs of the injected promise actors (the `input` a machine passes them).
export type ClaimBatchInput = { batchId: string; maxOps: number; maxBytes: number };
export type UploadBatchInput = { batchId: string; operations: WireOperation[] };
export type RecordResultsInput = { batchId: string; results: OperationResult[] };
export type ReleaseBatchInput = { batchId: string; failure: TransportFailure };
