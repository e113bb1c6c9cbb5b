export { createVersesDb, BATCH_SEQ_META_KEY, DEFAULT_DB_NAME, APP_TABLES, type AppTableName, type VersesDb } from './database.ts';
export { saveActorSnapshot, loadActorSnapshot, loadActorSnapshotVersion, deleteActorSnapshot } from './snapshots.ts';
export type * from './types.ts';
export { requestPersistentStorage, type StoragePersistence } from './persistence.ts';
