// The same batch on both databases (PGlite and, when DATABASE_URL is set, the server)
// and both function runtimes (Deno as deployed, Node as in most tests).
import { randomUUID } from 'node:crypto';
import { startStack, type Stack } from '../../src/stack/index.ts';
import { batch, op } from '../helpers/ops.ts';
import { signIn } from '../helpers/stack.ts';

const setups: Array<[string, () => Promise<Stack>]> = [
  ['PGlite + Deno', () => startStack({ runtime: 'deno' })],
  ['PGlite + Node', () => startStack({ runtime: 'node' })],
];
if (process.env.DATABASE_URL) {
  setups.push(['PostgreSQL server + Deno', () => startStack({ runtime: 'deno', databaseUrl: process.env.DATABASE_URL, isolateDatabase: true })]);
}

describe.each(setups)('%s', (_name, start) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await start();
  }, 120_000);
  afterAll(() => stack?.stop(), 60_000);

  test('a mixed batch applies once; its replay changes nothing', async () => {
    const user = await signIn(stack);
    const create = op.createVerse(randomUUID(), 'Isaiah 40:31');
    const body = batch([create, op.review(create.payload.verseCardId, false), op.alias(create.payload.verseCardId, 'eagles'), op.profile({ dailyGoal: 7 })]);
    const first = await user.client.functions.invoke('verse-operations', { body });
    expect(first.error).toBeNull();
    expect(first.data.results.map((r: { success: boolean }) => r.success)).toEqual([true, true, true, true]);
    const second = await user.client.functions.invoke('verse-operations', { body });
    expect(second.data).toEqual(first.data);
    const [counts] = await stack.sql`
      select (select count(*) from verse_cards where user_id = ${user.id})::int as cards,
             (select count(*) from review_logs where user_id = ${user.id})::int as reviews,
             (select count(*) from sync_ledger where user_id = ${user.id})::int as ledger`;
    expect(counts).toEqual({ cards: 1, reviews: 1, ledger: 4 });
  });
});
