// Suites that need a real PostgreSQL server are always discovered. Without DATABASE_URL such a
// suite says, in one visible line, what did not run and why, and Jest counts its tests as skipped,
// so the closing totals show it instead of dropping it in silence.

/** `describe` when DATABASE_URL names a server; otherwise one line on stderr and a skipped suite. */
export function describeWithServer(name: string, why: string, fn: () => void): void {
  if (process.env.DATABASE_URL) {
    describe(name, fn);
    return;
  }
  process.stderr.write(`Not run (counted as skipped): ${name}: ${why}. Set DATABASE_URL to a PostgreSQL server to run it.\n`);
  describe.skip(name, fn);
}
