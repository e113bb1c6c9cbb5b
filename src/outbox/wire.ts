import type { WireOperation } from '../../supabase/functions/_shared/protocol.ts';
import type { SyncOperation } from '../db/types.ts';

/** The operation as it travels in `apply_batch`. */
export function toWireOperation(op: SyncOperation): WireOperation {
  const wire = { id: op.id, seq: op.seq, type: op.type, payload: op.payload } as WireOperation;
  if (op.localRecordId !== undefined) wire.localRecordId = op.localRecordId;
  return wire;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}
