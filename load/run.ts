// `npm run load [-- --quick | --tiny] [--json FILE] [--runtime deno|node] [--quality excellent|good|poor] [--users 10,50]`:
// N simulated users per path against the local stack on the real Postgres; a markdown table
// (stdout and load/results/latest.md), a chart (load/results/max-users.svg) and JSON.
import 'fake-indexeddb/auto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Quality } from '../machines/types.ts';
import { writeLoadChart } from './chart.ts';
import { runLoad, type LoadMode } from './load.ts';
import { loadMarkdown } from './report.ts';
import type { PathName } from './users.ts';

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
      client: { type: 'string', default: 'auto' },
    },
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('npm run load needs DATABASE_URL (a real PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test)');
  const mode: LoadMode = values.tiny ? 'tiny' : values.quick ? 'quick' : 'full';
  const runtime = values.runtime as 'deno' | 'node';
  if (runtime !== 'deno' && runtime !== 'node') throw new Error('--runtime must be deno or node');
  const quality = values.quality as Quality;
  if (!['excellent', 'good', 'poor'].includes(quality)) throw new Error('--quality must be excellent, good or poor');
  const figures = await runLoad({
    mode,
    databaseUrl,
    runtime,
    quality,
    users: values.users?.split(',').map(Number),
    client: values.client as 'full' | 'lite' | 'auto',
    via: values.via as 'direct' | 'gateway',
    paths: values.paths?.split(',') as PathName[] | undefined,
    log: (line) => console.error(`[load ${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  const table = loadMarkdown(figures);
  process.stdout.write(`${table}\n`);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const results = values.out ?? path.join(here, 'results');
  await mkdir(results, { recursive: true });
  if (mode !== 'tiny') {
    await writeFile(path.join(results, mode === 'full' ? 'latest.md' : `latest-${mode}.md`), `${table}\n`);
    await writeLoadChart(figures.steps, path.join(results, mode === 'full' ? 'max-users.svg' : `max-users-${mode}.svg`),
      `Load: p95 enqueue → ack and requests/s per concurrent users (${mode} run, ${figures.quality} window)`);
  }
  if (values.json) await writeFile(values.json, `${JSON.stringify(figures, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
