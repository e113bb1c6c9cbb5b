// The JWT secret of the local stack: SUPABASE_JWT_SECRET, or one generated on
// first start and kept in the git-ignored data folder, so no secret is in code.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './migrate.ts';

export const DATA_DIR = path.join(REPO_ROOT, '.data');
const SECRET_FILE = path.join(DATA_DIR, 'jwt-secret');

/** Returns the stack's JWT secret, creating the dev one when none exists. */
export async function resolveJwtSecret(env = process.env): Promise<string> {
  if (env.SUPABASE_JWT_SECRET) return env.SUPABASE_JWT_SECRET;
  try {
    return (await readFile(SECRET_FILE, 'utf8')).trim();
  } catch {
    await mkdir(DATA_DIR, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    await writeFile(SECRET_FILE, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}
