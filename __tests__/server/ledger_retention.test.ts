// The ledger stays bounded: each user keeps their newest ledger rows (the setting
// ledger_rows_per_user, 1,000 by default: one full batch) and older ones are pruned once a user holds a tenth
// more. A resend older than that finds its record by the record's own id and is answered
// success without a second write.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { startDatabase, type Database } from '../../src/stack/database.ts';
import { migrate } from '../../src/stack/migrate.ts';

const USER = randomUUID();
const claims = JSON.stringify({ sub: USER, role: 'authenticated' });
type Results = { results: Array<{ id: string; success: boolean; error?: { code: string } }> };

describe('sync_ledger after 100,000 ops of one device', () => {
  let database: Database | undefined;
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await startDatabase({ url: process.env.DATABASE_URL, isolate: true });
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
    await migrate(sql);
  }, 120_000);

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await database?.stop();
  }, 60_000);

  const apply = (ops: object[]) =>
    sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      await tx.unsafe('set local role authenticated');
      const [row] = await tx<{ r: Results }[]>`select public.apply_batch(${randomUUID()}, ${tx.json(ops as never)}) as r`;
      return row.r;
    });

  test('stays within the retention (default settings), and every resend is still answered success', async () => {
    // A study deck of 100 cards, reviewed over and over.
    const cards = Array.from({ length: 100 }, () => randomUUID());
    let seq = 0;
    await apply(cards.map((card, i) => ({ id: randomUUID(), seq: ++seq, type: 'CREATE_VERSE', payload: { verseCardId: card, reference: `Psalm 119:${i + 1}` } })));
    const review = () => ({
      id: randomUUID(), seq: ++seq, type: 'RECORD_REVIEW',
      payload: { reviewId: randomUUID(), verseCardId: cards[seq % 100], correct: seq % 3 !== 0, reviewDate: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString() },
    });
    const first = review();
    let last: object[] = [];
    let lastAnswer: Results | undefined;
    for (let b = 0; b < 100; b++) {
      // Every tenth batch is mixed (the per-op loop); the others are review-only (set-based).
      const ops: object[] = Array.from({ length: 1000 }, (_, i) => (b === 0 && i === 0 ? first : review()));
      if (b % 10 === 9) ops[999] = { id: randomUUID(), seq: ++seq, type: 'UPDATE_PROFILE', payload: { dailyGoal: 1 + b, updatedAt: new Date(Date.UTC(2026, 0, 1) + seq).toISOString() } };
      lastAnswer = await apply(ops);
      expect(lastAnswer.results.every((r) => r.success)).toBe(true);
      last = ops;
    }

    const [{ rows, counted, keep }] = await sql<{ rows: number; counted: number; keep: number }[]>`
      select (select count(*)::int from public.sync_ledger where user_id = ${USER}) as rows,
             (select ledger_rows from private.ledger_users where user_id = ${USER}) as counted,
             (select ledger_rows_per_user from private.sync_settings) as keep`;
    console.log(`ledger after 100,100 ops of one device: ${rows} rows (keeps ${keep}, prunes past ${keep + keep / 10})`);
    expect(keep).toBe(1_000);
    expect(rows).toBeGreaterThanOrEqual(keep);
    expect(rows).toBeLessThanOrEqual(keep + keep / 10);
    expect(counted).toBe(rows);

    const totalReviews = sql<{ reviews: number }[]>`select sum(review_count)::int as reviews from public.verse_cards where user_id = ${USER}`;
    expect((await totalReviews)[0].reviews).toBe(99_990);
    // The newest batch, resent: the ledger's answers.
    expect((await apply(last)).results).toEqual(lastAnswer!.results);
    // The first review, long pruned from the ledger, resent: success, counted once.
    const [{ inLedger }] = await sql<{ inLedger: number }[]>`select count(*)::int as "inLedger" from public.sync_ledger where op_id = ${(first as { id: string }).id}`;
    expect(inLedger).toBe(0);
    const again = await apply([first]);
    expect(again.results[0]).toMatchObject({ success: true });
    const [{ after }] = await sql<{ after: number }[]>`select sum(review_count)::int as after from public.verse_cards where user_id = ${USER}`;
    expect(after).toBe(99_990);
  }, 300_000);
});
