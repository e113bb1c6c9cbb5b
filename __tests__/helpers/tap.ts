// Reads TAP (Test Anything Protocol) lines, as pgTAP prints them.

export type TapReport = {
  /** The plan line `1..N`, or null when none was printed. */
  planned: number | null;
  passed: number[];
  /** Failing tests with the diagnostics printed under them. */
  failed: string[];
};

export function parseTap(lines: Iterable<string>): TapReport {
  const report: TapReport = { planned: null, passed: [], failed: [] };
  let lastFailure = -1;
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^1\.\.(\d+)/.exec(line))) report.planned = Number(m[1]);
    else if ((m = /^ok (\d+)/.exec(line))) report.passed.push(Number(m[1]));
    else if (/^not ok \d+/.test(line)) lastFailure = report.failed.push(line) - 1;
    else if (/^\s*#/.test(line) && lastFailure >= 0) report.failed[lastFailure] += `\n${line}`;
  }
  return report;
}
