// The function's BatchStore on one pooled connection: each batch runs as its token's user, and
// nothing of that user (role, claims) stays on the connection for the next call.
import { randomUUID } from 'node:crypto';
import type { Claims } from '../../supabase/functions/verse-operations/auth.ts';
import { createBatchStore, type BatchStore } from '../../supabase/functions/verse-operations/store.ts';
import { op } from '../helpers/ops.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack();
const claimsOf = (sub: string): Claims => ({ sub, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 });

describe('BatchStore on one connection', () => {
  let store: BatchStore;
  beforeAll(() => {
    store = createBatchStore(stack().database.url, { maxConnections: 1, multiplexedSession: stack().database.multiplexedSession });
  });
  afterAll(() => store.close());

  test("a batch writes as its claims' user, and the next call on the connection does not inherit them", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const create = op.createVerse();
    const [created] = await store.applyBatch(claimsOf(alice), randomUUID(), [create]);
    expect(created).toMatchObject({ id: create.id, success: true });
    const [{ user_id: owner }] = await stack().sql`select user_id from public.verse_cards where id = ${create.payload.verseCardId}`;
    expect(owner).toBe(alice);

    // Bob's batch on the same connection sees Bob only: Alice's card is not his to review.
    const [refused] = await store.applyBatch(claimsOf(bob), randomUUID(), [op.review(create.payload.verseCardId)]);
    expect(refused).toMatchObject({ success: false, error: { code: 'CARD_NOT_FOUND' } });

    // The private schema is closed to `authenticated`: this call works only if the role went back.
    await expect(store.esv!.known(['John 3:16'])).resolves.toEqual(expect.any(Array));

    const [accepted] = await store.applyBatch(claimsOf(alice), randomUUID(), [op.review(create.payload.verseCardId)]);
    expect(accepted).toMatchObject({ success: true });
  });

  test('a resent batch returns the recorded answers and writes nothing twice', async () => {
    const user = randomUUID();
    const create = op.createVerse();
    const review = op.review(create.payload.verseCardId);
    const batchId = randomUUID();
    const first = await store.applyBatch(claimsOf(user), batchId, [create, review]);
    const again = await store.applyBatch(claimsOf(user), batchId, [create, review]);
    expect(again).toEqual(first);
    const [{ n }] = await stack().sql`select count(*)::int as n from public.review_logs where user_id = ${user}`;
    expect(n).toBe(1);
  });
});
