// Supabase Edge Function entry point. Deploy with `supabase functions deploy verse-operations`
// after `supabase secrets set SUPABASE_JWT_SECRET=...` (the project's JWT secret).
import { esvConfigFromEnv } from './esv.ts';
import { createHandler } from './handler.ts';
import { createBatchStore } from './store.ts';

function requireEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`verse-operations: environment variable ${name} is not set`);
  return value;
}

const pool = Number(Deno.env.get('VERSE_OPERATIONS_DB_POOL') ?? 4);
// The local stack sets VERSE_OPERATIONS_DB_MULTIPLEXED=1 on PGlite's socket server; Supabase never does.
const store = createBatchStore(requireEnv('SUPABASE_DB_URL'), {
  maxConnections: pool,
  multiplexedSession: Deno.env.get('VERSE_OPERATIONS_DB_MULTIPLEXED') === '1',
});
// One batch per pooled connection at a time, a short line behind them, 429 past that.
const handler = createHandler({
  store,
  jwtSecret: requireEnv('SUPABASE_JWT_SECRET'),
  load: { maxConcurrent: pool, maxWaiting: pool * 16 },
  // Verse text: ESV_API_KEY (and ESV_API_URL for another server), ESV_STORAGE_CAP.
  esv: esvConfigFromEnv((name) => Deno.env.get(name)),
});

// Supabase's runtime picks the port itself; the local stack names one.
const port = Deno.env.get('VERSE_OPERATIONS_PORT');
Deno.serve(port ? { port: Number(port), hostname: '127.0.0.1', onListen: () => console.log(`verse-operations listening on ${port}`) } : {}, handler);
