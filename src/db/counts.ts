// The outbox's counts by status (and by user), kept in `meta` by a DBCore middleware in the
// same IndexedDB transaction as every write that changes them, so reading a count is one key
// lookup instead of an O(n) walk of an index range (IndexedDB's count() visits every key).
// A middleware sees every write whoever makes it (enqueue, claim, settle, coalesce, dead
// letters), so no write site can forget to count.
import { Dexie, type DBCore, type DBCoreMutateRequest, type DBCoreMutateResponse, type DBCoreTable, type DBCoreTransaction, type Middleware } from 'dexie';
import type { OperationStatus, SyncOperation } from './types.ts';

const OUTBOX = 'syncOperations';
const META = 'meta';
const PREFIX = 'outbox.count';

/** What is counted: the statuses, and 'setAside' (queued ops set aside, once confirmed; they are counted as queued too). */
export type CountedKind = OperationStatus | 'setAside';

/** The meta key of a count: every user's ops, or one user's ('' for ops with no user). */
export function countKey(kind: CountedKind, userId?: string | null): string {
  return userId === null ? `${PREFIX}.${kind}` : `${PREFIX}.${kind}.${userId ?? ''}`;
}

/** The types whose queued ops coalescing looks for (every user's), counted so its check is a key lookup. */
export const COALESCED_TYPES = ['DELETE_VERSE', 'UPDATE_PROFILE'] as const;
export type CoalescedType = (typeof COALESCED_TYPES)[number];
const coalesced: ReadonlySet<string> = new Set(COALESCED_TYPES);

/** The meta key of the count of queued ops of `type` (every user's). */
export function queuedOfTypeKey(type: CoalescedType): string {
  return `${PREFIX}.queuedOfType.${type}`;
}

type Counted = Pick<SyncOperation, 'status' | 'userId' | 'setAside' | 'type'>;

function addTo(deltas: Map<string, number>, op: Counted, by: number): void {
  const kinds: CountedKind[] = op.status === 'queued' && op.setAside?.confirmed ? ['queued', 'setAside'] : [op.status];
  const keys = kinds.flatMap((kind) => [countKey(kind, null), countKey(kind, op.userId)]);
  if (op.status === 'queued' && coalesced.has(op.type)) keys.push(queuedOfTypeKey(op.type as CoalescedType));
  for (const key of keys) deltas.set(key, (deltas.get(key) ?? 0) + by);
}

/** The counts of a set of ops, as meta rows (for an upgrade that fills them). */
export function countRows(ops: Iterable<Counted>): Array<{ key: string; value: number }> {
  const deltas = new Map<string, number>();
  for (const op of ops) addTo(deltas, op, 1);
  return [...deltas].map(([key, value]) => ({ key, value }));
}

/**
 * What a read-write transaction has read or written of each op it touched (only the counted
 * fields, copied: a caller may change the rows it was given), by id; undefined = no such op.
 * Every write to the outbox passes through this middleware and a read-write transaction has the
 * store to itself, so these stay true until the transaction ends: a claim or a settle that read
 * its ops need not read them again to count what its writes change.
 */
type Seen = Map<unknown, Counted | undefined>;

const countedOf = (row: unknown): Counted | undefined => {
  if (row === undefined || row === null) return undefined;
  const { status, userId, setAside, type } = row as Counted;
  return setAside ? { status, userId, type, setAside: { ...setAside } } : { status, userId, type };
};

function remember(seen: Seen | undefined, keys: readonly unknown[], rows: readonly unknown[]): void {
  if (seen) keys.forEach((key, i) => seen.set(key, countedOf(rows[i])));
}

// Chained with Dexie's own promises, never native await: the middlewares below (cache,
// observability) read the transaction's zone, which only Dexie's promises carry across.
function readOld(table: DBCoreTable, trans: DBCoreTransaction, keys: readonly unknown[], seen: Seen | undefined): Promise<Array<Counted | undefined>> {
  if (seen && keys.every((key) => seen.has(key))) return Dexie.Promise.resolve(keys.map((key) => seen.get(key)));
  return table.getMany({ trans, keys: keys as unknown[] });
}

function oldValues(table: DBCoreTable, req: DBCoreMutateRequest, seen: Seen | undefined): Promise<Array<Counted | undefined>> {
  switch (req.type) {
    case 'add':
      return Dexie.Promise.resolve([]);
    case 'put':
      return readOld(table, req.trans, req.keys ?? req.values.map((v) => (v as SyncOperation).id), seen);
    case 'delete':
      return readOld(table, req.trans, req.keys, seen);
    case 'deleteRange':
      return table
        .query({ trans: req.trans, values: true, query: { index: table.schema.primaryKey, range: req.range } })
        .then((res) => res.result as Counted[]);
  }
}

function deltasOf(req: DBCoreMutateRequest, before: Array<Counted | undefined>, res: DBCoreMutateResponse): Map<string, number> {
  const deltas = new Map<string, number>();
  const failed = (i: number) => res.failures[i] !== undefined;
  if (req.type === 'deleteRange') {
    before.forEach((op) => op && addTo(deltas, op, -1));
    return deltas;
  }
  if (req.type === 'delete') {
    before.forEach((op, i) => op && !failed(i) && addTo(deltas, op, -1));
    return deltas;
  }
  req.values.forEach((value, i) => {
    if (failed(i)) return;
    const old = before[i];
    if (old) addTo(deltas, old, -1);
    addTo(deltas, value as Counted, 1);
  });
  return deltas;
}

type CountRows = Array<{ value?: unknown } | undefined>;

function readCountRows(meta: DBCoreTable, trans: DBCoreTransaction, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return Dexie.Promise.resolve(new Map());
  return meta.getMany({ trans, keys }).then((rows: CountRows) => new Map(keys.map((key, i) => [key, Number(rows[i]?.value ?? 0)])));
}

/** Writes `current + delta` for every changed count; `current` holds at least those keys. */
function writeCounts(meta: DBCoreTable, trans: DBCoreTransaction, deltas: Map<string, number>, current: Map<string, number>): Promise<unknown> {
  const keys = [...deltas].filter(([, d]) => d !== 0).map(([key]) => key);
  if (keys.length === 0) return Dexie.Promise.resolve();
  const values = keys.map((key) => ({ key, value: Math.max(0, current.get(key)! + deltas.get(key)!) }));
  return meta.mutate({ type: 'put', trans, values, keys });
}

/** Every count a put or delete of these rows may change (the old rows' and the new ones'). */
function keysOf(req: DBCoreMutateRequest, before: Array<Counted | undefined>): string[] {
  const ops = before.filter((op): op is Counted => op !== undefined);
  if (req.type === 'put') ops.push(...(req.values as Counted[]));
  return countRows(ops).map((row) => row.key);
}

// Once the old rows are known, so are the counts a write can change: read them beside the write
// (one wait instead of two); what failed is left out when they are written.
function countedChange(table: DBCoreTable, meta: DBCoreTable, req: DBCoreMutateRequest, before: Array<Counted | undefined>): Promise<DBCoreMutateResponse> {
  return Dexie.Promise.all([table.mutate(req), readCountRows(meta, req.trans, keysOf(req, before))]).then(([res, current]) =>
    writeCounts(meta, req.trans, deltasOf(req, before, res), current).then(() => res),
  );
}

// An add changes no old row, so the counts it can change are known before it runs: read them
// beside the add (one wait instead of two); what failed is left out when they are written.
function countedAdd(table: DBCoreTable, meta: DBCoreTable, req: DBCoreMutateRequest & { type: 'add' }): Promise<DBCoreMutateResponse> {
  const keys = countRows(req.values as Counted[]).map((row) => row.key);
  return Dexie.Promise.all([table.mutate(req), readCountRows(meta, req.trans, keys)]).then(([res, current]) =>
    writeCounts(meta, req.trans, deltasOf(req, [], res), current).then(() => res),
  );
}

/** Keeps the outbox counts in `meta`; every transaction on the outbox also holds `meta`. */
export const outboxCountsMiddleware: Middleware<DBCore> = {
  stack: 'dbcore',
  name: 'verses-sync outbox counts',
  // Below Dexie's hooks (2), which need their zone when they call down; above its observability
  // and cache (0), so live queries see the count rows change.
  level: 1.5,
  create(down) {
    // Writes of one transaction are counted one after another: two interleaved read-modify-writes
    // of a count would lose one of them.
    const queues = new WeakMap<DBCoreTransaction, Promise<unknown>>();
    const seen = new WeakMap<DBCoreTransaction, Seen>();
    const seenIn = (trans: DBCoreTransaction): Seen | undefined => {
      if ((trans as unknown as IDBTransaction).mode !== 'readwrite') return undefined;
      let known = seen.get(trans);
      if (!known) seen.set(trans, (known = new Map()));
      return known;
    };
    return {
      ...down,
      transaction(stores, mode, options) {
        // Every transaction on the outbox holds meta too: writes count in it, reads inside a caller's
        // outbox transaction read the counts from it.
        const scope = stores.includes(OUTBOX) && !stores.includes(META) ? [...stores, META] : stores;
        return down.transaction(scope, mode, options);
      },
      table(name) {
        const table = down.table(name);
        if (name !== OUTBOX) return table;
        const meta = down.table(META);
        const key = (row: unknown) => (row as SyncOperation).id;
        return {
          ...table,
          get(req) {
            return table.get(req).then((row) => (remember(seenIn(req.trans), [req.key], [row]), row));
          },
          getMany(req) {
            return table.getMany(req).then((rows) => (remember(seenIn(req.trans), req.keys, rows), rows));
          },
          query(req) {
            return table.query(req).then((res) => {
              // Rows it returned exist; what a range left out says nothing about other ids.
              if (req.values) remember(seenIn(req.trans), res.result.map(key), res.result);
              return res;
            });
          },
          mutate(req) {
            const known = seenIn(req.trans);
            const after = (res: DBCoreMutateResponse) => {
              if (!known) return res;
              if (req.type === 'deleteRange') known.clear();
              else if (req.type === 'delete') remember(known, req.keys.filter((_, i) => res.failures[i] === undefined), []);
              else {
                const keys = req.keys ?? req.values.map((v) => (v as SyncOperation).id);
                const ok = keys.map((_, i) => res.failures[i] === undefined);
                remember(known, keys.filter((_, i) => ok[i]), req.values.filter((_, i) => ok[i]));
              }
              return res;
            };
            const run = () =>
              (req.type === 'add'
                ? countedAdd(table, meta, req)
                : oldValues(table, req, known).then((before) => countedChange(table, meta, req, before))
              ).then(after);
            const previous = queues.get(req.trans) ?? Dexie.Promise.resolve();
            const next = previous.then(run, run);
            queues.set(req.trans, next.catch(() => {}));
            return next;
          },
        };
      },
    };
  },
};

/** Reads counts kept by the middleware, in one request; absent keys are 0. */
export async function readCounts(db: Dexie, keys: string[]): Promise<number[]> {
  const tx = Dexie.currentTransaction;
  // Inside a caller's transaction on the outbox without meta: its IndexedDB transaction holds
  // meta anyway (the middleware adds it), so read there rather than open another one.
  const rows = (
    tx && !tx.storeNames.includes(META)
      ? await db.core.table(META).getMany({ trans: tx.idbtrans as unknown as DBCoreTransaction, keys })
      : await db.table(META).bulkGet(keys)
  ) as Array<{ value?: unknown } | undefined>;
  return rows.map((row) => Number(row?.value ?? 0));
}
