// The package's core entry (`verses-sync`): what an app needs to write locally and sync.
// Dev-only code (the local stack, the demo, the inspector) stays out of it.
export {
  createVersesDb,
  DEFAULT_DB_NAME,
  APP_TABLES,
  type AppTableName,
  type VersesDb,
  type Verse,
  type VerseCard,
  type ReviewLog,
  type Alias,
  type Profile,
  type OperationStatus,
  type StoredError,
  type SyncOperation,
  type SyncBatchStatus,
  type SyncBatch,
  requestPersistentStorage,
  type StoragePersistence,
} from './db/index.ts';
export {
  createDataService,
  DataServiceError,
  DEFAULT_TRANSLATION,
  type DataService,
  type DataServiceErrorCode,
  type DataServiceOptions,
  type EnqueuedEvent,
  type NewVerseCard,
  type ProfilePatch,
  type WriteOptions,
} from './service/dataService.ts';
export {
  BatchSyncService,
  SyncServiceError,
  type BatchSyncServiceOptions,
  type SyncMetrics,
  type SyncServiceErrorCode,
  type SyncState,
} from './service/BatchSyncService.ts';
export { createSupabaseClient, type SupabaseClientOptions } from './transport/supabaseClient.ts';
export { CodedError } from './errors.ts';
export { OutboxError, type OutboxErrorCode, type HistoryBounds } from './outbox/index.ts';
export { createMemoryLocks, browserLocks, type LockManagerLike } from './leader/index.ts';
export {
  DEFAULT_BATCH_CONFIG,
  DEFAULT_LATENCY_BUDGET,
  type LatencyBudget,
  type BatchConfig,
  type FailureKind,
  type Priority,
  type Quality,
  type TransportFailure,
} from '../machines/types.ts';
export {
  LIMITS,
  OPERATION_TYPES,
  REQUEST_ERRORS,
  type ApplyBatchResponse,
  type FilledVerse,
  type OperationError,
  type OperationPayloads,
  type OperationResult,
  type OperationType,
  type RequestErrorBody,
  type RequestErrorCode,
  type VerseText,
  type WireOperation,
} from '../supabase/functions/_shared/protocol.ts';
