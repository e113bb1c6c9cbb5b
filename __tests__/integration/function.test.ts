// The verse-operations function end to end: supabase-js → gateway → handler → apply_batch → Postgres.
import { randomUUID } from 'node:crypto';
import { batch, op } from '../helpers/ops.ts';
import { signIn, useStack, type TestUser } from '../helpers/stack.ts';

const stack = useStack();

async function invoke(user: TestUser, body: unknown) {
  const { data, error } = await user.client.functions.invoke('verse-operations', { body: body as Record<string, unknown> });
  if (error) throw new Error(`invoke failed: ${error.message} ${await error.context?.text?.()}`);
  return data as { batchId: string; results: Array<{ id: string; success: boolean; remoteId?: string; error?: { code: string; retryable: boolean } }> };
}

async function countRows(userId: string) {
  const [row] = await stack().sql`
    select (select count(*) from verse_cards where user_id = ${userId})::int as cards,
           (select count(*) from review_logs where user_id = ${userId})::int as reviews,
           (select count(*) from verse_aliases where user_id = ${userId})::int as aliases,
           (select count(*) from profiles where user_id = ${userId})::int as profiles,
           (select count(*) from sync_ledger where user_id = ${userId})::int as ledger`;
  return row;
}

describe('verse-operations through supabase-js', () => {
  test('CREATE_VERSE creates a card owned by the token user and a catalogue verse', async () => {
    const user = await signIn(stack());
    const create = op.createVerse(randomUUID(), '  John   3:16 ');
    const { results } = await invoke(user, batch([create]));
    expect(results).toEqual([expect.objectContaining({ id: create.id, success: true, remoteId: expect.any(String) })]);
    const [card] = await stack().sql`select c.user_id, v.reference, v.id as verse_id from verse_cards c join verses v on v.id = c.verse_id where c.id = ${create.payload.verseCardId}`;
    expect(card).toMatchObject({ user_id: user.id, reference: 'John 3:16', verse_id: results[0].remoteId });
  });

  test('RECORD_REVIEW logs the review and counts it on the card', async () => {
    const user = await signIn(stack());
    const create = op.createVerse();
    await invoke(user, batch([create]));
    const review = op.review(create.payload.verseCardId, true);
    const { results } = await invoke(user, batch([review]));
    expect(results[0]).toMatchObject({ success: true });
    const [card] = await stack().sql`select review_count, correct_count from verse_cards where id = ${create.payload.verseCardId}`;
    expect(card).toEqual({ review_count: 1, correct_count: 1 });
    const logs = await stack().sql`select id from review_logs where verse_card_id = ${create.payload.verseCardId}`;
    expect(logs.map((l) => l.id)).toEqual([review.payload.reviewId]);
  });

  test('UPDATE_PROFILE: the newest updatedAt wins and absent fields stay', async () => {
    const user = await signIn(stack());
    await invoke(user, batch([op.profile({ displayName: 'Ruth', dailyGoal: 5 }, '2026-01-02T00:00:00Z')]));
    await invoke(user, batch([op.profile({ displayName: 'Old name' }, '2026-01-01T00:00:00Z')]));
    await invoke(user, batch([op.profile({ translation: 'KJV' }, '2026-01-03T00:00:00Z')]));
    const [profile] = await stack().sql`select display_name, daily_goal, translation from profiles where user_id = ${user.id}`;
    expect(profile).toEqual({ display_name: 'Ruth', daily_goal: 5, translation: 'KJV' });
  });

  test('UPDATE_PROFILE older than the server: answered superseded, with the profile the server keeps', async () => {
    const user = await signIn(stack());
    await invoke(user, batch([op.profile({ displayName: 'Ruth', dailyGoal: 5 }, '2026-01-02T00:00:00.250Z')]));
    const older = op.profile({ displayName: 'Old name' }, '2026-01-01T00:00:00Z');
    const { results } = await invoke(user, batch([older]));
    expect(results).toEqual([
      expect.objectContaining({ id: older.id, success: true, superseded: true, profile: { displayName: 'Ruth', dailyGoal: 5, updatedAt: '2026-01-02T00:00:00.250Z' } }),
    ]);
    const newer = op.profile({ displayName: 'Naomi' }, '2026-01-03T00:00:00Z');
    const again = await invoke(user, batch([newer, older]));
    const byId = new Map(again.results.map((r) => [r.id, r]));
    expect(byId.get(newer.id)).toMatchObject({ success: true });
    expect(byId.get(newer.id)).not.toHaveProperty('superseded');
    // The resend is answered from the ledger, as first answered.
    expect(byId.get(older.id)).toMatchObject({ superseded: true, profile: { displayName: 'Ruth' } });
  });

  test('CREATE_ALIAS and DELETE_VERSE; a review after the delete is refused', async () => {
    const user = await signIn(stack());
    const create = op.createVerse();
    const cardId = create.payload.verseCardId;
    const alias = op.alias(cardId, 'God so loved');
    const del = op.deleteVerse(cardId);
    const late = op.review(cardId);
    const { results } = await invoke(user, batch([create, alias, del, late]));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(results[3].error).toMatchObject({ code: 'CARD_DELETED', retryable: false });
    const [card] = await stack().sql`select deleted_at from verse_cards where id = ${cardId}`;
    expect(card.deleted_at).toBeInstanceOf(Date);
    const aliases = await stack().sql`select alias from verse_aliases where verse_card_id = ${cardId}`;
    expect(aliases.map((a) => a.alias)).toEqual(['God so loved']);
  });

  test('a 500-op mixed batch is applied in one request, in seq order', async () => {
    const user = await signIn(stack());
    const operations = [];
    for (let i = 0; i < 100; i++) {
      const create = op.createVerse(randomUUID(), `Psalm ${i + 1}:1`);
      operations.push(create, op.review(create.payload.verseCardId, i % 2 === 0), op.review(create.payload.verseCardId), op.alias(create.payload.verseCardId, `alias ${i}`));
      operations.push(i % 10 === 0 ? op.deleteVerse(create.payload.verseCardId) : op.profile({ dailyGoal: (i % 50) + 1 }));
    }
    expect(operations).toHaveLength(500);
    // Shuffle the array: the server must order by seq, not by position.
    const shuffled = [...operations].reverse();
    const started = Date.now();
    const { results } = await invoke(user, batch(shuffled));
    console.log(`500-op mixed batch on ${stack().database.kind}: ${Date.now() - started} ms`);
    expect(results).toHaveLength(500);
    expect(results.filter((r) => !r.success)).toEqual([]);
    expect(results.map((r) => r.id)).toEqual(operations.map((o) => o.id));
    expect(await countRows(user.id)).toEqual({ cards: 100, reviews: 200, aliases: 100, profiles: 1, ledger: 500 });
  });

  test('the same batch sent twice gives identical results and one set of rows', async () => {
    const user = await signIn(stack());
    const create = op.createVerse();
    const body = batch([create, op.review(create.payload.verseCardId), op.alias(create.payload.verseCardId), op.profile({ displayName: 'Lydia' })]);
    const first = await invoke(user, body);
    const before = await countRows(user.id);
    const second = await invoke(user, body);
    expect(second).toEqual(first);
    expect(await countRows(user.id)).toEqual(before);
    expect(before).toEqual({ cards: 1, reviews: 1, aliases: 1, profiles: 1, ledger: 4 });
  });

  test('one bad op gets its own error while the rest of the batch commits', async () => {
    const user = await signIn(stack());
    const good = op.createVerse();
    const orphan = op.review(randomUUID());
    const after = op.alias(good.payload.verseCardId);
    const { results } = await invoke(user, batch([good, orphan, after]));
    expect(results.map((r) => [r.success, r.error?.code])).toEqual([
      [true, undefined],
      [false, 'CARD_NOT_FOUND'],
      [true, undefined],
    ]);
    expect(await countRows(user.id)).toMatchObject({ cards: 1, reviews: 0, aliases: 1, ledger: 2 });
  });

  test("the seed's per-type actions run through the same code path", async () => {
    const user = await signIn(stack());
    const cardId = randomUUID();
    const createId = randomUUID();
    const created = await invoke(user, {
      action: 'batch_create_verses',
      operations: [{ id: createId, reference: 'Romans 8:28', customText: 'And we know…', localRecordId: cardId }],
    });
    expect(created.results).toEqual([expect.objectContaining({ id: createId, success: true })]);
    const reviewed = await invoke(user, {
      action: 'batch_record_reviews',
      operations: [{ id: randomUUID(), reviewId: randomUUID(), verseCardId: cardId, correct: false, reviewDate: new Date().toISOString() }],
    });
    expect(reviewed.results[0]).toMatchObject({ success: true });
    const [card] = await stack().sql`select custom_text, review_count from verse_cards where id = ${cardId}`;
    expect(card).toEqual({ custom_text: 'And we know…', review_count: 1 });
  });
});
