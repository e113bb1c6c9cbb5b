// Coalescing is an optimisation only: for any valid history of writes, the server ends
// in the same state whether the queue was coalesced before sending or not.
import fc from 'fast-check';
import type { Stack } from '../../src/stack/index.ts';
import { eventually, openDevice, type TestDevice } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack();

type Command =
  | { kind: 'add'; customText: string | null }
  | { kind: 'review'; card: number; correct: boolean }
  | { kind: 'alias'; card: number; alias: string }
  | { kind: 'profile'; patch: { displayName?: string; translation?: string; dailyGoal?: number } }
  | { kind: 'delete'; card: number }
  /** Go online until the queue drains, then offline again: later writes find earlier ones sent. */
  | { kind: 'sync' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('add' as const), customText: fc.option(fc.constantFrom('my words', 'in the beginning'), { nil: null }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('review' as const), card: fc.nat(20), correct: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('alias' as const), card: fc.nat(20), alias: fc.constantFrom('love', 'hope', 'faith') }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('profile' as const),
      patch: fc.record(
        { displayName: fc.constantFrom('Ruth', 'Naomi', 'Boaz'), translation: fc.constantFrom('ESV', 'KJV'), dailyGoal: fc.integer({ min: 1, max: 50 }) },
        { requiredKeys: [] },
      ).filter((p) => Object.keys(p).length > 0),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), card: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'sync' as const }), weight: 1 },
);

async function setOnline(d: TestDevice, online: boolean) {
  d.sync.setOnline(online);
  await eventually(() => expect(d.sync.getState().paused).toBe(online ? null : 'offline'));
}

async function drained(d: TestDevice) {
  await eventually(async () => {
    expect(await d.db.syncOperations.count()).toBe(0);
    expect(d.sync.getState().syncing).toBe(false);
  }, 30_000);
}

/** Plays the commands on one device; cards are named by their creation index so two devices compare. */
async function play(d: TestDevice, commands: Command[]) {
  await setOnline(d, false);
  const cards: Array<{ id: string; live: boolean }> = [];
  const live = (pick: number) => {
    const alive = cards.filter((c) => c.live);
    return alive.length === 0 ? undefined : alive[pick % alive.length];
  };
  for (const c of commands) {
    switch (c.kind) {
      case 'add': {
        const card = await d.data.addVerseCard(`Ruth ${cards.length + 1}:1`, c.customText ?? undefined);
        cards.push({ id: card.id, live: true });
        break;
      }
      case 'review': {
        const card = live(c.card);
        if (card) await d.data.recordReview(card.id, c.correct);
        break;
      }
      case 'alias': {
        const card = live(c.card);
        if (card) await d.data.createAlias(card.id, c.alias);
        break;
      }
      case 'profile':
        await d.data.updateProfile(c.patch);
        break;
      case 'delete': {
        const card = live(c.card);
        if (card) {
          await d.data.deleteVerse(card.id);
          card.live = false;
        }
        break;
      }
      case 'sync':
        await setOnline(d, true);
        await drained(d);
        await setOnline(d, false);
        break;
    }
  }
  await setOnline(d, true);
  await drained(d);
}

/** The user's rows on the server, keyed by reference rather than by id. */
async function serverState(s: Stack, userId: string) {
  const cards = await s.sql`
    select v.reference, v.translation, c.custom_text, c.review_count, c.correct_count,
           (select count(*) from review_logs r where r.verse_card_id = c.id)::int as reviews,
           coalesce((select array_agg(a.alias order by a.alias) from verse_aliases a where a.verse_card_id = c.id), '{}') as aliases
      from verse_cards c join verses v on v.id = c.verse_id
     where c.user_id = ${userId} and c.deleted_at is null
     order by v.reference`;
  const [profile] = await s.sql`select display_name, translation, daily_goal from profiles where user_id = ${userId}`;
  return { cards: cards.map((row) => ({ ...row })), profile: profile ? { ...profile } : null };
}

test('the server state after a coalesced queue equals the state after the same writes sent one by one', async () => {
  let runs = 0;
  let runsThatCoalesced = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
      runs++;
      const plain = await openDevice(stack(), { service: { coalesce: false } });
      const coalesced = await openDevice(stack());
      try {
        await Promise.all([play(plain, commands), play(coalesced, commands)]);
        if (coalesced.sync.getMetrics().opsAcked < plain.sync.getMetrics().opsAcked) runsThatCoalesced++;
        expect(await serverState(stack(), coalesced.userId)).toEqual(await serverState(stack(), plain.userId));
      } finally {
        await Promise.all([plain.close(), coalesced.close()]);
      }
    }),
    {
      numRuns: 25,
      // Always among the runs: a card created, reviewed, aliased and deleted unsent, and two profile updates.
      examples: [
        [
          [
            { kind: 'add', customText: null },
            { kind: 'add', customText: 'my words' },
            { kind: 'review', card: 1, correct: true },
            { kind: 'alias', card: 1, alias: 'hope' },
            { kind: 'delete', card: 1 },
            { kind: 'profile', patch: { displayName: 'Ruth' } },
            { kind: 'profile', patch: { dailyGoal: 7, translation: 'KJV' } },
            { kind: 'review', card: 0, correct: false },
          ],
        ],
      ],
    },
  );
  console.log(`coalesce property: ${runs} runs, ${runsThatCoalesced} of them sent fewer ops coalesced`);
  expect(runsThatCoalesced).toBeGreaterThan(0);
}, 120_000);
