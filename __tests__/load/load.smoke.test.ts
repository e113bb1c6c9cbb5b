// `npm run load` end to end in a tiny configuration: a few users per path for a few seconds
// against the stack. Checks structure and exactly-once delivery, never speed.
import { runLoad, type LoadFigures } from '../../load/load.ts';
import { loadMarkdown } from '../../load/report.ts';
import type { WrittenOp } from '../../load/step.ts';

// The real server when DATABASE_URL names one (as npm run load requires); PGlite otherwise.
const databaseUrl = process.env.DATABASE_URL || undefined;
const STEP_KEYS = ['path', 'users', 'ops', 'opsAcked', 'requests', 'requestsPerSec', 'opsPerSec', 'latencyMs', 'requestMs', 'status', 'errorRate', 'carried', 'server', 'retryGapHistogram', 'timeline'];

describe('load (tiny)', () => {
  let figures: LoadFigures;
  const inDatabase: Record<string, { expected: number; found: number; ledger: number }> = {};

  beforeAll(async () => {
    figures = await runLoad({
      mode: 'tiny',
      databaseUrl,
      runtime: 'deno',
      // verses-sync's users in two child processes (as large steps run), per-op's in this one.
      hostsFor: (_users, path) => (path === 'versesSync' ? 2 : 0),
      async check(stack, written: WrittenOp[]) {
        const ids = (kind: string) => written.filter((w) => w.kind === kind).map((w) => w.localRecordId);
        const users = [...new Set(written.map((w) => w.userId))];
        const count = async (table: 'verse_cards' | 'review_logs', column: 'id', values: string[]) =>
          Number((await stack.sql`select count(*)::int as n from ${stack.sql(`public.${table}`)} where ${stack.sql(column)} = any(${values}::uuid[])`)[0].n);
        const [{ n: ledger }] = await stack.sql`select count(*)::int as n from public.sync_ledger where user_id = any(${users}::uuid[])`;
        const [{ n: profiles }] = await stack.sql`select count(*)::int as n from public.profiles where user_id = any(${ids('profile')}::uuid[])`;
        inDatabase.add = { expected: ids('add').length, found: await count('verse_cards', 'id', ids('add')), ledger: Number(ledger) };
        inDatabase.review = { expected: ids('review').length, found: await count('review_logs', 'id', ids('review')), ledger: Number(ledger) };
        inDatabase.profile = { expected: ids('profile').length, found: Number(profiles), ledger: Number(ledger) };
        inDatabase.all = { expected: written.length, found: written.filter((w) => w.acked).length, ledger: Number(ledger) };
      },
    });
  }, 180_000);

  test('the figures carry maxUsers for both paths and every step key', () => {
    expect(typeof figures.maxUsers.perOp).toBe('number');
    expect(typeof figures.maxUsers.versesSync).toBe('number');
    expect(figures.steps.map((s) => s.path).sort()).toEqual(['perOp', 'versesSync']);
    for (const step of figures.steps) for (const key of STEP_KEYS) expect({ key, present: key in step }).toEqual({ key, present: true });
    // Survives a JSON round trip (what --json writes).
    expect(Object.keys(JSON.parse(JSON.stringify(figures)))).toEqual(expect.arrayContaining(['maxUsers', 'steps']));
    expect(loadMarkdown(figures)).toContain('| path | maxUsers |');
  });

  test("hosted users are timed on the step's clock: requests and acks fall inside the step", () => {
    const hosted = figures.steps.find((s) => s.path === 'versesSync')!;
    const local = figures.steps.find((s) => s.path === 'perOp')!;
    expect([hosted.generatorProcesses, local.generatorProcesses]).toEqual([2, 1]);
    // Both hosts' users acted: every user of the step sent at least one request.
    expect(hosted.requests).toBeGreaterThanOrEqual(hosted.users);
    for (const step of [hosted, local]) {
      expect(step.timeline.length).toBeGreaterThan(0);
      expect(step.latencyMs.p50).toBeGreaterThanOrEqual(0);
      expect(step.timeline.length / 4).toBeLessThanOrEqual(step.seconds + 0.25);
    }
  });

  test('every op is acknowledged, no request got a 5xx or a network error', () => {
    for (const step of figures.steps) {
      expect({ path: step.path, ops: step.ops, acked: step.opsAcked }).toEqual({ path: step.path, ops: step.ops, acked: step.ops });
      expect(step.ops).toBeGreaterThan(0);
      expect(step.status.server5xx).toBe(0);
      expect(step.status.network).toBe(0);
      expect(step.unmatchedAcks).toBe(0);
    }
  });

  test('every op is in Postgres exactly once', () => {
    for (const kind of ['add', 'review', 'profile']) {
      expect({ kind, found: inDatabase[kind].found }).toEqual({ kind, found: inDatabase[kind].expected });
    }
    expect(inDatabase.review.expected).toBeGreaterThan(0);
    // One ledger row per op: a retried op was not applied twice.
    expect(inDatabase.all.ledger).toBe(inDatabase.all.expected);
  });
});
