export { enqueueOperation, enqueueOperations, OUTBOX_TABLES, DEFAULT_MAX_RETRIES, type EnqueueInput } from './enqueue.ts';
export { claimBatch, recordResults, releaseBatch, recoverInFlight, SETTLE_CHUNK, type ClaimOptions, type SettleOptions } from './batches.ts';
export { countPending } from './pending.ts';
export { coalesceQueued, type CoalesceOutcome } from './coalesce.ts';
export { listDeadLetters, retryDeadLetter, discardDeadLetter } from './deadLetters.ts';
export { OutboxError, type OutboxErrorCode } from './errors.ts';
export { toWireOperation, jsonBytes } from './wire.ts';
export { WRITE_BACK_TABLES } from './writeBack.ts';
export { pruneHistory, pruneInterval, DEFAULT_HISTORY_BOUNDS, type HistoryBounds, type PruneOutcome } from './history.ts';
