// The bench's world: one stack (real Postgres with DATABASE_URL, PGlite otherwise),
// a request counter around the function, and the latency proxy clients talk through.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { SupabaseClient } from '@supabase/supabase-js';
import { startStack, type Stack, type StackOptions } from '../src/stack/index.ts';
import type { WebHandler } from '../src/stack/http.ts';
import { createSupabaseClient } from '../src/transport/supabaseClient.ts';
import { startLatencyProxy, type LatencyProxy } from './proxy.ts';

export type BenchEnv = {
  stack: Stack;
  proxy: LatencyProxy;
  /** POSTs that reached the function since the last reset. */
  counter: { requests: number; bodyBytes: number };
  resetCounters(): void;
  /** A new user and a supabase-js client for them, through the proxy. */
  newUser(): Promise<{ userId: string; token: string; client: SupabaseClient }>;
  /** What the stack answers for paths that are not functions (the browser bench's page and its peers' endpoints). */
  setFallback(handler: WebHandler | null): void;
  stop(): Promise<void>;
};

/** The bench's stack; `options` adds to it (e.g. the local ESV-compatible server). */
export async function startBenchEnv(options: Pick<StackOptions, 'esv' | 'esvServer'> = {}): Promise<BenchEnv> {
  const counter = { requests: 0, bodyBytes: 0 };
  const count = (handler: WebHandler): WebHandler => async (req) => {
    if (req.method === 'POST') {
      counter.requests++;
      counter.bodyBytes += Number(req.headers.get('content-length') ?? 0);
    }
    return handler(req);
  };
  let fallback: WebHandler | null = null;
  const stack = await startStack({
    fallback: (req) => (fallback ? fallback(req) : Promise.resolve(new Response('not found', { status: 404 }))),
    databaseUrl: process.env.DATABASE_URL,
    isolateDatabase: true,
    runtime: 'node',
    wrapFunction: count,
    ...options,
  });
  const proxy = await startLatencyProxy(stack.url, 0);
  return {
    stack,
    proxy,
    counter,
    resetCounters() {
      counter.requests = 0;
      counter.bodyBytes = 0;
      proxy.reset();
    },
    async newUser() {
      const userId = randomUUID();
      const token = await stack.tokenFor(userId, { expiresIn: 24 * 3600 });
      const client = createSupabaseClient({ url: proxy.url, anonKey: stack.anonKey, accessToken: async () => token, webSocket: WebSocket });
      return { userId, token, client };
    },
    setFallback(handler) {
      fallback = handler;
    },
    async stop() {
      await proxy.close();
      await stack.stop();
    },
  };
}
