// The chaos client: one device in a real Chromium. It runs dataService and
// BatchSyncService on this profile's IndexedDB against the fault proxy, and
// answers the runner's commands with the outbox ops each call committed.
import { createVersesDb } from '../../src/db/index.ts';
import type { SyncOperation } from '../../src/db/types.ts';
import { BatchSyncService } from '../../src/service/BatchSyncService.ts';
import { createDataService, DataServiceError } from '../../src/service/dataService.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import type { ChaosApi, ChaosCommand, CommandOutcome, CommittedOp, OutboxState } from '../protocol.ts';

const params = new URLSearchParams(location.search);
const need = (name: string): string => {
  const value = params.get(name);
  if (!value) throw new Error(`chaos client: the page URL needs ?${name}=`);
  return value;
};
const url = need('url');
const anonKey = need('anonKey');
const token = need('token');
const userId = need('userId');
const coalesce = params.get('coalesce') !== '0';

const db = createVersesDb();
// The ops a running command committed, gathered inside its own transaction (the
// hook runs there), so they are known even if the queue sends them at once.
let collecting: CommittedOp[] | null = null;
db.syncOperations.hook('creating', (_key, row: SyncOperation) => {
  const cardId = typeof row.payload.verseCardId === 'string' ? row.payload.verseCardId : undefined;
  collecting?.push({ opId: row.id, type: row.type, localRecordId: row.localRecordId, userId: row.userId, cardId, payload: row.payload });
});

const client = createSupabaseClient({ url, anonKey, accessToken: async () => token });
const sync = new BatchSyncService({
  db,
  client,
  getUserId: () => userId,
  probeLatency: async () => 5,
  network: { config: { poor: { timeoutMs: 60 }, good: { timeoutMs: 40 }, excellent: { timeoutMs: 20 } }, probeIntervalMs: 60_000 },
  requestTimeoutMs: 2_000,
  coalesce,
  // Short windows, timeout and backoff so thousands of ops, kills and an outage fit the run's
  // time; retries (maxRetries) stay the product's. The default backoff after an outage is
  // proven by __tests__/integration/outage.test.ts.
  queue: { backoff: { baseMs: 50, capMs: 500, maxAttempts: 10 } },
});
const data = createDataService({ db, getUserId: () => userId, onEnqueued: (e) => sync.notifyEnqueued(e) });

async function call(command: ChaosCommand): Promise<unknown> {
  switch (command.kind) {
    case 'createCards':
      return command.references.length === 1 ? data.addVerseCard(command.references[0]) : data.addVerseCards(command.references.map((reference) => ({ reference })));
    case 'review':
      return data.recordReview(command.cardId, command.correct);
    case 'alias':
      return data.createAlias(command.cardId, command.alias);
    case 'profile':
      return data.updateProfile(command.patch);
    case 'delete':
      return data.deleteVerse(command.cardId);
  }
}

// The runner sends one command at a time per page, so one collector is enough.
async function run(command: ChaosCommand): Promise<CommandOutcome> {
  const ops: CommittedOp[] = [];
  collecting = ops;
  try {
    await call(command);
    return { ok: true, ops };
  } catch (error) {
    if (error instanceof DataServiceError) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'UNEXPECTED', message: String((error as Error)?.stack ?? error) };
  } finally {
    collecting = null;
  }
}

async function outbox(): Promise<OutboxState> {
  const rows = await db.syncOperations.toArray();
  const deletedCards = (await db.verseCards.toArray()).filter((card) => card.deletedAt !== undefined && card.deletedAt !== null).map((card) => card.id);
  return {
    deletedCards,
    // Held ops (waiting on a refused create) are not synced either: they count as queued.
    queued: rows.filter((r) => r.status === 'queued' || r.status === 'held').length,
    inFlight: rows.filter((r) => r.status === 'inFlight').length,
    dead: rows
      .filter((r) => r.status === 'dead')
      .map((r) => ({
        opId: r.id,
        type: r.type,
        code: r.lastError?.code,
        message: r.lastError?.message,
        cardId: typeof r.payload.verseCardId === 'string' ? r.payload.verseCardId : undefined,
      })),
  };
}

const ready = sync.start().then(() => {
  document.getElementById('status')!.textContent = `running for ${userId}`;
});
const cardIds = async (): Promise<string[]> => (await db.verseCards.toCollection().primaryKeys()) as string[];
const api: ChaosApi = { ready, run, outbox, cardIds };
(window as unknown as { chaos: ChaosApi }).chaos = api;
