// `npm run stack` in its own process, the function under real Deno, reached by supabase-js from here.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import WebSocket from 'ws';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { batch, op } from '../helpers/ops.ts';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const secret = randomBytes(32).toString('base64url');
// The CLI on its embedded default: PGlite in memory, whatever DATABASE_URL the suite has.
const env = { ...process.env, DATABASE_URL: '', SUPABASE_JWT_SECRET: secret, NODE_OPTIONS: '' };

let child: ChildProcess | undefined;
let url = '';
let anonKey = '';

beforeAll(async () => {
  child = spawn(TSX, ['scripts/stack.ts', '--port', '0', '--db-port', '0', '--memory'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const u = /API URL:\s+(\S+)/.exec(output);
      const k = /anon key:\s+(\S+)/.exec(output);
      if (u && k) {
        url = u[1];
        anonKey = k[1];
        clearTimeout(timer);
        resolve();
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`stack exited ${code}:\n${output}`)));
  });
  expect(output).toContain('function on deno');
}, 120_000);

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
});

function tokenFromCli(userId: string): string {
  const result = spawnSync(TSX, ['scripts/token.ts', '--user', userId], { cwd: ROOT, env, encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout.trim();
}

test('npm run token signs a token the Deno function accepts, from a separate process', async () => {
  const userId = randomUUID();
  const token = tokenFromCli(userId);
  const supabase = createSupabaseClient({ url, anonKey, accessToken: async () => token, webSocket: WebSocket });
  const create = op.createVerse(randomUUID(), 'Philippians 4:13');
  const review = op.review(create.payload.verseCardId);
  const { data, error } = await supabase.functions.invoke('verse-operations', { body: batch([create, review]) });
  expect(error).toBeNull();
  expect(data.results.map((r: { id: string; success: boolean }) => [r.id, r.success])).toEqual([
    [create.id, true],
    [review.id, true],
  ]);
});

test('the Deno function refuses a token signed with another secret', async () => {
  const supabase = createSupabaseClient({ url, anonKey, accessToken: async () => anonKey, webSocket: WebSocket });
  const { data, error } = await supabase.functions.invoke('verse-operations', { body: batch([op.profile({ dailyGoal: 2 })]) });
  expect(data).toBeNull();
  expect(error?.name).toBe('FunctionsHttpError');
  const response = (error as { context: Response }).context;
  expect(response.status).toBe(401);
  expect((await response.json()).error.code).toBe('UNAUTHORIZED');
});

test('npm run token refuses a user that is not a UUID', () => {
  const result = spawnSync(TSX, ['scripts/token.ts', '--user', 'admin'], { cwd: ROOT, env, encoding: 'utf8' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('usage');
});
