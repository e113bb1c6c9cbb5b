// Server apply throughput: batches of CREATE_VERSE through the function (HTTP, JWT, JSON,
// validation, the apply_batch RPC), the RPC alone from this process, and the floor: the same
// card and ledger rows as multi-row INSERTs in batches of the same size, same Postgres, same process.
import { randomUUID } from 'node:crypto';
import { createBatchStore } from '../supabase/functions/verse-operations/store.ts';
import type { BenchEnv } from './env.ts';
import { referenceOf } from './workloads.ts';

export type ServerResult = {
  batchSize: number;
  ops: number;
  /** Through the function over HTTP (no added latency), one batch at a time. */
  opsPerSec: number;
  /** The apply_batch RPC through the function's own BatchStore (no HTTP), one batch at a time. */
  rpcOpsPerSec: number;
  rawInsertOpsPerSec: number;
};

const REFS = 500;

function batchOf(size: number, offset: number) {
  return Array.from({ length: size }, (_, i) => ({
    id: randomUUID(),
    seq: offset + i,
    type: 'CREATE_VERSE' as const,
    payload: { verseCardId: randomUUID(), reference: referenceOf((offset + i) % REFS), translation: 'ESV' },
  }));
}

export async function benchServer(env: BenchEnv, options: { ops: number; batchSize: number; onStep?: () => void }): Promise<ServerResult> {
  const { batchSize } = options;
  const batches = Math.max(1, Math.round(options.ops / batchSize));
  const ops = batches * batchSize;
  const { stack } = env;
  const step = options.onStep ?? (() => {});
  const userId = randomUUID();
  const token = await stack.tokenFor(userId, { expiresIn: 3600 });
  const post = async (operations: ReturnType<typeof batchOf>) => {
    const response = await fetch(stack.functionUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, apikey: stack.anonKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations }),
    });
    const body = (await response.json()) as { results?: Array<{ success: boolean }> };
    if (!response.ok || body.results?.some((r) => !r.success)) throw new Error(`function batch failed: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  };
  // Warm-up: the catalogue rows exist, plans are cached, connections open.
  await post(batchOf(batchSize, 0));
  let t = performance.now();
  for (let b = 0; b < batches; b++) await post(batchOf(batchSize, b * batchSize));
  const opsPerSec = ops / ((performance.now() - t) / 1000);
  step();

  // The RPC exactly as the function applies it (its BatchStore), without HTTP, JWT or JSON parsing.
  const store = createBatchStore(stack.database.url, { maxConnections: 1, multiplexedSession: stack.database.multiplexedSession });
  const claims = { sub: userId, role: 'authenticated' as const, aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 3600 };
  const rpc = async (operations: ReturnType<typeof batchOf>) => {
    const results = await store.applyBatch(claims, randomUUID(), operations);
    if (results.some((r) => !r.success)) throw new Error('rpc batch failed');
  };
  await rpc(batchOf(batchSize, 0));
  t = performance.now();
  for (let b = 0; b < batches; b++) await rpc(batchOf(batchSize, b * batchSize));
  const rpcOpsPerSec = ops / ((performance.now() - t) / 1000);
  await store.close();
  step();

  // The floor: one statement per batch writes the cards (catalogue ids by join) and their ledger rows.
  const raw = (operations: ReturnType<typeof batchOf>) => {
    const rows = operations.map((o) => ({ id: o.id, card: o.payload.verseCardId, reference: o.payload.reference }));
    return stack.sql`
      with ops as (select value as e from jsonb_array_elements(${stack.sql.json(rows as never)}::jsonb)),
      cards as (
        insert into public.verse_cards (id, user_id, verse_id)
        select (e ->> 'card')::uuid, ${userId}::uuid, v.id
          from ops join public.verses v on v.reference = e ->> 'reference' and v.translation = 'ESV'
        returning id)
      insert into public.sync_ledger (op_id, user_id, batch_id, type, digest, result)
      select (e ->> 'id')::uuid, ${userId}::uuid, ${randomUUID()}::uuid, 'CREATE_VERSE', md5(e::text)::uuid,
             jsonb_build_object('id', e ->> 'id', 'success', true, 'appliedAt', now())
        from ops`;
  };
  await raw(batchOf(batchSize, 0));
  t = performance.now();
  for (let b = 0; b < batches; b++) await raw(batchOf(batchSize, b * batchSize));
  const rawInsertOpsPerSec = ops / ((performance.now() - t) / 1000);
  step();
  return { batchSize, ops, opsPerSec, rpcOpsPerSec, rawInsertOpsPerSec };
}
