// The server's answer written onto the local record the operation synced.
import type { OperationResult } from '../../supabase/functions/_shared/protocol.ts';
import type { VersesDb } from '../db/database.ts';
import type { SyncOperation } from '../db/types.ts';

/** Tables writeBack touches; recordResults' transaction includes them. */
export const WRITE_BACK_TABLES = ['verseCards', 'verses', 'reviewLogs', 'aliases', 'profile'] as const;

/** Marks the local record of a successful operation as synced (inside the caller's transaction). */
export async function writeBack(db: VersesDb, op: SyncOperation, result: OperationResult, syncedAt: string): Promise<void> {
  const id = op.localRecordId;
  switch (op.type) {
    case 'CREATE_VERSE': {
      const cardId = id ?? String(op.payload.verseCardId);
      const card = await db.verseCards.get(cardId);
      if (!card) return; // removed locally meanwhile; nothing to mark
      const remoteId = typeof result.remoteId === 'string' ? result.remoteId : undefined;
      await db.verseCards.update(cardId, remoteId ? { syncedAt, remoteId } : { syncedAt });
      if (remoteId) await db.verses.update(card.verseId, { remoteId });
      return;
    }
    case 'DELETE_VERSE':
      await db.verseCards.update(id ?? String(op.payload.verseCardId), { syncedAt });
      return;
    case 'RECORD_REVIEW':
      await db.reviewLogs.update(id ?? String(op.payload.reviewId), { syncedAt });
      return;
    case 'CREATE_ALIAS':
      await db.aliases.update(id ?? String(op.payload.aliasId), { syncedAt });
      return;
    case 'UPDATE_PROFILE':
      if (id !== undefined) await db.profile.update(id, { syncedAt });
      return;
  }
}
