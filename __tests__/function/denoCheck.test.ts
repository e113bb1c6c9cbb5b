// The function must stay deployable as is: Deno type-checks it with its own deno.json.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { denoExecutable } from '../../src/stack/deno.ts';

const ROOT = path.resolve(__dirname, '..', '..');

test('deno check accepts supabase/functions/verse-operations', () => {
  const result = spawnSync(denoExecutable(), ['check', 'supabase/functions/verse-operations/index.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    timeout: 120_000,
  });
  expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ status: 0, stderr: '' });
});
