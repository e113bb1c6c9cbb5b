// The rows verses-sync keeps in IndexedDB. Every row is plain data: it must
// survive structured clone (IndexedDB) and JSON (the wire, the snapshots).
import type { OperationType, Priority } from '../../machines/types.ts';

/** An entry of the shared verse catalogue, as this client knows it. */
export type Verse = {
  id: string;
  reference: string;
  translation: string;
  text?: string;
  /** The server's catalogue id, learnt from a CREATE_VERSE answer. */
  remoteId?: string;
  /** The ESV's canonical name for the reference, learnt with its text. */
  canonicalReference?: string;
  /** True while the server waits for the ESV (budget spent, 429, ESV down); the text comes with a later answer. */
  textPending?: boolean;
};

/** A verse the user memorises, with its local review schedule. */
export type VerseCard = {
  id: string;
  verseId: string;
  reference: string;
  customText?: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  nextReviewAt: string;
  reviewCount: number;
  correctCount: number;
  deletedAt?: string;
  /** When the server last applied a change of this card (ISO 8601). */
  syncedAt?: string;
  remoteId?: string;
  userId?: string;
};

export type ReviewLog = {
  id: string;
  verseCardId: string;
  correct: boolean;
  /** ISO 8601. */
  reviewDate: string;
  syncedAt?: string;
};

export type Alias = {
  id: string;
  verseCardId: string;
  alias: string;
  createdAt: string;
  syncedAt?: string;
};

/** One row per user (id = user id, or 'local' before sign-in). */
export type Profile = {
  id: string;
  displayName?: string;
  translation?: string;
  dailyGoal?: number;
  updatedAt: string;
  syncedAt?: string;
};

/**
 * 'held': waits on a refused change it depends on (a review of a card whose create is dead);
 * never sent until that change is retried, and removed with it when it is discarded.
 */
export type OperationStatus = 'queued' | 'inFlight' | 'dead' | 'held';

/**
 * How often an op was set aside in a row, and the wait the first time (see SyncOperation.setAside).
 * `confirmed`: the server took a batch of the other ops right after this one failed alone, so the
 * fault is this op's, not the server's. Until then it is set aside on trial: still counted as
 * pending, and given its place back by any claim but the one batch that tests the others.
 */
export type SetAside = { count: number; baseMs: number; confirmed?: true };

/** Why an operation last failed. Plain data only: an Error instance would not survive structured clone. */
export type StoredError = {
  code: string;
  message: string;
  retryable: boolean;
  /** ISO 8601. */
  at: string;
};

/** An outbox entry: the seed's SyncOperation plus ordering and delivery state. */
export type SyncOperation = {
  id: string;
  type: OperationType;
  payload: Record<string, unknown>;
  /** Enqueue time, epoch milliseconds. */
  timestamp: number;
  priority: Priority;
  retryCount: number;
  maxRetries: number;
  localRecordId?: string;
  userId?: string;
  /** Monotonic per client, unique; the only ordering key of the outbox. */
  seq: number;
  status: OperationStatus;
  /** Set while inFlight: the batch that claimed it. */
  batchId?: string;
  lastError?: StoredError;
  /** Epoch milliseconds: while set aside, the op (and its card's later ops) is not claimed before this. */
  nextAttemptAt?: number;
  /**
   * Set aside: alone, the op kept getting a server error (5xx) while the server took the other ops,
   * so it waits until nextAttemptAt while the other cards' ops are sent. Still queued, never a dead
   * letter; `count` set-asides in a row, the wait doubling from `baseMs`. Cleared once the server
   * answers for it. Until `confirmed` it is only on trial (see SetAside).
   */
  setAside?: SetAside;
  /** While 'held': the id of the dead operation it waits on. */
  heldBy?: string;
  /**
   * Epoch milliseconds of the first claim. Once set, the op may have reached the server even
   * if it is queued again (answer lost, page closed mid-request), so coalescing leaves it alone.
   */
  claimedAt?: number;
};

export type SyncBatchStatus = 'pending' | 'syncing' | 'completed' | 'failed' | 'partial';

/** The seed's SyncBatch without the embedded operations (they stay in syncOperations). */
export type SyncBatch = {
  id: string;
  /** Monotonic per client: the order batches were claimed in (the history is pruned oldest first). */
  seq: number;
  status: SyncBatchStatus;
  opIds: string[];
  opCount: number;
  /** Bytes of the batch's operations as JSON. */
  bytes: number;
  /** ISO 8601. */
  createdAt: string;
  syncedAt?: string;
  errorMessage?: string;
  successCount: number;
  failureCount: number;
  /** The user the batch was claimed for. */
  userId?: string;
};

/** `actor.getPersistedSnapshot()` of one long-lived actor, as JSON-safe data. */
export type ActorSnapshotRow = {
  id: string;
  snapshot: unknown;
  /** The snapshot format it was saved in; a reader drops a row of a version it cannot restore. */
  version?: number;
  /** ISO 8601. */
  updatedAt: string;
};

export type MetaRow = { key: string; value: unknown };

/** CARD_DELETED: the card was deleted on another device. PROFILE_SUPERSEDED: a newer profile edit from another device won. */
export type NoticeKind = 'CARD_DELETED' | 'PROFILE_SUPERSEDED';

/** Something sync settled on its own, told to the person: what happened and why, without ids. */
export type Notice = {
  id: string;
  kind: NoticeKind;
  /** ISO 8601. */
  at: string;
  message: string;
  /** The record it is about (a verse card id), for the UI to link; never part of `message`. */
  recordId?: string;
};
