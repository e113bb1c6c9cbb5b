// Everything verses-sync needs, built once per signed-in user from the package's core entry.
import { BatchSyncService, createDataService, createSupabaseClient, createVersesDb, type DataService, type VersesDb } from 'verses-sync';
import type { Session } from './session.ts';

export type AppSync = { db: VersesDb; data: DataService; sync: BatchSyncService };

export function createAppSync(session: Session): AppSync {
  // One IndexedDB database per user, so two accounts on one device never share an outbox.
  const db = createVersesDb(`verses-${session.userId}`);
  const client = createSupabaseClient({ url: session.url, anonKey: session.anonKey, accessToken: async () => session.accessToken });
  const sync = new BatchSyncService({ db, client, getUserId: () => session.userId });
  const data = createDataService({ db, getUserId: () => session.userId, onEnqueued: sync.notifyEnqueued });
  return { db, data, sync };
}
