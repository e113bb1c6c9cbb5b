// Where the server's time goes for a batch of 500 CREATE_VERSE: the function's JS work
// (parse, validate, serialize) and the apply_batch RPC against variants of it.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startStack } from '../src/stack/index.ts';
import { validatePayload, applyBatchRequestSchema } from '../supabase/functions/_shared/protocol.ts';
import { allReferences, referenceOf } from './workloads.ts';

const SIZE = 500;
const BATCHES = Number(process.argv[2] ?? 20);

async function main() {
  const stack = await startStack({ databaseUrl: process.env.DATABASE_URL, isolateDatabase: true, runtime: 'node' });
  const { sql } = stack;
  try {
    await sql`insert into public.verses (reference, translation) select r, 'ESV' from unnest(${allReferences()}::text[]) r on conflict do nothing`;
    const source = await readFile(new URL('../supabase/migrations/20261125000200_apply_batch.sql', import.meta.url), 'utf8');
    const body = source.slice(source.indexOf('create or replace function public.apply_batch'), source.indexOf('revoke all on function private.ensure_verse'));
    // Variant: results appended to a jsonb[] (amortised O(1) in plpgsql) instead of re-building a jsonb array per op.
    const arrayAppend = body
      .replace('public.apply_batch(', 'public.apply_batch_array(')
      .replace("v_results jsonb := '[]'::jsonb;", "v_list jsonb[] := '{}';")
      .replaceAll('v_results := v_results || jsonb_build_array(', 'v_list := v_list || (')
      .replace("'results', v_results)", "'results', to_jsonb(v_list))");
    await sql.unsafe(arrayAppend);
    await sql.unsafe('grant execute on function public.apply_batch_array(uuid, jsonb) to authenticated');

    const userId = randomUUID();
    const claims = { sub: userId, role: 'authenticated', aud: 'authenticated' };
    const batch = (offset: number) =>
      Array.from({ length: SIZE }, (_, i) => ({ id: randomUUID(), seq: offset + i, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: referenceOf((offset + i) % 500), translation: 'ESV' } }));
    const rpc = (fn: string) => async (ops: unknown[]) =>
      sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('request.jwt.claim.sub', ${userId}, true)`;
        await tx.unsafe(`select ${fn}($1::uuid, $2::jsonb) as r`, [randomUUID(), ops as never]);
      });
    const run = async (label: string, fn: (ops: unknown[]) => Promise<unknown>) => {
      await fn(batch(0));
      const t = performance.now();
      for (let b = 0; b < BATCHES; b++) await fn(batch(b * SIZE));
      const s = (performance.now() - t) / 1000;
      console.log(`${label.padEnd(44)} ${Math.round((BATCHES * SIZE) / s).toLocaleString('en-US').padStart(8)} ops/s  ${((s * 1000) / BATCHES).toFixed(1)} ms/batch`);
    };
    await run('apply_batch (as shipped)', rpc('public.apply_batch'));
    await run('apply_batch, results in a jsonb[]', rpc('public.apply_batch_array'));
    await run('apply_batch (as shipped), again', rpc('public.apply_batch'));

    // The function's own JS work per batch.
    const text = JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations: batch(0) });
    let t = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const parsed = applyBatchRequestSchema.parse(JSON.parse(text));
      for (const op of parsed.operations) validatePayload(op.type, op.payload);
    }
    console.log(`function JS: parse + zod for ${SIZE} ops: ${((performance.now() - t) / BATCHES).toFixed(1)} ms/batch`);
    t = performance.now();
    for (let b = 0; b < BATCHES; b++) JSON.stringify(batch(0));
    console.log(`serialize ${SIZE} ops (postgres.js json param): ${((performance.now() - t) / BATCHES).toFixed(1)} ms/batch`);
  } finally {
    await stack.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
