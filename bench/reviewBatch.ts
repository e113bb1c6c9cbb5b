// What a study session's batch costs the server: a 10-review batch against a 1-review batch
// through the apply_batch RPC exactly as the function calls it (its BatchStore), median of many.
// `tsx bench/reviewBatch.ts [runs] [migrations dir]`; DATABASE_URL names the server (PGlite without).
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { startDatabase } from '../src/stack/database.ts';
import { migrate, MIGRATIONS_DIR } from '../src/stack/migrate.ts';
import { createBatchStore } from '../supabase/functions/verse-operations/store.ts';
import type { WireOperation } from '../supabase/functions/_shared/protocol.ts';

const RUNS = Number(process.argv[2] ?? 300);
const DIR = process.argv[3] ?? MIGRATIONS_DIR;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const database = await startDatabase({ url: process.env.DATABASE_URL, isolate: true });
  const admin = postgres(database.url, { max: 1, onnotice: () => {} });
  const store = createBatchStore(database.url, { maxConnections: 1, multiplexedSession: database.multiplexedSession });
  try {
    await migrate(admin, DIR);
    const userId = randomUUID();
    const claims = { sub: userId, role: 'authenticated' as const, aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 3600 };
    const cards = Array.from({ length: 10 }, () => randomUUID());
    let seq = 0;
    await store.applyBatch(claims, randomUUID(), cards.map((card, i) => ({
      id: randomUUID(), seq: ++seq, type: 'CREATE_VERSE', payload: { verseCardId: card, reference: `Romans 8:${i + 1}` },
    })) as WireOperation[]);
    const reviews = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: randomUUID(), seq: ++seq, type: 'RECORD_REVIEW',
        payload: { reviewId: randomUUID(), verseCardId: cards[i % cards.length], correct: i % 2 === 0, reviewDate: new Date().toISOString() },
      })) as WireOperation[];
    const time = async (n: number) => {
      const ops = reviews(n);
      const t = performance.now();
      const results = await store.applyBatch(claims, randomUUID(), ops);
      const ms = performance.now() - t;
      if (results.length !== n || results.some((r) => !r.success)) throw new Error(`batch of ${n} failed: ${JSON.stringify(results[0])}`);
      return ms;
    };
    for (let i = 0; i < 30; i++) await time(i % 2 ? 1 : 10); // warm-up: plans cached, connection open
    const one: number[] = [];
    const ten: number[] = [];
    // Interleaved, so both sizes see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      one.push(await time(1));
      ten.push(await time(10));
    }
    const [m1, m10] = [median(one), median(ten)];
    console.log(`${database.kind}, ${DIR === MIGRATIONS_DIR ? 'this build' : DIR}: median of ${RUNS}: 1 review ${m1.toFixed(2)} ms, 10 reviews ${m10.toFixed(2)} ms (${(m10 / m1).toFixed(2)}× a 1-review batch)`);
  } finally {
    await store.close();
    await admin.end();
    await database.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
