// The counts of a paced study session through verses-sync with its default options: an action
// every 2–6 s for 5 minutes (on a simulated clock) must go in requests of 7.5 ops or more (no probe), every op
// acknowledged once. Timings are the bench's business, not this test's.
import { startBenchEnv, type BenchEnv } from '../../bench/env.ts';
import { pacedActions, runPacedSession } from '../../bench/pacedSession.ts';

let env: BenchEnv;
beforeAll(async () => {
  env = await startBenchEnv();
}, 60_000);
afterAll(async () => {
  await env?.stop();
});

test('a 5-minute paced session with default options: ≥ 7.5 ops per request (every request counted), no probe, nothing lost, no op sent twice', async () => {
  const actions = pacedActions(300_000);
  const result = await runPacedSession(env, 'versesSync', actions, 300_000);
  console.log(`paced session: ${result.ops} ops, ${result.batchRequests} batch requests, ${result.requests - result.batchRequests} probes`);
  expect(result.ops).toBe(actions.length);
  expect(result.opsAcked).toBe(result.ops);
  const sent = result.timeline.requests.reduce((n, r) => n + r.ops, 0);
  expect(sent).toBe(result.ops);
  // Every request counts, probes too: the batches' own round trips measure the network.
  expect(result.ops / result.requests).toBeGreaterThanOrEqual(7.5);
  expect(result.requests - result.batchRequests).toBe(0);
  const [row] = await env.stack.sql`select count(*)::int as n from sync_ledger`;
  expect(row.n).toBeGreaterThanOrEqual(result.ops);
}, 180_000);
