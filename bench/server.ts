// Server apply throughput: batches of CREATE_VERSE through the function (HTTP, JWT, JSON,
// validation, the apply_batch RPC), the same function under Deno as deployed, the RPC alone
// from this process, and the floor: the same card and ledger rows as multi-row INSERTs in
// batches of the same size, same Postgres, same process. Then where a batch's time goes (the split).
import { randomUUID } from 'node:crypto';
import { startDenoFunction } from '../src/stack/deno.ts';
import { importJwtSecret, verifyAccessToken } from '../supabase/functions/verse-operations/auth.ts';
import { checkBatch } from '../supabase/functions/verse-operations/handler.ts';
import { createBatchStore } from '../supabase/functions/verse-operations/store.ts';
import type { BenchEnv } from './env.ts';
import { referenceOf } from './workloads.ts';

export type ServerResult = {
  batchSize: number;
  /** Ops per round of each path; the figures below are the medians of `rounds` rounds. */
  ops: number;
  rounds: number;
  /** Through the function over HTTP (no added latency), one batch at a time. */
  opsPerSec: number;
  /** The apply_batch RPC through the function's own BatchStore (no HTTP), one batch at a time. */
  rpcOpsPerSec: number;
  rawInsertOpsPerSec: number;
  /** Through the function run by Deno exactly as deployed (posted straight to it), one batch at a time. */
  denoOpsPerSec: number;
  /** Each round's figure, in the order they ran (the paths' rounds interleaved). */
  opsPerSecRounds: number[];
  rpcOpsPerSecRounds: number[];
  rawInsertOpsPerSecRounds: number[];
  denoOpsPerSecRounds: number[];
  /** Milliseconds per batch through the function (Node), by stage, each timed on its own in this process. */
  split: ServerSplit;
};

export type ServerSplit = {
  /** The whole request: client, gateway, handler, database. */
  totalMs: number;
  jwtMs: number;
  jsonParseMs: number;
  /** The body's shape and every op's payload (zod). */
  checkMs: number;
  /** The RPC through the BatchStore: postgres.js serialisation, the database, the answer's parse. */
  rpcMs: number;
  /** The answer's JSON. */
  answerMs: number;
  /** What is left: HTTP on both sides, the body read, admission. */
  httpMs: number;
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

// Each path runs this many rounds; within a round the paths take turns batch by batch
// (function, Deno, RPC, raw, then again), so a change in the machine's load falls on all of
// them alike. The figures are the rounds' medians.
const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchServer(env: BenchEnv, options: { ops: number; batchSize: number; onStep?: () => void }): Promise<ServerResult> {
  const { batchSize } = options;
  const batches = Math.max(1, Math.round(options.ops / batchSize));
  const ops = batches * batchSize;
  const { stack } = env;
  const step = options.onStep ?? (() => {});
  // One user per path, so no path prunes another's ledger rows.
  const userId = randomUUID();
  const token = await stack.tokenFor(userId, { expiresIn: 3600 });
  const postTo = (url: string, bearer: string, headers: Record<string, string> = {}) => async (operations: ReturnType<typeof batchOf>) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations }),
    });
    const body = (await response.json()) as { results?: Array<{ success: boolean }> };
    if (!response.ok || body.results?.some((r) => !r.success)) throw new Error(`function batch failed: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  };
  const post = postTo(stack.functionUrl, token, { apikey: stack.anonKey });

  // The same handler under Deno, as deployed, on the same database.
  const deno = await startDenoFunction({
    name: 'verse-operations',
    env: {
      SUPABASE_DB_URL: stack.database.url,
      SUPABASE_JWT_SECRET: stack.jwtSecret,
      VERSE_OPERATIONS_DB_POOL: '2',
      ...(stack.database.multiplexedSession ? { VERSE_OPERATIONS_DB_MULTIPLEXED: '1' } : {}),
    },
  });
  // The RPC exactly as the function applies it (its BatchStore), without HTTP, JWT or JSON parsing.
  const store = createBatchStore(stack.database.url, { maxConnections: 1, multiplexedSession: stack.database.multiplexedSession });
  try {
    const postDeno = postTo(`${deno.origin}/functions/v1/verse-operations`, await stack.tokenFor(randomUUID(), { expiresIn: 3600 }));
    const rpcUser = randomUUID();
    const claims = { sub: rpcUser, role: 'authenticated' as const, aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 3600 };
    const rpc = async (operations: ReturnType<typeof batchOf>) => {
      const results = await store.applyBatch(claims, randomUUID(), operations);
      if (results.some((r) => !r.success)) throw new Error('rpc batch failed');
    };
    // The floor: one statement per batch writes the cards (catalogue ids by join) and their ledger rows.
    const rawUser = randomUUID();
    const raw = async (operations: ReturnType<typeof batchOf>) => {
      const rows = operations.map((o) => ({ id: o.id, card: o.payload.verseCardId, reference: o.payload.reference }));
      await stack.sql`
        with ops as (select value as e from jsonb_array_elements(${stack.sql.json(rows as never)}::jsonb)),
        cards as (
          insert into public.verse_cards (id, user_id, verse_id)
          select (e ->> 'card')::uuid, ${rawUser}::uuid, v.id
            from ops join public.verses v on v.reference = e ->> 'reference' and v.translation = 'ESV'
          returning id)
        insert into public.sync_ledger (op_id, user_id, batch_id, type, digest, result)
        select (e ->> 'id')::uuid, ${rawUser}::uuid, ${randomUUID()}::uuid, 'CREATE_VERSE', md5(e::text)::uuid,
               jsonb_build_object('id', e ->> 'id', 'success', true, 'appliedAt', now())
          from ops`;
    };
    const paths = { function: post, deno: postDeno, rpc, raw };
    const rounds: Record<keyof typeof paths, number[]> = { function: [], deno: [], rpc: [], raw: [] };
    let offset = 0;
    // Warm-up: the catalogue rows exist, plans are cached, connections open.
    for (const apply of Object.values(paths)) await apply(batchOf(batchSize, (offset += batchSize)));
    const named = Object.entries(paths) as Array<[keyof typeof paths, (o: ReturnType<typeof batchOf>) => Promise<void>]>;
    for (let r = 0; r < ROUNDS; r++) {
      const ms = { function: 0, deno: 0, rpc: 0, raw: 0 };
      for (let b = 0; b < batches; b++) {
        for (const [name, apply] of named) {
          const batch = batchOf(batchSize, (offset += batchSize));
          const t = performance.now();
          await apply(batch);
          ms[name] += performance.now() - t;
        }
      }
      for (const [name] of named) rounds[name].push(ops / (ms[name] / 1000));
      step();
    }

    // The handler's own stages on request bodies like the ones above, each timed alone.
    const secret = await importJwtSecret(stack.jwtSecret);
    const samples = Math.min(batches, 20);
    const bodies = Array.from({ length: samples }, (_, b) => JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations: batchOf(batchSize, b * batchSize) }));
    const perBatch = async (fn: (i: number) => unknown) => {
      await fn(0);
      const started = performance.now();
      for (let i = 0; i < samples; i++) await fn(i);
      return (performance.now() - started) / samples;
    };
    const jwtMs = await perBatch(() => verifyAccessToken(`Bearer ${token}`, secret));
    const jsonParseMs = await perBatch((i) => JSON.parse(bodies[i]));
    const parsedBodies = bodies.map((b) => JSON.parse(b) as unknown);
    const checkMs = await perBatch((i) => checkBatch(parsedBodies[i]));
    const answer = { batchId: randomUUID(), results: batchOf(batchSize, 0).map((o) => ({ id: o.id, success: true, remoteId: randomUUID(), appliedAt: new Date().toISOString() })) };
    const answerMs = await perBatch(() => JSON.stringify({ batchId: answer.batchId, results: answer.results.map((r) => ({ ...r, id: r.id })) }));
    const opsPerSec = median(rounds.function);
    const rpcOpsPerSec = median(rounds.rpc);
    const totalMs = (1000 * batchSize) / opsPerSec;
    const rpcMs = (1000 * batchSize) / rpcOpsPerSec;
    const split: ServerSplit = { totalMs, jwtMs, jsonParseMs, checkMs, rpcMs, answerMs, httpMs: Math.max(0, totalMs - jwtMs - jsonParseMs - checkMs - rpcMs - answerMs) };
    step();
    return {
      batchSize,
      ops,
      rounds: ROUNDS,
      opsPerSec,
      rpcOpsPerSec,
      rawInsertOpsPerSec: median(rounds.raw),
      denoOpsPerSec: median(rounds.deno),
      opsPerSecRounds: rounds.function,
      rpcOpsPerSecRounds: rounds.rpc,
      rawInsertOpsPerSecRounds: rounds.raw,
      denoOpsPerSecRounds: rounds.deno,
      split,
    };
  } finally {
    await store.close();
    await deno.stop();
  }
}
