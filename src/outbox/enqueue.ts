// Writing to the outbox, always inside the transaction that writes the record
// it syncs, so the two commit or vanish together.
import { Dexie, type Transaction } from 'dexie';
import { validatePayload, type OperationPayloads, type OperationType } from '../../supabase/functions/_shared/protocol.ts';
import type { Priority } from '../../machines/types.ts';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';
import { OutboxError } from './errors.ts';

/** Tables a transaction must include for enqueueOperation to run inside it. */
export const OUTBOX_TABLES = ['syncOperations', 'meta'] as const;

export const SEQ_META_KEY = 'outbox.seq';
const PRIORITIES: readonly Priority[] = ['immediate', 'high', 'normal', 'low'];
export const DEFAULT_MAX_RETRIES = 3;

export type EnqueueInput<T extends OperationType = OperationType> = {
  type: T;
  payload: OperationPayloads[T];
  priority?: Priority;
  localRecordId?: string;
  userId?: string;
  maxRetries?: number;
  /** Enqueue time; defaults to the current time. */
  now?: Date;
};

type SeqCounter = { next: number };
// One counter per open transaction: parallel enqueues inside one transaction
// would otherwise read the same stored value and collide on seq.
const counters = new WeakMap<Transaction, Promise<SeqCounter>>();
// The same counters once read, so an enqueue after readSeqAhead issues its writes at once.
const readCounters = new WeakMap<Transaction, SeqCounter>();

function rootOf(tx: Transaction): Transaction {
  let root = tx;
  while (root.parent) root = root.parent;
  return root;
}

function requireTransaction(db: VersesDb): Transaction {
  const tx = Dexie.currentTransaction;
  if (!tx || tx.db !== db) {
    throw new OutboxError(
      'NO_TRANSACTION',
      `enqueueOperation must run inside db.transaction('rw', [...your tables, ${OUTBOX_TABLES.map((t) => `'${t}'`).join(', ')}], ...) of the same database, so the record and its operation commit together`,
    );
  }
  const missing = OUTBOX_TABLES.filter((t) => !tx.storeNames.includes(t));
  if (tx.mode !== 'readwrite' || missing.length > 0) {
    throw new OutboxError(
      'NO_TRANSACTION',
      `enqueueOperation needs a 'rw' transaction that includes ${OUTBOX_TABLES.join(' and ')}` +
        (missing.length ? `; missing: ${missing.join(', ')}` : `; this one is '${tx.mode}'`),
    );
  }
  return tx;
}

function counterOf(db: VersesDb, tx: Transaction): Promise<SeqCounter> {
  const root = rootOf(tx);
  let counter = counters.get(root);
  if (!counter) {
    counter = db.meta.get(SEQ_META_KEY).then((row) => {
      const state = { next: (typeof row?.value === 'number' ? row.value : 0) + 1 };
      readCounters.set(root, state);
      return state;
    });
    counters.set(root, counter);
  }
  return counter;
}

/**
 * Starts reading the outbox's seq in the current transaction (as enqueueOperation's would), so a
 * caller can read it beside its own reads and the enqueue later in the transaction need not wait.
 */
export function readSeqAhead(db: VersesDb): void {
  void counterOf(db, requireTransaction(db)).catch(() => undefined); // the enqueue awaits (and reports) it
}

/** Reserves consecutive seqs for `drafts` from the transaction's counter and writes the rows and the counter, at once. */
function writeRows(db: VersesDb, state: SeqCounter, drafts: ReadonlyArray<Omit<SyncOperation, 'seq'>>): Promise<SyncOperation[]> {
  const first = state.next;
  state.next += drafts.length;
  const rows: SyncOperation[] = drafts.map((draft, i) => ({ ...draft, seq: first + i }));
  // Issued together (IndexedDB runs a transaction's requests in order): one wait, not two.
  return Dexie.Promise.all([db.meta.put({ key: SEQ_META_KEY, value: first + drafts.length - 1 }), db.syncOperations.bulkAdd(rows)]).then(() => rows);
}

function buildRow<T extends OperationType>(input: EnqueueInput<T>): Omit<SyncOperation, 'seq'> {
  const priority = input.priority ?? 'normal';
  if (!PRIORITIES.includes(priority)) {
    throw new OutboxError('INVALID_OPERATION', `priority must be one of ${PRIORITIES.join(', ')}, got '${String(priority)}'`);
  }
  const maxRetries = input.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 1) {
    throw new OutboxError('INVALID_OPERATION', `maxRetries must be a whole number of at least 1, got ${String(maxRetries)}`);
  }
  const checked = validatePayload(input.type, input.payload);
  if (!checked.ok) throw new OutboxError('INVALID_OPERATION', checked.error.message, checked.error);
  const row: Omit<SyncOperation, 'seq'> = {
    id: crypto.randomUUID(),
    type: input.type,
    payload: checked.payload as Record<string, unknown>,
    timestamp: (input.now ?? new Date()).getTime(),
    priority,
    retryCount: 0,
    maxRetries,
    status: 'queued',
  };
  if (input.localRecordId !== undefined) row.localRecordId = input.localRecordId;
  if (input.userId !== undefined) row.userId = input.userId;
  return row;
}

/**
 * Adds one validated operation to the outbox inside the caller's 'rw' transaction
 * (which must include OUTBOX_TABLES); returns the stored row.
 */
export async function enqueueOperation<T extends OperationType>(db: VersesDb, input: EnqueueInput<T>): Promise<SyncOperation> {
  const [row] = await enqueueOperations(db, [input]);
  return row;
}

/**
 * enqueueOperation for many: all validated before anything is written, then
 * consecutive seqs in input order and one bulk write.
 */
export function enqueueOperations(db: VersesDb, inputs: ReadonlyArray<EnqueueInput>): Promise<SyncOperation[]> {
  let tx: Transaction;
  let drafts: Array<Omit<SyncOperation, 'seq'>>;
  try {
    tx = requireTransaction(db);
    drafts = inputs.map((input) => buildRow(input));
  } catch (error) {
    return Dexie.Promise.reject(error);
  }
  if (drafts.length === 0) return Dexie.Promise.resolve([]);
  // A Dexie promise throughout (no native await): with the seq read ahead, the writes go out in
  // this very call, so a caller can issue them beside its own.
  const known = readCounters.get(rootOf(tx));
  return known ? writeRows(db, known, drafts) : counterOf(db, tx).then((state) => writeRows(db, state, drafts));
}
