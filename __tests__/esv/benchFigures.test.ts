// The ESV bench rows: query counts measured through each path against the local ESV-compatible
// server (a small import here); minutes from the ESV's sliding limits.
import { measureEsvImport, minutesWithinLimits } from '../../bench/esv.ts';
import { groupForQueries } from '../../supabase/functions/verse-operations/esv.ts';

test('a 30-verse import, measured: per-op one ESV query per verse, grouped one per request, verses-sync one per batch', async () => {
  // 30 verses and a 10-op per-op sample keep the run short; the bench runs 1,000.
  const { rows } = await measureEsvImport({ verses: 30, qualities: ['excellent', 'poor'], perOpMaxOps: 10 });
  const pick = (quality: string) => Object.fromEntries(rows.filter((r) => r.quality === quality).map((r) => [r.path, [r.requests, r.esvQueries]]));
  // Excellent: the seed sends batches of 20; verses-sync's backlog mode sends the 30 in one request.
  expect(pick('excellent')).toEqual({ perOp: [30, 30], grouped: [2, 2], versesSync: [1, 1] });
  // Poor: batches of 3 on both queues (poor never grows).
  expect(pick('poor')).toEqual({ perOp: [30, 30], grouped: [10, 10], versesSync: [10, 10] });
  expect(rows.find((r) => r.path === 'perOp')?.extrapolatedFrom).toBe(10);
}, 180_000);

test('minutes within 60/min, 1,000/h, 5,000/day', () => {
  expect([1, 60, 61, 1000, 1001, 5000, 5001].map((q) => minutesWithinLimits(q))).toEqual([0, 0, 1, 16, 60, 4 * 60, 1440]);
});

test('the function splits a query only at 500 verses', () => {
  const singles = Array.from({ length: 1001 }, (_, i) => `Psalm ${1 + Math.floor(i / 150)}:${1 + (i % 150)}`);
  expect(groupForQueries(singles).map((g) => g.length)).toEqual([500, 500, 1]);
  expect(groupForQueries(['John 3:1-300', 'John 4:1-250', 'Jude 3']).map((g) => g.length)).toEqual([1, 2]);
});
