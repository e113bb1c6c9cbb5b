// Applies a validated batch through the apply_batch RPC as the token's user.
import postgres from 'postgres';
import type { OperationResult, WireOperation } from '../_shared/protocol.ts';
import type { Claims } from './auth.ts';
import type { Token } from './esv.ts';

export type BatchStore = {
  applyBatch(claims: Claims, batchId: string, operations: WireOperation[]): Promise<OperationResult[]>;
  /** The same, answered with the RPC's `{ batchId, results }` as JSON text, to pass on unparsed. */
  applyBatchAnswer?(claims: Claims, batchId: string, operations: WireOperation[]): Promise<string>;
  /** The ESV's shared budget and the catalogue's record of its answers (the function's own rights). */
  esv?: EsvStore;
  close(): Promise<void>;
};

export type KnownReference = { key: string; verseId: string; reference: string; status: 'ready' | 'pending' | 'evicted' | null };
export type EsvEntry = { key: string; status: 'ready'; reference: string; text: string } | { key: string; status: 'pending' };

export type EsvStore = {
  /** One ESV query from the shared budget, spent for this user (within the user's share). */
  takeToken(userId: string): Promise<Token>;
  throttled(retryAfterSeconds: number): Promise<void>;
  /** What references as typed already name in the catalogue. */
  known(keys: string[]): Promise<KnownReference[]>;
  /** Verses whose text the user's live cards still wait for. */
  waitingFor(userId: string, limit: number): Promise<Array<{ verseId: string; reference: string }>>;
  /** Records the ESV's answers asked for this user's batch (only their cards move); returns key → catalogue verse id. */
  record(userId: string, entries: EsvEntry[]): Promise<Record<string, string>>;
  /** Placeholders the ESV does not know stop waiting for text; their keys are forgotten. */
  forget(keys: string[]): Promise<void>;
  /** The user's live cards on these verses, with the verse's reference and text. */
  cardsOn(userId: string, verseIds: string[]): Promise<Array<{ verseCardId: string; reference: string; text: string }>>;
  enforceCap(cap?: number): Promise<number>;
};

export type StoreOptions = {
  maxConnections?: number;
  /**
   * The server multiplexes connections onto one session (PGlite's socket server) and keeps a
   * connection's statements together only inside an explicit transaction, so every call opens one.
   */
  multiplexedSession?: boolean;
};

/** A BatchStore on a Postgres URL (Supabase gives functions SUPABASE_DB_URL). */
export function createBatchStore(url: string, options: StoreOptions = {}): BatchStore {
  const sql = postgres(url, {
    max: options.maxConnections ?? 4,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
  });
  // A real server runs each call as one statement, its own transaction (one round trip, not the
  // four of BEGIN, settings, RPC, COMMIT); a multiplexed session needs BEGIN and COMMIT around it.
  const multiplexed = options.multiplexedSession ?? false;
  // The calls use only the tagged template and json, which Sql and TransactionSql share.
  const q = <T>(fn: (tx: postgres.TransactionSql) => Promise<T>) =>
    multiplexed ? (sql.begin(fn) as Promise<T>) : fn(sql as unknown as postgres.TransactionSql);
  // The answer comes back as text: the handler passes it to the client as it is when it can.
  const applyBatchAnswer: BatchStore['applyBatchAnswer'] & {} = (claims, batchId, operations) =>
    q(async (tx) => {
      // The same settings PostgREST makes, local to this transaction: RLS and auth.uid() see this
      // user. The materialized CTE is evaluated, once, before the RPC runs on its one row.
      const [row] = await tx`
        with settings as materialized (
          select set_config('role', 'authenticated', true),
                 set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                 set_config('request.jwt.claim.sub', ${claims.sub}, true))
        select public.apply_batch(${batchId}::uuid, ${tx.json(operations as never)})::text as answer from settings`;
      return row.answer as string;
    });
  return {
    applyBatchAnswer,
    async applyBatch(claims, batchId, operations) {
      return (JSON.parse(await applyBatchAnswer(claims, batchId, operations)) as { results: OperationResult[] }).results;
    },
    esv: {
      async takeToken(userId) {
        const [row] = await q((tx) => tx`select private.esv_take_token(null, ${userId}::uuid) as token`);
        return row.token as Token;
      },
      async throttled(seconds) {
        await q((tx) => tx`select private.esv_throttled(${Math.ceil(seconds)}::integer)`);
      },
      async known(keys) {
        if (keys.length === 0) return [];
        const rows = await q((tx) => tx`select key, verse_id, reference, status from private.esv_known(${keys}::text[])`);
        return rows.map((r) => ({ key: r.key, verseId: r.verse_id, reference: r.reference, status: r.status }));
      },
      async waitingFor(userId, limit) {
        const rows = await q((tx) => tx`select verse_id, reference from private.esv_waiting_for(${userId}::uuid, ${limit}::integer)`);
        return rows.map((r) => ({ verseId: r.verse_id, reference: r.reference }));
      },
      async record(userId, entries) {
        if (entries.length === 0) return {};
        const [row] = await q((tx) => tx`select private.esv_record(${userId}::uuid, ${tx.json(entries as never)}) as ids`);
        return row.ids as Record<string, string>;
      },
      async forget(keys) {
        if (keys.length === 0) return;
        await q((tx) => tx`select private.esv_forget(${keys}::text[])`);
      },
      async cardsOn(userId, verseIds) {
        if (verseIds.length === 0) return [];
        const rows = await q((tx) => tx`
          select c.id, v.reference, v.text from public.verse_cards c join public.verses v on v.id = c.verse_id
           where c.user_id = ${userId}::uuid and c.deleted_at is null and v.id = any(${verseIds}::uuid[])
             and v.text_status = 'ready' and v.text is not null`);
        return rows.map((r) => ({ verseCardId: r.id, reference: r.reference, text: r.text }));
      },
      async enforceCap(cap) {
        const [row] = await q((tx) => tx`select private.esv_enforce_cap(${cap ?? null}::integer) as evicted`);
        return row.evicted as number;
      },
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
