// Applies a validated batch through the apply_batch RPC as the token's user.
import postgres from 'postgres';
import type { OperationResult, WireOperation } from '../_shared/protocol.ts';
import type { Claims } from './auth.ts';

export type BatchStore = {
  applyBatch(claims: Claims, batchId: string, operations: WireOperation[]): Promise<OperationResult[]>;
  close(): Promise<void>;
};

export type StoreOptions = { maxConnections?: number };

/** A BatchStore on a Postgres URL (Supabase gives functions SUPABASE_DB_URL). */
export function createBatchStore(url: string, options: StoreOptions = {}): BatchStore {
  const sql = postgres(url, {
    max: options.maxConnections ?? 4,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
  });
  return {
    async applyBatch(claims, batchId, operations) {
      return sql.begin(async (tx) => {
        // The same settings PostgREST makes: RLS and auth.uid() now see this user.
        await tx`select set_config('role', 'authenticated', true),
                        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                        set_config('request.jwt.claim.sub', ${claims.sub}, true)`;
        const [row] = await tx`select public.apply_batch(${batchId}::uuid, ${tx.json(operations as never)}) as result`;
        return (row.result as { results: OperationResult[] }).results;
      });
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
