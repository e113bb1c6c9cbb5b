// The package's `verses-sync/machines` entry: the pure XState machines, for an app's own
// inspection and model-based tests. They hold no I/O; provide actors with `.provide()`.
export { syncMachine, SYSTEM_IDS, type SyncContext, type SyncEvent, type SyncInput, type SyncMachine } from './sync.machine.ts';
export {
  queueMachine,
  queueEnvironment,
  ackAllowance,
  BATCH_ACTOR_ID,
  RETRY_BACKOFF_ACTOR_ID,
  type QueueContext,
  type QueueEmitted,
  type QueueEnvironment,
  type QueueEvent,
  type QueueInput,
} from './queue.machine.ts';
export { batchMachine, type BatchContext, type BatchEvent, type BatchInput, type BatchOutput, type BatchStatus } from './batch.machine.ts';
export {
  networkQualityMachine,
  classifySample,
  connectionCap,
  type ConnectionInfo,
  type NetworkQualityContext,
  type NetworkQualityEvent,
  type NetworkQualityInput,
  type QualityChangedEvent,
} from './networkQuality.machine.ts';
export {
  retryBackoffMachine,
  retryBackoffRandomness,
  retryDelay,
  backoffDelay,
  RETRY_BACKOFF_DEFAULTS,
  RETRY_AFTER_SPREAD,
  type RetryBackoffContext,
  type RetryBackoffEvent,
  type RetryBackoffInput,
  type RetryBackoffOutput,
} from './retryBackoff.machine.ts';
export type * from './types.ts';
export { ASSUMED_BATCH_MS, DEFAULT_ACK_ALLOWANCE_MS, DEFAULT_BATCH_CONFIG, DEFAULT_LATENCY_BUDGET, KEEPALIVE_BATCH_BYTES } from './types.ts';
