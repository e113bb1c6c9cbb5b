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

/** What is counted: the statuses, and 'setAside' (queued ops set aside; they are counted as queued too). */
export type CountedKind = OperationStatus | 'setAside';

/** The meta key of a count: every user's ops, or one user's ('' for ops with no user). */
export function countKey(kind: CountedKind, userId?: string | null): string {
  return userId === null ? `${PREFIX}.${kind}` : `${PREFIX}.${kind}.${userId ?? ''}`;
}

type Counted = Pick<SyncOperation, 'status' | 'userId' | 'setAside'>;

function addTo(deltas: Map<string, number>, op: Counted, by: number): void {
  const kinds: CountedKind[] = op.status === 'queued' && op.setAside ? ['queued', 'setAside'] : [op.status];
  for (const kind of kinds) {
    for (const key of [countKey(kind, null), countKey(kind, op.userId)]) deltas.set(key, (deltas.get(key) ?? 0) + by);
  }
}

/** The counts of a set of ops, as meta rows (for an upgrade that fills them). */
export function countRows(ops: Iterable<Counted>): Array<{ key: string; value: number }> {
  const deltas = new Map<string, number>();
  for (const op of ops) addTo(deltas, op, 1);
  return [...deltas].map(([key, value]) => ({ key, value }));
}

// Chained with Dexie's own promises, never native await: the middlewares below (cache,
// observability) read the transaction's zone, which only Dexie's promises carry across.
function oldValues(table: DBCoreTable, req: DBCoreMutateRequest): Promise<Array<Counted | undefined>> {
  switch (req.type) {
    case 'add':
      return Dexie.Promise.resolve([]);
    case 'put':
      return table.getMany({ trans: req.trans, keys: req.keys ?? req.values.map((v) => (v as SyncOperation).id) });
    case 'delete':
      return table.getMany({ trans: req.trans, keys: req.keys });
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

function apply(meta: DBCoreTable, trans: DBCoreTransaction, deltas: Map<string, number>): Promise<unknown> {
  const keys = [...deltas].filter(([, d]) => d !== 0).map(([key]) => key);
  if (keys.length === 0) return Dexie.Promise.resolve();
  return meta.getMany({ trans, keys }).then((rows: Array<{ value?: unknown } | undefined>) => {
    const values = keys.map((key, i) => ({ key, value: Math.max(0, Number(rows[i]?.value ?? 0) + deltas.get(key)!) }));
    return meta.mutate({ type: 'put', trans, values, keys });
  });
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
        return {
          ...table,
          mutate(req) {
            const run = () =>
              oldValues(table, req).then((before) =>
                table.mutate(req).then((res) => apply(meta, req.trans, deltasOf(req, before, res)).then(() => res)),
              );
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
