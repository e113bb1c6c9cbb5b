// Builders of wire operations for tests that talk to the function directly.
import { randomUUID } from 'node:crypto';
import type { WireOperation } from '../../supabase/functions/_shared/protocol.ts';

let seq = 0;
const nextSeq = () => ++seq;

export const op = {
  createVerse: (verseCardId: string = randomUUID(), reference = 'John 3:16', extra: Record<string, unknown> = {}): WireOperation<'CREATE_VERSE'> => ({
    id: randomUUID(),
    seq: nextSeq(),
    type: 'CREATE_VERSE',
    payload: { verseCardId, reference, ...extra },
    localRecordId: verseCardId,
  }),
  review: (verseCardId: string, correct = true, reviewDate = new Date().toISOString()): WireOperation<'RECORD_REVIEW'> => {
    const reviewId = randomUUID();
    return { id: randomUUID(), seq: nextSeq(), type: 'RECORD_REVIEW', payload: { reviewId, verseCardId, correct, reviewDate }, localRecordId: reviewId };
  },
  profile: (patch: { displayName?: string; translation?: string; dailyGoal?: number }, updatedAt = new Date().toISOString()): WireOperation<'UPDATE_PROFILE'> => ({
    id: randomUUID(),
    seq: nextSeq(),
    type: 'UPDATE_PROFILE',
    payload: { ...patch, updatedAt },
  }),
  alias: (verseCardId: string, alias = 'love'): WireOperation<'CREATE_ALIAS'> => {
    const aliasId = randomUUID();
    return { id: randomUUID(), seq: nextSeq(), type: 'CREATE_ALIAS', payload: { aliasId, verseCardId, alias }, localRecordId: aliasId };
  },
  deleteVerse: (verseCardId: string): WireOperation<'DELETE_VERSE'> => ({
    id: randomUUID(),
    seq: nextSeq(),
    type: 'DELETE_VERSE',
    payload: { verseCardId },
    localRecordId: verseCardId,
  }),
};

export const batch = (operations: unknown[], batchId = randomUUID()) => ({ action: 'apply_batch', batchId, operations });
