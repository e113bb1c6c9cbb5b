// ESV queries for a verse import (issue #8): per-op (one lookup per verse), the seed's grouped
// queue (one lookup per request), verses-sync (one query per batch, split at 500 verses by the
// function's own grouping), and how long each needs to stay within the ESV's 60/min, 1,000/h
// and 5,000/day. Pure arithmetic over the real code's batch sizes and query grouping.
import { DEFAULT_BATCH_CONFIG, type Quality } from '../machines/types.ts';
import { groupForQueries } from '../supabase/functions/verse-operations/esv.ts';
import { referenceOf } from './workloads.ts';

export const ESV_LIMITS = { perMinute: 60, perHour: 1000, perDay: 5000 } as const;

export type EsvImportRow = {
  path: 'perOp' | 'grouped' | 'versesSync';
  quality: Quality;
  /** Requests to the function for the import. */
  requests: number;
  /** ESV passage text queries those requests need. */
  esvQueries: number;
  /** Minutes from the first to the last query when every query waits for the ESV's limits. */
  minutesWithinLimits: number;
};

export type EsvImportFigures = { verses: number; limits: typeof ESV_LIMITS; rows: EsvImportRow[] };

/** When the n-th query (1-based) may go at the earliest under sliding windows of the three limits, in minutes. */
export function minutesWithinLimits(queries: number, limits = ESV_LIMITS): number {
  if (queries <= 0) return 0;
  const k = queries - 1;
  return Math.max(Math.floor(k / limits.perMinute) * 1, Math.floor(k / limits.perHour) * 60, Math.floor(k / limits.perDay) * 1440);
}

// The batches verses-sync's queue claims when `verses` creates wait at once: backlog mode
// grows a batch to maxBatchOps (poor never grows). Bytes stay far below maxBatchBytes here.
function versesSyncBatches(verses: number, quality: Quality): number[] {
  const { size, maxBatchOps } = DEFAULT_BATCH_CONFIG[quality];
  const sizes: number[] = [];
  for (let left = verses; left > 0; ) {
    const take = Math.min(left, left > size ? Math.max(size, maxBatchOps) : size);
    sizes.push(take);
    left -= take;
  }
  return sizes;
}

/** ESV queries and minutes within the ESV's limits for importing `verses` new verses, per path and quality. */
export function esvImportFigures(verses = 1000): EsvImportFigures {
  const refs = Array.from({ length: verses }, (_, i) => referenceOf(i));
  const rows: EsvImportRow[] = [];
  for (const quality of ['poor', 'good', 'excellent'] as Quality[]) {
    const perOp = verses;
    const groupedRequests = Math.ceil(verses / DEFAULT_BATCH_CONFIG[quality].size);
    const batches = versesSyncBatches(verses, quality);
    let offset = 0;
    let syncQueries = 0;
    for (const size of batches) {
      syncQueries += groupForQueries(refs.slice(offset, offset + size)).length;
      offset += size;
    }
    rows.push(
      { path: 'perOp', quality, requests: perOp, esvQueries: perOp, minutesWithinLimits: minutesWithinLimits(perOp) },
      { path: 'grouped', quality, requests: groupedRequests, esvQueries: groupedRequests, minutesWithinLimits: minutesWithinLimits(groupedRequests) },
      { path: 'versesSync', quality, requests: batches.length, esvQueries: syncQueries, minutesWithinLimits: minutesWithinLimits(syncQueries) },
    );
  }
  return { verses, limits: ESV_LIMITS, rows };
}

/** The figures as a markdown table (one row per quality). */
export function esvImportMarkdown(figures: EsvImportFigures = esvImportFigures()): string {
  const lines = [
    `## ESV queries for a ${figures.verses.toLocaleString('en')}-verse import (limits ${figures.limits.perMinute}/min, ${figures.limits.perHour.toLocaleString('en')}/h, ${figures.limits.perDay.toLocaleString('en')}/day)`,
    '',
    '| quality | per-op queries | grouped queries | verses-sync queries | per-op minutes | grouped minutes | verses-sync minutes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const quality of ['poor', 'good', 'excellent'] as Quality[]) {
    const row = (path: EsvImportRow['path']) => figures.rows.find((r) => r.quality === quality && r.path === path)!;
    lines.push(
      `| ${quality} | ${row('perOp').esvQueries} | ${row('grouped').esvQueries} | ${row('versesSync').esvQueries} | ${row('perOp').minutesWithinLimits} | ${row('grouped').minutesWithinLimits} | ${row('versesSync').minutesWithinLimits} |`,
    );
  }
  return lines.join('\n');
}
