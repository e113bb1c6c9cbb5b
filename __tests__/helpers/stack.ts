// One local stack per test file: PGlite by default, a fresh database on the
// DATABASE_URL server when set, so test files never see each other's rows.
import { randomUUID } from 'node:crypto';
import type { SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startStack, type Stack, type StackOptions } from '../../src/stack/index.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';

/** Starts a stack before the file's tests and stops it after; call the result inside tests. */
export function useStack(options: StackOptions = {}): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: process.env.DATABASE_URL || undefined,
      isolateDatabase: true,
      ...options,
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);
  return () => {
    if (!stack) throw new Error('the stack did not start');
    return stack;
  };
}

export type TestUser = { id: string; token: string; client: SupabaseClient };

/** A signed-in user of the stack with a supabase-js client of their own. */
export async function signIn(stack: Stack, id = randomUUID()): Promise<TestUser> {
  const token = await stack.tokenFor(id);
  const client = createSupabaseClient({
    url: stack.url,
    anonKey: stack.anonKey,
    accessToken: async () => token,
    webSocket: WebSocket,
  });
  return { id, token, client };
}

/** A raw POST to the function, for bodies supabase-js would never send. */
export async function postRaw(
  stack: Stack,
  body: BodyInit | null,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(stack.functionUrl, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
