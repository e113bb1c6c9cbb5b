// ESV queries for a verse import (issue #8), measured through each path against the local
// ESV-compatible server: per-op (one lookup per verse), the seed's grouped queue (one lookup per
// request), verses-sync (one query per batch, split at 500 verses by the function). Minutes: how
// long those queries need to stay within the ESV's 60/min, 1,000/h and 5,000/day.
import type { Quality } from '../machines/types.ts';
import { startBenchEnv } from './env.ts';
import { runGrouped, runPerOp, runVersesSync, type PathName, type RunResult } from './paths.ts';
import { referenceOf } from './workloads.ts';

export const ESV_LIMITS = { perMinute: 60, perHour: 1000, perDay: 5000 } as const;

export type EsvImportRow = {
  path: PathName;
  quality: Quality;
  /** Requests to the function for the import. */
  requests: number;
  /** ESV passage text queries the local ESV-compatible server answered for them. */
  esvQueries: number;
  /** Minutes from the first to the last query when every query waits for the ESV's limits. */
  minutesWithinLimits: number;
  /** Per-op runs on a sample of this many verses, scaled to the import. */
  extrapolatedFrom?: number;
};

export type EsvImportFigures = { verses: number; limits: typeof ESV_LIMITS; rows: EsvImportRow[] };

/** When the n-th query (1-based) may go at the earliest under sliding windows of the three limits, in minutes. */
export function minutesWithinLimits(queries: number, limits = ESV_LIMITS): number {
  if (queries <= 0) return 0;
  const k = queries - 1;
  return Math.max(Math.floor(k / limits.perMinute) * 1, Math.floor(k / limits.perHour) * 60, Math.floor(k / limits.perDay) * 1440);
}

/**
 * Imports `verses` new references through each path and quality on a stack with the local
 * ESV-compatible server, and counts the queries it answered. The function's ESV budget and the
 * server's own limits are lifted for the run, so the counts are what each path asks for, not
 * what a budget let through; the minutes then follow from the ESV's published limits.
 */
export async function measureEsvImport(options: { verses: number; qualities?: Quality[]; perOpMaxOps?: number; onStep?: () => void }): Promise<EsvImportFigures> {
  const { verses } = options;
  const qualities = options.qualities ?? (['poor', 'good', 'excellent'] as Quality[]);
  const step = options.onStep ?? (() => {});
  const unlimited = 1_000_000_000;
  const env = await startBenchEnv({ esv: 'local', esvServer: { everyVerse: true, limits: { perMinute: unlimited, perHour: unlimited, perDay: unlimited } } });
  const rows: EsvImportRow[] = [];
  try {
    await env.stack.sql`update private.esv_settings set per_minute = ${unlimited}, per_hour = ${unlimited}, per_day = ${unlimited}, user_share = 1`;
    let run = 0;
    for (const quality of qualities) {
      for (const path of ['perOp', 'grouped', 'versesSync'] as PathName[]) {
        // References the catalogue has not seen, so every path pays for its own lookups.
        const refs = Array.from({ length: verses }, (_, i) => referenceOf(10_000 + run * verses + i));
        run++;
        // Per-op does not depend on the quality: measured once, the same row for each quality.
        const perOpRow = rows.find((r) => r.path === 'perOp');
        if (path === 'perOp' && perOpRow) {
          rows.push({ ...perOpRow, quality });
          continue;
        }
        const steps = [{ kind: 'addMany' as const, refs }];
        const before = env.stack.esvServer!.queries.length;
        const result: RunResult =
          path === 'perOp' ? await runPerOp(env, steps, { maxOps: options.perOpMaxOps }) : path === 'grouped' ? await runGrouped(env, steps, quality) : await runVersesSync(env, steps, quality);
        const answered = env.stack.esvServer!.queries.slice(before);
        if (answered.some((q) => q.status !== 200)) throw new Error(`ESV import (${path}, ${quality}): the ESV-compatible server refused a query`);
        const scale = result.extrapolatedFrom ? verses / result.extrapolatedFrom : 1;
        const esvQueries = Math.round(answered.length * scale);
        rows.push({ path, quality, requests: result.requests, esvQueries, minutesWithinLimits: minutesWithinLimits(esvQueries), ...(result.extrapolatedFrom ? { extrapolatedFrom: result.extrapolatedFrom } : {}) });
        step();
      }
    }
  } finally {
    await env.stop();
  }
  return { verses, limits: ESV_LIMITS, rows };
}

/** The figures as a markdown table (one row per quality). */
export function esvImportMarkdown(figures: EsvImportFigures): string {
  const lines = [
    `## ESV queries for a ${figures.verses.toLocaleString('en')}-verse import (limits ${figures.limits.perMinute}/min, ${figures.limits.perHour.toLocaleString('en')}/h, ${figures.limits.perDay.toLocaleString('en')}/day)`,
    '',
    '| quality | per-op queries | grouped queries | verses-sync queries | per-op minutes | grouped minutes | verses-sync minutes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const quality of [...new Set(figures.rows.map((r) => r.quality))]) {
    const row = (path: EsvImportRow['path']) => figures.rows.find((r) => r.quality === quality && r.path === path)!;
    lines.push(
      `| ${quality} | ${row('perOp').esvQueries} | ${row('grouped').esvQueries} | ${row('versesSync').esvQueries} | ${row('perOp').minutesWithinLimits} | ${row('grouped').minutesWithinLimits} | ${row('versesSync').minutesWithinLimits} |`,
    );
  }
  return lines.join('\n');
}
