// `npm run load [-- --quick | --tiny] [--json FILE] [--runtime deno|node] [--quality excellent|good|poor] [--users 10,50] [--hosts N] [--burst N]`:
// N simulated users per path against the local stack on the real Postgres; a markdown table
// (stdout and load/results/latest.md), a chart (load/results/max-users.svg) and JSON.
import 'fake-indexeddb/auto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Quality } from '../machines/types.ts';
import { writeLoadChart } from './chart.ts';
import { runLoad, type LoadFigures, type LoadMode } from './load.ts';
import { loadMarkdown } from './report.ts';
import type { PathName } from './users.ts';

const METHOD = [
  'Each user has its own id, JWT (signed by the stack), supabase-js client and Dexie database on fake-indexeddb, and runs a seeded study session: a first card, then an action every 2–6 s (90% reviews, 10% new cards) and one profile edit, for the session length of the mode (full: 2 min; users start spread over 5 s); the step then waits for acknowledgements up to its drain time (full: 45 s, longer than the 10 s idle gap).',
  'per-op = the seed\'s dual write: the Dexie write, then one functions.invoke per op in the seed\'s per-type shape, one request at a time per user, no retry (a refused request loses that op\'s sync, and later ops on its card fail).',
  'verses-sync = the real client for every user: dataService + BatchSyncService (its queue, batch and backoff machines, snapshots) with its default batching (latency budget, idle gap); only the connection quality is fixed (below).',
  'Steps over 200 users run their users, of either path, in two child processes (one per core), dealt round-robin, all on one shared clock (the generator CPU and timer lateness of each step are in the table above).',
  'Connection quality is fixed at excellent (the fake probe answers 20 ms; on 127.0.0.1 the real probe says the same). Both paths are held to the same p95 bound (above); per-op has no window of its own.',
  'Enqueue = the local write committed; acknowledged = the answer naming the op as applied reached the client (read in a fetch wrapper, the same point for both paths).',
  'Users talk to the Deno function directly: the stack\'s Node gateway shares this process and, at 1,000 users, could not accept connections fast enough (undici connect timeouts), which is the generator\'s limit, not the function\'s.',
  'In one process all users share Dexie\'s global change event, so N services would each inspect every write of all the others (N² work no browser does); the generator routes each change to its own service only.',
];

function wholeNumber(name: string, flag: string, max: number): number {
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be a whole number from 0 to ${max}; got ${flag}`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      json: { type: 'string' },
      runtime: { type: 'string', default: 'deno' },
      quality: { type: 'string', default: 'excellent' },
      users: { type: 'string' },
      paths: { type: 'string' },
      out: { type: 'string' },
      via: { type: 'string', default: 'direct' },
      from: { type: 'string' },
      hosts: { type: 'string' },
      burst: { type: 'string' },
    },
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl && !values.from) throw new Error('npm run load needs DATABASE_URL (a real PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test)');
  const mode: LoadMode = values.tiny ? 'tiny' : values.quick ? 'quick' : 'full';
  const runtime = values.runtime as 'deno' | 'node';
  if (runtime !== 'deno' && runtime !== 'node') throw new Error('--runtime must be deno or node');
  const quality = values.quality as Quality;
  if (!['excellent', 'good', 'poor'].includes(quality)) throw new Error('--quality must be excellent, good or poor');
  // --from FILE renders the table and chart again from a run's JSON, without running it.
  const figures: LoadFigures = values.from
    ? (JSON.parse(await readFile(values.from, 'utf8')) as LoadFigures)
    : await runLoad({
        mode,
        databaseUrl,
        runtime,
        quality,
        users: values.users?.split(',').map(Number),
        via: values.via as 'direct' | 'gateway',
        paths: values.paths?.split(',') as PathName[] | undefined,
        ...(values.hosts !== undefined ? { hostsFor: () => wholeNumber('--hosts', values.hosts!, 16) } : {}),
        ...(values.burst !== undefined ? { burst: wholeNumber('--burst', values.burst, 5_000) } : {}),
        log: (line) => console.error(`[load ${new Date().toISOString().slice(11, 19)}] ${line}`),
      });
  const table = loadMarkdown(figures, METHOD);
  process.stdout.write(`${table}\n`);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const results = values.out ?? path.join(here, 'results');
  await mkdir(results, { recursive: true });
  if (figures.mode !== 'tiny') {
    await writeFile(path.join(results, figures.mode === 'full' ? 'latest.md' : `latest-${figures.mode}.md`), `${table}\n`);
    await writeLoadChart(figures.steps, path.join(results, figures.mode === 'full' ? 'max-users.svg' : `max-users-${figures.mode}.svg`),
      `Load: p95 enqueue → ack and requests/s per concurrent users (${figures.mode} run, ${figures.quality} window)`);
  }
  if (values.json && !values.from) await writeFile(values.json, `${JSON.stringify(figures, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
