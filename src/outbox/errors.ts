import type { OperationError } from '../../supabase/functions/_shared/protocol.ts';
import type { StoredError } from '../db/types.ts';
import { CodedError } from '../errors.ts';

export type OutboxErrorCode =
  | 'NO_TRANSACTION' // enqueueOperation called outside a suitable Dexie transaction
  | 'INVALID_OPERATION' // payload, type, priority or maxRetries rejected; nothing was written
  | 'BATCH_NOT_FOUND'
  | 'BATCH_EXISTS'
  | 'BATCH_RELEASED' // released (claim timeout) while a multi-chunk claim was still running
  | 'OPERATION_NOT_FOUND';

/** An outbox function refused its input; `code` says which rule, `message` what to change. */
export class OutboxError extends CodedError<OutboxErrorCode> {
  /** For INVALID_OPERATION: the protocol's own verdict (code VALIDATION_FAILED or UNKNOWN_TYPE). */
  readonly detail?: OperationError;

  constructor(code: OutboxErrorCode, message: string, detail?: OperationError) {
    super(code, message);
    this.detail = detail;
  }
}

const MAX_MESSAGE = 1000;

/** Plain-data error for the outbox: strings only, bounded, safe for structured clone. */
export function storedError(code: unknown, message: unknown, retryable: boolean, at: Date): StoredError {
  return {
    code: String(code ?? 'UNKNOWN').slice(0, 100),
    message: String(message ?? '').slice(0, MAX_MESSAGE),
    retryable: Boolean(retryable),
    at: at.toISOString(),
  };
}
