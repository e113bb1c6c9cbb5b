// Exactly-once under concurrency: a client that times out and resends a batch while the
// first request is still running on the server must get the first request's results,
// not a permanent error for operations that did succeed. (pgTAP runs in one session,
// so this needs two real connections.)
import postgres from 'postgres';
import { startDatabase, type Database } from '../../src/stack/database.ts';
import { migrate } from '../../src/stack/migrate.ts';
import { describeWithServer } from '../helpers/server.ts';

const USER = '11111111-1111-4111-8111-111111111111';
const claims = JSON.stringify({ sub: USER, role: 'authenticated' });

type Result = { id: string; success: boolean; error?: { code: string } };

const cases: Array<[string, object[]]> = [
  [
    'CREATE_VERSE',
    [{ id: '0a000000-0000-4000-8000-000000000001', seq: 1, type: 'CREATE_VERSE',
       payload: { verseCardId: 'ca000000-0000-4000-8000-000000000001', reference: 'John 3:16' } }],
  ],
  [
    // A CREATE_VERSE-only batch takes the set-based path: the resend's attempt meets the
    // original's cards, rolls back, and the loop answers from the ledger.
    'CREATE_VERSE bulk (set-based)',
    [1, 2, 3].map((i) => ({ id: `0b000000-0000-4000-8000-00000000000${i}`, seq: i, type: 'CREATE_VERSE',
       payload: { verseCardId: `cb000000-0000-4000-8000-00000000000${i}`, reference: `Psalm 23:${i}` } })),
  ],
  [
    'UPDATE_PROFILE',
    [{ id: '0a000000-0000-4000-8000-000000000002', seq: 1, type: 'UPDATE_PROFILE',
       payload: { displayName: 'Alice', updatedAt: '2026-01-01T00:00:00Z' } }],
  ],
];

describeWithServer('apply_batch: a resend racing the original request', 'the race needs two concurrent sessions, and PGlite has one', () => {
  let database: Database | undefined;
  let admin: postgres.Sql;
  let first: postgres.Sql;
  let second: postgres.Sql;

  beforeAll(async () => {
    database = await startDatabase({ url: process.env.DATABASE_URL, isolate: true });
    admin = postgres(database.url, { max: 1, onnotice: () => {} });
    await migrate(admin);
    first = postgres(database.url, { max: 1, onnotice: () => {} });
    second = postgres(database.url, { max: 1, onnotice: () => {} });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.end({ timeout: 5 }), second?.end({ timeout: 5 }), admin?.end({ timeout: 5 })]);
    await database?.stop();
  }, 60_000);

  const applyAsUser = async (tx: postgres.TransactionSql, batchId: string, ops: object[]) => {
    await tx`select set_config('request.jwt.claims', ${claims}, true)`;
    await tx.unsafe('set local role authenticated');
    const [row] = await tx<{ r: { results: Result[] } }[]>`select public.apply_batch(${batchId}, ${tx.json(ops as never)}) as r`;
    return row.r;
  };

  test.each(cases)('%s: the resend gets the recorded success, and the operation applies once', async (_type, ops) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let applied!: () => void;
    const firstApplied = new Promise<void>((resolve) => (applied = resolve));

    // The original request: applied, not yet committed.
    const original = first.begin(async (tx) => {
      const result = await applyAsUser(tx, 'b0000000-0000-4000-8000-000000000001', ops);
      applied();
      await released;
      return result;
    });
    await Promise.race([firstApplied, original]);

    // The resend, on another connection, while the original is still open.
    const resend = second.begin((tx) => applyAsUser(tx, 'b0000000-0000-4000-8000-000000000002', ops));

    // Let the original commit once the resend is waiting on it.
    for (let i = 0; ; i++) {
      const [{ waiting }] = await admin<{ waiting: number }[]>`
        select count(*)::int as waiting from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'`;
      if (waiting > 0) break;
      if (i > 200) {
        release();
        throw new Error('the resend never waited for the original');
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    release();

    const [a, b] = await Promise.all([original, resend]);
    expect(a.results.map((r) => r.success)).toEqual(ops.map(() => true));
    expect(b.results).toEqual(a.results);
    const ids = ops.map((op) => (op as { id: string }).id);
    const [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from public.sync_ledger where op_id = any(${ids}::uuid[])`;
    expect(n).toBe(ops.length);
  });

  // The review waits on the card's row lock held by the copy that deletes it; it must still get
  // the ledger's answer (the recorded success), never CARD_DELETED for a review that applied.
  test('review c then delete c, 3 to 8 copies at once for 20 rounds: every answer is the ledger\'s', async () => {
    const pool = postgres(database!.url, { max: 8, onnotice: () => {} });
    const hex = (round: number, n: number) => `${String(round).padStart(4, '0')}${String(n).padStart(8, '0')}`;
    let disagreements = 0;
    try {
      for (let round = 0; round < 20; round++) {
        const copies = 3 + (round % 6);
        const card = `cc000000-0000-4000-8000-${hex(round, 0)}`;
        await pool.begin((tx) => applyAsUser(tx, `bc000000-0000-4000-8000-${hex(round, 0)}`, [
          { id: `0c000000-0000-4000-8000-${hex(round, 0)}`, seq: 0, type: 'CREATE_VERSE', payload: { verseCardId: card, reference: 'Ruth 1:16' } },
        ]));
        const ops = [
          { id: `0c000000-0000-4000-8000-${hex(round, 1)}`, seq: 1, type: 'RECORD_REVIEW',
            payload: { reviewId: `dc000000-0000-4000-8000-${hex(round, 1)}`, verseCardId: card, correct: true, reviewDate: '2026-02-01T00:00:00Z' } },
          { id: `0c000000-0000-4000-8000-${hex(round, 2)}`, seq: 2, type: 'DELETE_VERSE', payload: { verseCardId: card } },
        ];
        const answers = await Promise.all(
          Array.from({ length: copies }, (_, copy) =>
            pool.begin((tx) => applyAsUser(tx, `bc000000-0000-4000-8000-${hex(round, copy + 1)}`, ops))),
        );
        const ledger = new Map(
          (await admin<{ op_id: string; result: Result }[]>`
            select op_id::text, result from public.sync_ledger where op_id = any(${ops.map((o) => o.id)}::uuid[])`).map((r) => [r.op_id, r.result]),
        );
        expect(ledger.size).toBe(2);
        for (const answer of answers) {
          expect(answer.results.map((r) => r.id)).toEqual(ops.map((o) => o.id));
          for (const result of answer.results) if (JSON.stringify(result) !== JSON.stringify(ledger.get(result.id))) disagreements += 1;
        }
        const [{ reviews }] = await admin<{ reviews: number }[]>`select review_count as reviews from public.verse_cards where id = ${card}::uuid`;
        expect(reviews).toBe(1);
      }
    } finally {
      await pool.end({ timeout: 5 });
    }
    expect(disagreements).toBe(0);
  }, 120_000);
});
