// The load run as markdown: the answer (maxUsers), the steps, and the retry timeline.
import type { LoadFigures } from './load.ts';
import { isGeneratorBound, RETRY_GAP_CAP_MS, type StepResult } from './step.ts';

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number | null) => (n === null ? '∞ (ops unacked)' : fmt(n));

export function loadMarkdown(figures: LoadFigures, notes: string[] = []): string {
  // Judged again here, so a table rendered --from an older run's JSON uses today's rule.
  const f: LoadFigures = { ...figures, steps: figures.steps.map((s) => ({ ...s, generatorBound: isGeneratorBound(s) })) };
  const md: string[] = [];
  const { perOp, versesSync } = f.maxUsers;
  const ratio = perOp > 0 ? versesSync / perOp : Infinity;
  md.push(`# verses-sync load (${f.mode})`, '');
  md.push(`${f.generatedAt} · ${f.cores} cores shared with the load generator (and other work on the machine: figures are noisy) · ` +
    `Postgres: ${f.database === 'server' ? 'real server (DATABASE_URL, isolated database)' : 'PGlite'} · function under ${f.runtime === 'deno' ? 'Deno (child process)' : 'Node (in-process)'} · ${f.durationSec} s`, '');
  md.push(`Bound for both paths: p95 enqueue → acknowledged ≤ **${fmt(f.boundMs)} ms** (verses-sync's latency budget for a study session's ops; per-op sends at once and is held to the same bound), and no errors.`, '');
  const largest = Math.max(...f.steps.map((x) => x.users));
  // A path whose first failing step was generator-bound may carry more than the figure says.
  const firstFailure = (p: string) => f.steps.find((s) => s.path === p && !s.carried);
  const openEnded = (p: string) => firstFailure(p)?.generatorBound === true || f.steps.some((s) => s.path === p && s.users === largest && s.carried);
  const label = (p: 'perOp' | 'versesSync') =>
    `**${fmt(f.maxUsers[p])}**${openEnded(p) ? ` (lower bound: ${firstFailure(p) ? `at ${fmt(firstFailure(p)!.users)} the load generator, not the server, was the limit` : 'the largest N tried'})` : ''}`;
  md.push('| path | maxUsers |', '| --- | ---: |');
  md.push(`| per-op | ${label('perOp')} |`, `| verses-sync | ${label('versesSync')} |`, '');
  const verdict =
    versesSync === 0 && perOp === 0 ? 'neither path carried any step' : perOp === 0 ? 'per-op carried no step' : `${fmt(ratio, 1)}×`;
  const met = perOp === 0 ? versesSync > 0 : ratio >= 10;
  md.push(`verses-sync ÷ per-op: **${verdict}** (target ≥ 10×: ${met ? 'met' : '**not met**'}${openEnded('versesSync') ? '; verses-sync\'s figure is a lower bound, see above' : ''}).`, '');
  const carriedBoth = f.steps.filter((s) => s.carried);
  const rate = (p: string) => {
    const s = carriedBoth.filter((x) => x.path === p).sort((a, b) => b.users - a.users)[0];
    return s ? { users: s.users, perUser: s.requestsPerSec / s.users, ops: s.opsPerRequest } : null;
  };
  const po = rate('perOp');
  const vs = rate('versesSync');
  if (po && vs) {
    md.push(`Server requests per user per second at the largest carried step: per-op ${fmt(po.perUser, 3)} (${fmt(po.users)} users), verses-sync ${fmt(vs.perUser, 3)} (${fmt(vs.users)} users, ${fmt(vs.ops, 2)} ops per request). ` +
      'Whatever limits the server, it is spent per request, so this ratio, not the client, decides how many more users batching lets one server carry.', '');
  }
  const bound = f.steps.filter((s) => s.generatorBound);
  if (bound.length) {
    md.push(`**Generator-bound steps** (${bound.map((s) => `${s.path} × ${s.users}`).join(', ')}): the function and Postgres used < 50% of a core, and a process of the generator was saturated (timers > 150 ms late or > 80% of a core) or the server answered its requests within a tenth of the bound (request p95), so the time went on the clients' side: the limit there was the load generator on this shared machine, not the server; the maxUsers of that path is then a lower bound of what the server carries.`, '');
  }
  md.push('## Steps', '');
  md.push('| path | users | carried | ops | ops acked | req/s | ops/s | ops/req | p50 ms | p95 ms | p99 ms | request p95 ms | 429 | 5xx | net err | lost ops | error rate | PG conns open max / in use max / mean | fn CPU % | PG CPU % | server CPU ms / req | generator CPU % (processes) | generator lag p99 ms | machine busy % |');
  md.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of f.steps) {
    const v = s.server;
    md.push(`| ${s.path} | ${fmt(s.users)} | ${s.carried ? 'yes' : s.generatorBound ? '**no** (generator-bound)' : '**no**'} | ${fmt(s.ops)} | ${fmt(s.opsAcked)} | ${fmt(s.requestsPerSec, 1)} | ${fmt(s.opsPerSec, 1)} | ${fmt(s.opsPerRequest, 2)} | ` +
      `${ms(s.latencyMs.p50)} | ${ms(s.latencyMs.p95)} | ${ms(s.latencyMs.p99)} | ${fmt(s.requestMs?.p95)} | ${fmt(s.status.shed429)} | ${fmt(s.status.server5xx)} | ${fmt(s.status.network)} | ${fmt(s.opsFailed + s.opsUnacked)} | ${fmt(100 * s.errorRate, 2)}% | ` +
      `${v.pgConnectionsMax} / ${v.pgInUseMax} / ${fmt(v.pgInUseMean, 1)} | ${fmt(v.functionCpuPct)} | ${fmt(v.postgresCpuPct)} | ${fmt(s.serverCpuMsPerRequest, 2)} | ${fmt(v.loadgenCpuPct)} (${s.generatorProcesses ?? 1}) | ${fmt(s.generatorLagP99Ms)} | ${fmt(v.machineBusyPct)} |`);
  }
  for (const s of f.skipped) md.push(`| ${s.path} | ${fmt(s.users)} | skipped (saturated at a smaller N) | | | | | | | | | | | | | | | | | | | | | |`);
  md.push('', 'CPU: % of one core over the step (function = the Deno process; PG = the backends connected to the run\'s database; generator = the Node processes hosting the users, summed: this one alone up to 200 users, two child processes beside it above that; all clients and their Dexie databases). ' +
    'PG conns: open = connections to the run\'s database (the function\'s pool plus the stack\'s one admin connection); in use = active or idle in a transaction, sampled every 250 ms. Lost ops: per-op ops whose one request failed (the seed does not retry) plus ops of either path unacknowledged when the step\'s drain time ran out.', '');
  if (f.ceiling?.length) {
    md.push('## The server alone', '');
    md.push('32 closed loops per shape post reviews straight to the function (no Dexie, no supabase-js) as fast as it answers, on the same machine. Projected users = that rate ÷ the requests per user per second of the path\'s largest carried step: what the function and Postgres would carry if the clients cost nothing here.', '');
    md.push('| shape | ops / request | req/s | ops/s | p95 ms | 429 | failed | fn CPU % | PG CPU % | projected users |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of f.ceiling) {
      md.push(`| ${c.shape}${c.fullBatch ? ' (full batches)' : ''} | ${c.opsPerRequest} | ${fmt(c.requestsPerSec)} | ${fmt(c.opsPerSec)} | ${fmt(c.p95Ms)} | ${fmt(c.shed429)} | ${fmt(c.failed)} | ${fmt(c.server.functionCpuPct)} | ${fmt(c.server.postgresCpuPct)} | ${fmt(c.projectedUsers)} |`);
    }
    const [a, b] = [f.ceiling.find((c) => c.shape === 'perOp'), f.ceiling.find((c) => c.shape === 'versesSync' && !c.fullBatch)];
    if (a?.projectedUsers && b?.projectedUsers) {
      const projected = b.projectedUsers / a.projectedUsers;
      md.push('', `Projected verses-sync ÷ per-op: **${fmt(projected, 2)}×** (target ≥ 5× at the default budget: ${projected >= 5 ? 'met' : '**not met**'}).`);
      // Users per server = ceiling ÷ requests per user: 10× needs fewer requests per user or cheaper ones.
      const costRatio = a.requestsPerSec / b.requestsPerSec; // a verses-sync request's cost in per-op requests
      const opsNow = b.opsPerRequest;
      const opsFor10 = (opsNow * 10) / projected;
      md.push('', `What 10× would take, from these figures: a verses-sync request of ${fmt(opsNow, 0)} reviews costs the server ${fmt(costRatio, 2)} per-op requests, so 10× needs about ` +
        `${fmt(opsFor10, 1)} ops per request at that cost (with a review every 2–6 s, a budget of about ${fmt(Math.max(0, opsFor10 - 1) * 4, 0)} s instead of 30 s), ` +
        `or requests ${fmt(100 * (1 - projected / 10), 0)}% cheaper at today's ${fmt(opsNow, 1)} ops per request.`);
    }
    const full = f.ceiling.find((c) => c.fullBatch);
    if (a && full && a.opsPerSec > 0) {
      md.push('', `With full batches of ${full.opsPerRequest} the same server applies ${fmt(full.opsPerSec)} ops/s, **${fmt(full.opsPerSec / a.opsPerSec, 1)}×** its rate one op per request: ` +
        'batching multiplies the users one server carries as far as users fill their batches (imports, a backlog after being offline, or a study session\'s ops gathered over the latency budget).');
    }
    md.push('');
  }
  md.push('## Load shedding and retries', '');
  const shed = [...f.steps, ...(f.burst ? [f.burst] : [])].filter((s) => s.status.shed429 > 0);
  if (f.burst) {
    const b = f.burst;
    md.push(`Burst step (not part of maxUsers): ${fmt(b.users)} verses-sync users (${b.client} client) make their first write at the same instant, so their first batches reach the function together. ` +
      `Answers: ${fmt(b.status.ok)} × 200, ${fmt(b.status.shed429)} × 429, ${fmt(b.status.server5xx)} × 5xx, ${fmt(b.status.network)} without answer; ops acknowledged ${fmt(b.opsAcked)} / ${fmt(b.ops)}; ` +
      `PG connections open max ${b.server.pgConnectionsMax}, in use max ${b.server.pgInUseMax}.`, '');
  }
  if (shed.length === 0) {
    md.push('No request was shed (429) in this run.', '');
  } else {
    md.push('Time from a 429\'s arrival to the same user\'s next request (per-op never retries; its next request is its next op):', '');
    md.push('| step | 429s | gap min ms | gap p50 ms | gap max ms | histogram (100 ms buckets: from ms → count) |', '| --- | ---: | ---: | ---: | ---: | --- |');
    for (const s of shed) {
      const name = s === f.burst ? `burst: ${s.path} × ${s.users}` : `${s.path} × ${s.users}`;
      md.push(`| ${name} | ${fmt(s.status.shed429)} | ${fmt(s.retryGapMs.min)} | ${fmt(s.retryGapMs.p50)} | ${fmt(s.retryGapMs.max)} | ${s.retryGapHistogram.map((b) => `${b.fromMs}${b.fromMs >= RETRY_GAP_CAP_MS ? '+' : ''}→${b.count}`).join(', ')} |`);
    }
    md.push('', 'Request timeline of the shed steps, per 250 ms (sent, /shed when some were 429):', '');
    for (const s of shed) md.push(`- ${s === f.burst ? 'burst: ' : ''}${s.path} × ${s.users}: ${timelineText(s)}`);
    md.push('');
  }
  if (notes.length) md.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return md.join('\n');
}

function timelineText(s: StepResult): string {
  return s.timeline.map((t) => (t.shed ? `${t.sent}/${t.shed}` : `${t.sent}`)).join(' ');
}
