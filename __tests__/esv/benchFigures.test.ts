// The ESV bench row: query counts come from the queue's batch sizes and the function's own
// 500-verse grouping; minutes from the ESV's sliding limits.
import { esvImportFigures, minutesWithinLimits } from '../../bench/esv.ts';
import { groupForQueries } from '../../supabase/functions/verse-operations/esv.ts';

test('a 1,000-verse import: per-op 1,000 ESV queries, grouped one per request, verses-sync one per batch', () => {
  const { rows } = esvImportFigures(1000);
  const pick = (quality: string) =>
    Object.fromEntries(rows.filter((r) => r.quality === quality).map((r) => [r.path, [r.esvQueries, r.minutesWithinLimits]]));
  expect(pick('excellent')).toEqual({ perOp: [1000, 16], grouped: [50, 0], versesSync: [2, 0] });
  expect(pick('good')).toEqual({ perOp: [1000, 16], grouped: [100, 1], versesSync: [4, 0] });
  expect(pick('poor')).toEqual({ perOp: [1000, 16], grouped: [334, 5], versesSync: [334, 5] });
});

test('minutes within 60/min, 1,000/h, 5,000/day', () => {
  expect([1, 60, 61, 1000, 1001, 5000, 5001].map((q) => minutesWithinLimits(q))).toEqual([0, 0, 1, 16, 60, 4 * 60, 1440]);
});

test('the function splits a query only at 500 verses', () => {
  const singles = Array.from({ length: 1001 }, (_, i) => `Psalm ${1 + Math.floor(i / 150)}:${1 + (i % 150)}`);
  expect(groupForQueries(singles).map((g) => g.length)).toEqual([500, 500, 1]);
  expect(groupForQueries(['John 3:1-300', 'John 4:1-250', 'Jude 3']).map((g) => g.length)).toEqual([1, 2]);
});
