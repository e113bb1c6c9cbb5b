// The two kinds of simulated user. Both write to their own Dexie database on
// fake-indexeddb and reach the function through supabase-js with their own JWT.
//  - perOp: the seed's dual write — a local Dexie write, then one functions.invoke per op
//    (awaited in turn per user, no retry: a failed request loses that op's sync, as in the seed).
//  - versesSync: the real client — dataService + BatchSyncService on the user's own database.
import { randomUUID } from 'node:crypto';
import { Dexie, type ObservabilitySet } from 'dexie';
import WebSocket from 'ws';
import type { SupabaseClient } from '@supabase/supabase-js';
import { PROBE_MS } from '../bench/paths.ts';
import type { Quality } from '../machines/types.ts';
import { createVersesDb, type VersesDb } from '../src/db/index.ts';
import type { StorageMutations } from '../src/outbox/index.ts';
import { BatchSyncService } from '../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../src/service/dataService.ts';
import { createSupabaseClient } from '../src/transport/supabaseClient.ts';
import { parseRetryAfter } from '../src/transport/transport.ts';
import type { OperationResult } from '../supabase/functions/_shared/protocol.ts';
import type { Recorder } from './recorder.ts';
import type { Action } from './session.ts';

export type PathName = 'perOp' | 'versesSync';
/** verses-sync users always run the product's own BatchSyncService (the lite rewrite is gone). */
export type ClientKind = 'full';

/** A simulated user's account: its id and a JWT for it, signed by the stack. */
export type Identity = { index: number; userId: string; token: string };

export type UserEnv = {
  url: string;
  anonKey: string;
  /** The account of user `index` (made up front, so users in other processes get theirs too). */
  identity(index: number): Identity;
  recorder: Recorder;
};

export type LoadUser = {
  index: number;
  userId: string;
  /** Performs one session action (the local write, then whatever the path does to sync it). */
  act(action: Action): Promise<void>;
  /** Resolves when the user's own work is done: per-op, its last request answered; verses-sync, its last local write. */
  settled(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
};

type SentOp = { id: string; localRecordId?: string };

/**
 * A fetch that records every request and answer of user `index` on the recorder. Acks are
 * read from the answer the client itself receives, so both paths are timed at the same point.
 */
function recordingFetch(index: number, recorder: Recorder): typeof fetch {
  return async (input, init) => {
    const sentAt = recorder.now();
    let ops: SentOp[] = [];
    if (typeof init?.body === 'string') {
      try {
        ops = (JSON.parse(init.body) as { operations?: SentOp[] }).operations ?? [];
      } catch {
        ops = [];
      }
    }
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
      const why = `${(error as Error)?.name ?? 'Error'}: ${cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error)}`;
      recorder.request({ user: index, sentAt, endedAt: recorder.now(), status: 0, ops: ops.length, error: why.slice(0, 120) });
      throw error;
    }
    const endedAt = recorder.now();
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    recorder.request({ user: index, sentAt, endedAt, status: response.status, ops: ops.length, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    if (response.status === 200 && ops.length > 0) {
      const byId = new Map(ops.map((op) => [op.id, op.localRecordId ?? op.id]));
      try {
        const { results } = (await response.clone().json()) as { results: OperationResult[] };
        for (const result of results) if (result.success) recorder.acked(index, byId.get(result.id) ?? result.id, endedAt);
      } catch {
        // A malformed answer acks nothing; the client treats it as a failure too.
      }
    }
    return response;
  };
}

function clientFor(env: UserEnv, index: number): { userId: string; client: SupabaseClient } {
  const { userId, token } = env.identity(index);
  const client = createSupabaseClient({
    url: env.url,
    anonKey: env.anonKey,
    accessToken: async () => token,
    webSocket: WebSocket,
    fetch: recordingFetch(index, env.recorder),
  });
  return { userId, client };
}

type MutationListener = (parts: ObservabilitySet) => void;

/**
 * In a browser every user's page has its own Dexie event bus; in this one process all users
 * share Dexie's global storagemutated event, so each of N services would inspect every write of
 * every other user (N² work no deployment does). One router subscribes instead and hands each
 * change only to the service whose database it touched. The service itself is unchanged.
 */
const ownListeners = new Map<string, MutationListener>();
const routeMutations: MutationListener = (parts) => {
  const touched = new Map<string, ObservabilitySet>();
  for (const key of Object.keys(parts)) {
    const name = key.split('/')[2];
    if (!ownListeners.has(name)) continue;
    const part = touched.get(name) ?? {};
    part[key] = parts[key];
    touched.set(name, part);
  }
  for (const [name, part] of touched) ownListeners.get(name)?.(part);
};

/** A StorageMutations for one user's database: the shared router hands it that database's changes only. */
function ownMutations(db: VersesDb): StorageMutations & { close(): void } {
  return {
    subscribe(listener) {
      if (ownListeners.size === 0) Dexie.on.storagemutated.subscribe(routeMutations);
      ownListeners.set(db.name, listener);
    },
    unsubscribe() {
      ownListeners.delete(db.name);
      if (ownListeners.size === 0) Dexie.on.storagemutated.unsubscribe(routeMutations);
    },
    close() {
      this.unsubscribe(() => {});
    },
  };
}

async function dropDb(db: VersesDb): Promise<void> {
  db.close();
  await Dexie.delete(db.name);
}

const LEGACY_ACTION = { CREATE_VERSE: 'batch_create_verses', RECORD_REVIEW: 'batch_record_reviews', UPDATE_PROFILE: 'batch_update_profiles' } as const;

/** The seed's per-op path: Dexie write, then one request per op in the seed's per-type shape. */
export async function createPerOpUser(env: UserEnv, index: number): Promise<LoadUser> {
  const { userId, client } = clientFor(env, index);
  const db = createVersesDb(`load-perop-${index}-${userId}`);
  await db.open();
  const { recorder } = env;
  const cards: string[] = [];
  // One request at a time per user, in the order the user acted.
  let chain = Promise.resolve();

  const send = (type: keyof typeof LEGACY_ACTION, localRecordId: string, payload: Record<string, unknown>) => {
    const id = randomUUID();
    chain = chain.then(async () => {
      const { data, error } = await client.functions.invoke('verse-operations', {
        body: { action: LEGACY_ACTION[type], batchId: randomUUID(), operations: [{ id, localRecordId, ...payload }] },
      });
      const result = (data as { results?: OperationResult[] } | null)?.results?.[0];
      if (error || !result?.success) recorder.failed(index, localRecordId, error ? `request: ${error.message}` : `op: ${result?.error?.code ?? 'no result'}`);
    });
  };

  return {
    index,
    userId,
    async act(action) {
      const now = new Date().toISOString();
      switch (action.kind) {
        case 'add': {
          const verseId = randomUUID();
          const card = { id: randomUUID(), verseId, reference: action.ref, createdAt: now, updatedAt: now, nextReviewAt: now, reviewCount: 0, correctCount: 0, userId };
          await db.transaction('rw', db.verses, db.verseCards, async () => {
            await db.verses.add({ id: verseId, reference: action.ref, translation: 'ESV' });
            await db.verseCards.add(card);
          });
          cards.push(card.id);
          recorder.enqueued(index, card.id, 'add');
          send('CREATE_VERSE', card.id, { verseCardId: card.id, reference: action.ref, translation: 'ESV' });
          break;
        }
        case 'review': {
          const id = randomUUID();
          const verseCardId = cards[Math.min(action.card, cards.length - 1)];
          await db.transaction('rw', db.reviewLogs, db.verseCards, async () => {
            await db.reviewLogs.add({ id, verseCardId, correct: action.correct, reviewDate: now });
            await db.verseCards.update(verseCardId, { updatedAt: now });
          });
          recorder.enqueued(index, id, 'review');
          send('RECORD_REVIEW', id, { reviewId: id, verseCardId, correct: action.correct, reviewDate: now });
          break;
        }
        case 'profile':
          await db.profile.put({ id: userId, ...action.patch, updatedAt: now });
          recorder.enqueued(index, userId, 'profile');
          send('UPDATE_PROFILE', userId, { ...action.patch, updatedAt: now });
          break;
      }
    },
    async settled(signal) {
      await Promise.race([chain, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
    },
    async close() {
      await dropDb(db);
    },
  };
}

/** The real client: dataService writes (outbox in the same transaction), BatchSyncService sends. */
/**
 * A verses-sync user's session actions as dataService writes, one after another as in a UI,
 * each recorded as enqueued. The step then waits for every written op's ack on the recorder (no
 * outbox polling: a thousand users counting their outboxes every 250 ms would load this process,
 * not the server); settled() only waits for the local writes.
 */
function studyWrites(data: DataService, recorder: Recorder, index: number): Pick<LoadUser, 'act' | 'settled'> {
  const cards: string[] = [];
  let writes = Promise.resolve();
  return {
    act(action) {
      writes = writes.then(async () => {
        switch (action.kind) {
          case 'add': {
            const card = await data.addVerseCard(action.ref);
            cards.push(card.id);
            recorder.enqueued(index, card.id, 'add');
            break;
          }
          case 'review': {
            const review = await data.recordReview(cards[Math.min(action.card, cards.length - 1)], action.correct);
            recorder.enqueued(index, review.id, 'review');
            break;
          }
          case 'profile': {
            const profile = await data.updateProfile(action.patch);
            recorder.enqueued(index, profile.id, 'profile');
            break;
          }
        }
      });
      return writes;
    },
    async settled() {
      await writes;
    },
  };
}

export async function createVersesSyncUser(env: UserEnv, index: number, quality: Quality): Promise<LoadUser> {
  const { userId, client } = clientFor(env, index);
  const db = createVersesDb(`load-vs-${index}-${userId}`);
  const mutations = ownMutations(db);
  const sync = new BatchSyncService({
    db,
    client,
    storageMutations: mutations,
    getUserId: () => userId,
    // The load is about the server: the quality is fixed, not re-probed (no probe requests).
    probeLatency: async () => PROBE_MS[quality],
    networkEvents: 'none',
    online: true,
  });
  const data: DataService = createDataService({ db, getUserId: () => userId, onEnqueued: sync.notifyEnqueued });
  await sync.start();
  const until = performance.now() + 30_000;
  while (sync.getState().quality !== quality) {
    if (performance.now() > until) throw new Error(`user ${index} did not settle on ${quality}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const { act, settled } = studyWrites(data, env.recorder, index);
  return {
    index,
    userId,
    act,
    settled,
    async close() {
      await sync.stop();
      mutations.close();
      await dropDb(db);
    },
  };
}
