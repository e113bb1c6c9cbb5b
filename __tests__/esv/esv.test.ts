// Verse text from the ESV API (issue #8), against the local stack's ESV-compatible server:
// one query per batch, canonical references, the shared limiter, pending text filled later,
// the storage cap, unknown references.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createHandler } from '../../supabase/functions/verse-operations/handler.ts';
import { canonicalName } from '../../supabase/functions/_shared/reference.ts';
import { createBatchStore } from '../../supabase/functions/verse-operations/store.ts';
import type { ApplyBatchResponse } from '../../supabase/functions/_shared/protocol.ts';
import { BUNDLED_TEXT } from '../../src/stack/esv/server.ts';
import { eventually, useDevices } from '../helpers/client.ts';
import { batch, op } from '../helpers/ops.ts';
import { postRaw, useStack } from '../helpers/stack.ts';

const stack = useStack({ esv: 'local' });
const device = useDevices(stack);

// Every bundled verse by its ESV-style name; each test takes its own slice so the shared
// catalogue never answers one test with another's lookups.
const BUNDLE = Object.keys((JSON.parse(readFileSync(BUNDLED_TEXT, 'utf8')) as { verses: Record<string, string> }).verses).map((id) =>
  canonicalName(Number(id), Number(id)),
).filter((ref) => ref !== 'John 3:16'); // the canonicalization test's own verse
let next = 0;
const take = (n: number) => {
  const refs = BUNDLE.slice(next, next + n);
  next += n;
  if (refs.length < n) throw new Error('the bundled text has too few verses for these tests');
  return refs;
};

const esv = () => stack().esvServer!;
const queriesSince = (mark: number) => esv().queries.slice(mark);

beforeEach(async () => {
  // A fresh budget for each test (the sliding windows would otherwise carry over).
  await stack().sql`delete from private.esv_calls`;
  await stack().sql`update private.esv_settings set blocked_until = null, storage_cap = 500`;
  Object.assign(esv().faults, { down: false, throttle: 0, retryAfterSeconds: 60, maxUrlLength: null });
  esv().resetLimits();
});

async function send(body: unknown, token?: string): Promise<ApplyBatchResponse> {
  const res = await postRaw(stack(), JSON.stringify(body), { Authorization: `Bearer ${token ?? (await stack().tokenFor(randomUUID()))}` });
  if (res.status !== 200) throw new Error(`function answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json as ApplyBatchResponse;
}

async function verseOf(cardId: string) {
  const [row] = await stack().sql`
    select v.id, v.reference, v.text, v.text_status from verse_cards c join verses v on v.id = c.verse_id where c.id = ${cardId}`;
  return row;
}

describe('ESV text through the verse-operations function', () => {
  test('all new references of a batch go to the ESV in one query; known ones never again', async () => {
    const refs = take(6);
    const mark = esv().queries.length;
    const creates = refs.map((r) => op.createVerse(randomUUID(), r));
    const review = op.review(creates[0].payload.verseCardId);
    const { results } = await send(batch([...creates, review]));

    expect(queriesSince(mark)).toEqual([expect.objectContaining({ q: refs.join(';'), status: 200 })]);
    expect(results.map((r) => r.success)).toEqual(Array(7).fill(true));
    for (const [i, create] of creates.entries()) {
      expect(results[i].verse).toEqual({ reference: refs[i], text: expect.stringMatching(/\(WEB\)$/) });
      expect(await verseOf(create.payload.verseCardId)).toMatchObject({ reference: refs[i], text_status: 'ready', text: results[i].verse!.text });
    }

    // Another user's cards on the same verses: the catalogue answers, the ESV is not asked.
    const again = await send(batch(refs.map((r) => op.createVerse(randomUUID(), r))));
    expect(queriesSince(mark)).toHaveLength(1);
    expect(again.results.map((r) => r.verse?.text)).toEqual(results.slice(0, 6).map((r) => r.verse?.text));
  });

  test('a batch past 500 verses is split only where the limit demands', async () => {
    const mark = esv().queries.length;
    // A whole chapter counts as 176 verses (the longest), so five of them need three queries, not five.
    const chapters = ['Psalm 1', 'Psalm 19', 'Psalm 23', 'Psalm 27', 'Psalm 34'];
    await send(batch(chapters.map((r) => op.createVerse(randomUUID(), r))));
    const sent = queriesSince(mark);
    expect(sent.map((q) => q.q)).toEqual(['Psalm 1;Psalm 19', 'Psalm 23;Psalm 27', 'Psalm 34']);
  });

  test('a query URL the ESV’s server refuses as too long (414) is halved, not given up', async () => {
    const refs = take(6);
    const creates = refs.map((r) => op.createVerse(randomUUID(), r));
    const oneQuery = new URL('/v3/passage/text/', esv().url);
    oneQuery.searchParams.set('q', refs.join(';'));
    esv().faults.maxUrlLength = oneQuery.href.length + 100; // the six references plus the options do not fit
    const mark = esv().queries.length;
    const { results } = await send(batch(creates));
    expect(queriesSince(mark).map((q) => [q.q, q.status])).toEqual([
      [refs.join(';'), 414],
      [refs.slice(0, 3).join(';'), 200],
      [refs.slice(3).join(';'), 200],
    ]);
    expect(results.map((r) => r.verse?.reference)).toEqual(refs);
  });

  test("'jn3.16', 'John 3:16' and 'john 3 16' share one catalogue verse", async () => {
    const variants = ['jn3.16', 'John 3:16', 'john 3 16', 'JN 3:16'];
    const creates = variants.map((r) => op.createVerse(randomUUID(), r));
    const { results } = await send(batch(creates));
    expect(results.every((r) => r.success && r.verse?.reference === 'John 3:16')).toBe(true);
    const verseIds = new Set(await Promise.all(creates.map(async (c) => (await verseOf(c.payload.verseCardId)).id)));
    expect(verseIds.size).toBe(1);
    const rows = await stack().sql`select reference from verses where lower(reference) in ('jn3.16', 'john 3:16', 'john 3 16', 'jn 3:16')`;
    expect(rows.map((r) => r.reference)).toEqual(['John 3:16']);
    // A later variant is canonical too, without asking the ESV again for what it already named.
    const mark = esv().queries.length;
    const later = await send(batch([op.createVerse(randomUUID(), 'John  3:16')]));
    expect(later.results[0].remoteId).toBe([...verseIds][0]);
    expect(queriesSince(mark)).toHaveLength(0);
  });

  test('customText and other translations never ask the ESV', async () => {
    const [ref] = take(1);
    const mark = esv().queries.length;
    const { results } = await send(batch([
      op.createVerse(randomUUID(), ref, { customText: 'my own words' }),
      op.createVerse(randomUUID(), ref, { translation: 'KJV' }),
    ]));
    expect(results.map((r) => [r.success, r.verse])).toEqual([[true, undefined], [true, undefined]]);
    expect(queriesSince(mark)).toHaveLength(0);
  });

  test('an unknown reference gets UNKNOWN_REFERENCE with the ESV’s answer and goes to dead letters; the rest sync', async () => {
    const [known] = take(1);
    const d = await device();
    await d.data.addVerseCards([{ reference: 'Isaiah 99:99' }, { reference: known }]);
    const dead = await eventually(async () => {
      const ops = await d.db.syncOperations.where('status').equals('dead').toArray();
      expect(ops).toHaveLength(1);
      return ops[0];
    });
    expect(dead.payload.reference).toBe('Isaiah 99:99');
    expect(dead.lastError).toMatchObject({ code: 'UNKNOWN_REFERENCE', retryable: false, message: expect.stringContaining("'Isaiah 99:99'") });
    const cards = await stack().sql`select v.reference from verse_cards c join verses v on v.id = c.verse_id where c.user_id = ${d.userId}`;
    expect(cards.map((c) => c.reference)).toEqual([known]);
  });

  test('the client writes the ESV text into its local verse', async () => {
    const [ref] = take(1);
    const d = await device();
    const card = await d.data.addVerseCard(ref.replace(/^(\d )?(\w+)/, (m) => m.toLowerCase()));
    const verse = await eventually(async () => {
      const v = await d.db.verses.get(card.verseId);
      expect(v?.text).toMatch(/\(WEB\)$/);
      return v!;
    });
    expect(verse).toMatchObject({ canonicalReference: ref, textPending: false });
  });

  test('ESV 429: the card is created with text pending; a later batch fills it and the client learns the text', async () => {
    const [first, second] = take(2);
    const d = await device();
    esv().faults.throttle = 1;
    const card = await d.data.addVerseCard(first);
    await eventually(async () => expect((await d.db.verses.get(card.verseId))?.textPending).toBe(true));
    expect(await verseOf(card.id)).toMatchObject({ text: null, text_status: 'pending' });

    // Every instance holds off for the ESV's Retry-After: no query while it runs.
    const mark = esv().queries.length;
    const other = await d.data.addVerseCard(second);
    await eventually(async () => expect((await d.db.verses.get(other.verseId))?.textPending).toBe(true));
    expect(queriesSince(mark)).toHaveLength(0);

    // The Retry-After has passed: the next batch of this user asks once for both.
    await stack().sql`update private.esv_settings set blocked_until = null`;
    await d.data.addVerseCard(take(1)[0]);
    await eventually(async () => {
      expect((await d.db.verses.get(card.verseId))?.text).toMatch(/\(WEB\)$/);
      expect((await d.db.verses.get(other.verseId))?.text).toMatch(/\(WEB\)$/);
    });
    expect(queriesSince(mark)).toHaveLength(1);
    expect(await verseOf(card.id)).toMatchObject({ reference: first, text_status: 'ready' });
  });

  test('ESV down: cards are created with text pending and filled once it is back, under their canonical verse', async () => {
    const [ref] = take(1);
    const typed = ref.replace(/ (\d+):(\d+)$/, ' $1 $2').toUpperCase(); // "JOHN 3 16" style
    const token = await stack().tokenFor(randomUUID());
    esv().faults.down = true;
    const create = op.createVerse(randomUUID(), typed);
    const { results } = await send(batch([create]), token);
    expect(results[0]).toMatchObject({ success: true, verse: { reference: typed, textPending: true } });
    expect(await verseOf(create.payload.verseCardId)).toMatchObject({ reference: typed, text_status: 'pending' });

    esv().faults.down = false;
    // Any later batch of the user (here a review) carries the text for the earlier card.
    const later = await send(batch([op.review(create.payload.verseCardId)]), token);
    expect(later.results[0].filledVerses).toEqual([{ verseCardId: create.payload.verseCardId, reference: ref, text: expect.stringMatching(/\(WEB\)$/) }]);
    expect(await verseOf(create.payload.verseCardId)).toMatchObject({ reference: ref, text_status: 'ready' });
    const placeholders = await stack().sql`select id from verses where reference = ${typed}`;
    expect(placeholders).toHaveLength(0);
  });

  test('a reference saved while the ESV was down and then unknown to it stops waiting (no query per batch forever)', async () => {
    const token = await stack().tokenFor(randomUUID());
    esv().faults.down = true;
    const create = op.createVerse(randomUUID(), 'Nowhere 9:9');
    expect((await send(batch([create]), token)).results[0]).toMatchObject({ success: true, verse: { textPending: true } });
    esv().faults.down = false;

    const mark = esv().queries.length;
    await send(batch([op.review(create.payload.verseCardId)]), token);
    expect(queriesSince(mark).map((q) => q.q)).toEqual(['Nowhere 9:9']);
    expect(await verseOf(create.payload.verseCardId)).toMatchObject({ reference: 'Nowhere 9:9', text_status: null });
    await send(batch([op.review(create.payload.verseCardId)]), token);
    expect(queriesSince(mark)).toHaveLength(1);
    // Typed again, it is checked anew and refused like any unknown reference.
    const again = await send(batch([op.createVerse(randomUUID(), 'Nowhere 9:9')]), token);
    expect(again.results[0]).toMatchObject({ success: false, error: { code: 'UNKNOWN_REFERENCE', retryable: false } });
  });

  test('the shared limiter keeps two function instances within 60 ESV queries a minute', async () => {
    const refs = take(80);
    const store = createBatchStore(stack().database.url, { maxConnections: 1, multiplexedSession: stack().database.multiplexedSession });
    const second = createHandler({ store, jwtSecret: stack().jwtSecret, esv: stack().esv, log: () => {} });
    try {
      const mark = esv().queries.length;
      const token = await stack().tokenFor(randomUUID());
      const request = (ref: string) =>
        new Request(stack().functionUrl, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(batch([op.createVerse(randomUUID(), ref)])),
        });
      // One batch per new reference, half through the stack's instance, half through the other,
      // eight at a time (within the instances' own admission limits).
      const answers: ApplyBatchResponse[] = [];
      for (let i = 0; i < refs.length; i += 8) {
        answers.push(
          ...(await Promise.all(
            refs.slice(i, i + 8).map(async (ref, j) => {
              const res = j % 2 === 0 ? await fetch(request(ref)) : await second(request(ref));
              return (await res.json()) as ApplyBatchResponse;
            }),
          )),
        );
      }
      const sent = queriesSince(mark);
      expect(sent.length).toBeLessThanOrEqual(60);
      expect(sent.filter((q) => q.status !== 200)).toEqual([]);
      const results = answers.map((a) => a.results[0]);
      expect(results.every((r) => r.success)).toBe(true);
      const ready = results.filter((r) => typeof r.verse?.text === 'string').length;
      const pending = results.filter((r) => r.verse?.textPending).length;
      expect({ ready, pending: pending + ready }).toEqual({ ready: sent.length, pending: 80 });
      expect(pending).toBeGreaterThanOrEqual(20);
      // The budget's own count agrees with what the ESV saw.
      const [{ calls }] = await stack().sql`select count(*)::int as calls from private.esv_calls`;
      expect(calls).toBe(sent.length);
    } finally {
      await store.close();
    }
  });

  test('the storage cap evicts the least recently used ESV text and fetches it again when needed', async () => {
    await stack().sql`update private.esv_settings set storage_cap = 3`;
    const refs = take(5);
    const token = await stack().tokenFor(randomUUID());
    for (const ref of refs) await send(batch([op.createVerse(randomUUID(), ref)]), token);
    const status = async () =>
      Object.fromEntries((await stack().sql`select reference, text_status, text from verses where reference = any(${refs})`).map((r) => [r.reference, r.text_status]));
    expect(await status()).toEqual({ [refs[0]]: 'evicted', [refs[1]]: 'evicted', [refs[2]]: 'ready', [refs[3]]: 'ready', [refs[4]]: 'ready' });
    const [{ evictedText }] = await stack().sql`select count(text)::int as "evictedText" from verses where reference = any(${refs.slice(0, 2)})`;
    expect(evictedText).toBe(0);

    // A custom text lives on the card and is never evicted.
    const custom = op.createVerse(randomUUID(), refs[0], { customText: 'kept as typed' });
    await send(batch([custom]), token);

    const mark = esv().queries.length;
    const { results } = await send(batch([op.createVerse(randomUUID(), refs[0])]));
    expect(queriesSince(mark).map((q) => q.q)).toEqual([refs[0]]);
    expect(results[0].verse).toEqual({ reference: refs[0], text: expect.stringMatching(/\(WEB\)$/) });
    expect(await status()).toEqual({ [refs[0]]: 'ready', [refs[1]]: 'evicted', [refs[2]]: 'evicted', [refs[3]]: 'ready', [refs[4]]: 'ready' });
    const [card] = await stack().sql`select custom_text from verse_cards where id = ${custom.payload.verseCardId}`;
    expect(card.custom_text).toBe('kept as typed');

    // Evicted text needed while the ESV is down: the card waits (pending) and the user's next batch fills it.
    esv().faults.down = true;
    const waiting = op.createVerse(randomUUID(), refs[1]);
    const down = await send(batch([waiting]), token);
    expect(down.results[0].verse).toEqual({ reference: refs[1], textPending: true });
    esv().faults.down = false;
    const back = await send(batch([op.review(waiting.payload.verseCardId)]), token);
    // Every live card of the user on that verse hears of it (the first one had the text before eviction).
    const filled = back.results[0].filledVerses ?? [];
    expect(filled).toContainEqual({ verseCardId: waiting.payload.verseCardId, reference: refs[1], text: expect.stringMatching(/\(WEB\)$/) });
    expect(filled.every((f) => f.reference === refs[1])).toBe(true);
  });
});
