// The one IndexedDB database of verses-sync: app tables and the outbox side by
// side, so a local write and its sync operation commit in one transaction.
import { Dexie, type DexieOptions, type EntityTable } from 'dexie';
import { COALESCED_TYPES, countRows, outboxCountsMiddleware, queuedOfTypeKey } from './counts.ts';
import type {
  ActorSnapshotRow,
  Alias,
  MetaRow,
  Notice,
  Profile,
  ReviewLog,
  SyncBatch,
  SyncOperation,
  Verse,
  VerseCard,
} from './types.ts';

export type VersesDb = Dexie & {
  verses: EntityTable<Verse, 'id'>;
  verseCards: EntityTable<VerseCard, 'id'>;
  reviewLogs: EntityTable<ReviewLog, 'id'>;
  aliases: EntityTable<Alias, 'id'>;
  profile: EntityTable<Profile, 'id'>;
  syncOperations: EntityTable<SyncOperation, 'id'>;
  syncBatches: EntityTable<SyncBatch, 'id'>;
  actorSnapshots: EntityTable<ActorSnapshotRow, 'id'>;
  meta: EntityTable<MetaRow, 'key'>;
  notices: EntityTable<Notice, 'id'>;
};

export const DEFAULT_DB_NAME = 'verses-sync';

/** The tables the app's own records live in (the write-back targets of sync). */
export const APP_TABLES = ['verses', 'verseCards', 'reviewLogs', 'aliases', 'profile'] as const;
export type AppTableName = (typeof APP_TABLES)[number];

/**
 * Version 1 of the schema. A later change is `db.version(2).stores(...).upgrade(...)`;
 * this block stays as it is so existing databases upgrade instead of breaking.
 */
const SCHEMA_V1 = {
  verses: 'id, &[reference+translation], remoteId',
  verseCards: 'id, verseId, nextReviewAt, userId',
  reviewLogs: 'id, verseCardId, reviewDate',
  aliases: 'id, verseCardId',
  profile: 'id',
  // [status+seq]: the queue in order; [status+userId]: per-user pending counts;
  // &seq: a duplicate seq fails the transaction instead of reordering the queue.
  syncOperations: 'id, &seq, [status+seq], [status+userId], batchId, localRecordId, userId',
  syncBatches: 'id, status, createdAt',
  actorSnapshots: 'id',
  meta: 'key',
};

/** Where the next batch's `seq` comes from (the last one handed out). */
export const BATCH_SEQ_META_KEY = 'outbox.batchSeq';

/**
 * Version 2: batches get a monotonic `seq` and a [status+seq] index, so the
 * history can be pruned oldest-first per status without reading every row.
 */
const SCHEMA_V2 = {
  syncBatches: 'id, status, createdAt, [status+seq]',
};

/**
 * Version 3: [status+type] on the outbox, so coalescing can see in one small index range
 * whether anything could cancel or merge before it reads the whole queue.
 */
const SCHEMA_V3 = {
  syncOperations: 'id, &seq, [status+seq], [status+userId], [status+type], batchId, localRecordId, userId',
};

/**
 * Version 4: notices, what sync settled on its own that a person should hear about
 * (a card deleted on another device), newest last.
 */
const SCHEMA_V4 = {
  notices: 'id, at',
};

/**
 * Version 5: no new index; the outbox's counts by status and user live in `meta` (kept by
 * outboxCountsMiddleware), filled here from the ops an older version left.
 */
const SCHEMA_V5 = {};

/**
 * Version 6: a (sparse) index on nextAttemptAt, so the claim finds the set-aside ops (and the
 * earliest due one) without reading the queue.
 */
const SCHEMA_V6 = {
  syncOperations: 'id, &seq, [status+seq], [status+userId], [status+type], batchId, localRecordId, userId, nextAttemptAt',
};

/**
 * Version 7: the outbox drops `[status+userId]` and `userId`, which nothing reads since the counts
 * by status and user moved into `meta` (version 5). Every op's add, claim and delete updated both;
 * without them 20 ops are added, claimed and deleted about 10% faster in Chromium.
 */
const SCHEMA_V7 = {
  syncOperations: 'id, &seq, [status+seq], [status+type], batchId, localRecordId, nextAttemptAt',
};

/**
 * Version 8: the outbox drops `[status+type]` too. Coalescing read it for two counts (queued
 * deletes, queued profile updates), which the counts middleware now keeps in `meta`; they are
 * filled here from the ops an older version left.
 */
const SCHEMA_V8 = {
  syncOperations: 'id, &seq, [status+seq], batchId, localRecordId, nextAttemptAt',
};

/** Opens (lazily) the verses-sync database under `name`. */
export function createVersesDb(name: string = DEFAULT_DB_NAME, options?: DexieOptions): VersesDb {
  const db = new Dexie(name, options) as VersesDb;
  db.version(1).stores(SCHEMA_V1);
  db.version(2)
    .stores(SCHEMA_V2)
    .upgrade(async (tx) => {
      // Number the existing history in the order it was created; new claims continue after it.
      const batches = tx.table<SyncBatch, string>('syncBatches');
      const rows = (await batches.toArray()).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
      await batches.bulkPut(rows.map((row, i) => ({ ...row, seq: i + 1 })));
      await tx.table<MetaRow, string>('meta').put({ key: BATCH_SEQ_META_KEY, value: rows.length });
    });
  db.version(3).stores(SCHEMA_V3);
  db.version(4).stores(SCHEMA_V4);
  db.version(5)
    .stores(SCHEMA_V5)
    .upgrade(async (tx) => {
      const ops = await tx.table<SyncOperation, string>('syncOperations').toArray();
      await tx.table<MetaRow, string>('meta').bulkPut(countRows(ops));
    });
  db.version(6).stores(SCHEMA_V6);
  db.version(7).stores(SCHEMA_V7);
  db.version(8)
    .stores(SCHEMA_V8)
    .upgrade(async (tx) => {
      const ops = await tx.table<SyncOperation, string>('syncOperations').toArray();
      const typed = new Set(COALESCED_TYPES.map(queuedOfTypeKey));
      await tx.table<MetaRow, string>('meta').bulkPut(countRows(ops).filter((row) => typed.has(row.key)));
    });
  db.use(outboxCountsMiddleware);
  return db;
}
