// The ESV queries a 1,000-verse import really costs through the whole path (dataService →
// outbox → machines → function → ESV-compatible server): one per batch, so 2 on excellent
// and 4 on good, against 1,000 for a per-op client. The bundled text holds 254 of the
// references; the other 746 are unknown to it and end as dead letters, asked in the same queries.
import { readFileSync } from 'node:fs';
import { canonicalName } from '../../supabase/functions/_shared/reference.ts';
import { BUNDLED_TEXT } from '../../src/stack/esv/server.ts';
import type { Quality } from '../../machines/types.ts';
import { eventually, useDevices } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack({ esv: 'local' });
const device = useDevices(stack);
const LATENCY: Record<Quality, number> = { excellent: 5, good: 200, poor: 900 };
const BUNDLE = Object.keys((JSON.parse(readFileSync(BUNDLED_TEXT, 'utf8')) as { verses: Record<string, string> }).verses).map((id) =>
  canonicalName(Number(id), Number(id)),
);
const measured: Partial<Record<Quality, number>> = {};

beforeEach(async () => {
  await stack().sql`delete from private.esv_calls`;
  stack().esvServer!.resetLimits();
});
afterAll(() => console.log(`ESV queries for a 1,000-verse import: ${JSON.stringify(measured)} (per-op: 1,000)`));

test.each([['excellent', 2], ['good', 4]] as const)('%s: 1,000 new references cost %i ESV queries', async (quality, expected) => {
  // Each run asks for references the catalogue has not seen: the known half of the bundle, then the other.
  const known = quality === 'excellent' ? BUNDLE.slice(0, 127) : BUNDLE.slice(127, 254);
  const unknown = Array.from({ length: 1000 - known.length }, (_, i) => `Psalm ${quality === 'excellent' ? 151 : 152}:${i + 1}`);
  const refs = [...known, ...unknown];
  const d = await device({ service: { probeLatency: async () => LATENCY[quality], networkEvents: 'none' } });
  await eventually(() => expect(d.sync.getState().quality).toBe(quality));
  const mark = stack().esvServer!.queries.length;

  await d.data.addVerseCards(refs.map((reference) => ({ reference })));
  await eventually(async () => {
    expect((await d.db.syncOperations.toArray()).filter((op) => op.status !== 'dead')).toHaveLength(0);
    expect(d.sync.getState().syncing).toBe(false);
  }, 60_000);

  const queries = stack().esvServer!.queries.slice(mark);
  measured[quality] = queries.length;
  expect(queries.length).toBe(expected);
  expect(queries.every((q) => q.status === 200)).toBe(true);
  const dead = await d.db.syncOperations.where('status').equals('dead').toArray();
  expect(dead).toHaveLength(unknown.length);
  expect(new Set(dead.map((op) => op.lastError?.code))).toEqual(new Set(['UNKNOWN_REFERENCE']));
  const [{ withText }] = await stack().sql`
    select count(*)::int as "withText" from verse_cards c join verses v on v.id = c.verse_id
     where c.user_id = ${d.userId} and v.text_status = 'ready'`;
  expect(withText).toBe(known.length);
}, 90_000);
