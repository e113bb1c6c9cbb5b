// The supabase-js transport against the real stack, with faults injected in front of the function.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { WebHandler } from '../../src/stack/http.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { createTransport, parseRetryAfter } from '../../src/transport/transport.ts';
import { op } from '../helpers/ops.ts';
import { useStack } from '../helpers/stack.ts';

// The next request's fate; undefined lets it through to the real function.
let fault: ((req: Request, real: WebHandler) => Promise<Response>) | undefined;
const stack = useStack({ wrapFunction: (real) => (req) => (fault ? fault(req, real) : real(req)) });
afterEach(() => {
  fault = undefined;
});

async function transportFor(userId = randomUUID(), tokenOptions?: { expiresIn?: number }) {
  const token = await stack().tokenFor(userId, tokenOptions);
  const client = createSupabaseClient({ url: stack().url, anonKey: stack().anonKey, accessToken: async () => token, webSocket: WebSocket });
  return createTransport({ client });
}

const input = () => {
  const create = op.createVerse();
  return { batchId: randomUUID(), operations: [create, op.review(create.payload.verseCardId)] };
};
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

test('a good batch comes back with one result per operation', async () => {
  const batch = input();
  const result = await (await transportFor()).upload(batch);
  expect(result.ok).toBe(true);
  if (result.ok) expect(result.results.map((r) => [r.id, r.success])).toEqual(batch.operations.map((o) => [o.id, true]));
});

test('an expired token is an auth failure (pause and refresh, not a retry)', async () => {
  const result = await (await transportFor(randomUUID(), { expiresIn: -10 })).upload(input());
  expect(result).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'auth', status: 401, code: 'TOKEN_EXPIRED' }) });
});

test('a 400 from the function is fatal and carries its code', async () => {
  const batch = input();
  batch.operations.push({ ...batch.operations[0], seq: 99 }); // duplicate id
  const result = await (await transportFor()).upload(batch);
  expect(result).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'fatal', status: 400, code: 'DUPLICATE_OPERATION_ID' }) });
});

test.each([
  ['500', () => json(500, { error: { code: 'SERVER_ERROR', message: 'boom' } }), { kind: 'server', status: 500 }],
  ['503 with Retry-After', () => json(503, { error: { code: 'UNAVAILABLE', message: 'db down' } }, { 'Retry-After': '3' }), { kind: 'server', status: 503, retryAfterMs: 3000 }],
  ['429 with Retry-After', () => json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, { 'Retry-After': '2' }), { kind: 'rateLimited', status: 429, retryAfterMs: 2000 }],
  ['429 without Retry-After', () => json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }), { kind: 'rateLimited', retryAfterMs: 1000 }],
  ['502 with an HTML body', () => new Response('<html>bad gateway</html>', { status: 502 }), { kind: 'server', status: 502 }],
  ['a relay error', () => json(500, { error: 'relay' }, { 'x-relay-error': 'true' }), { kind: 'network' }],
  ['a 200 without results', () => json(200, { batchId: 'x' }), { kind: 'server', status: 200 }],
  ['a 200 naming an op that was not sent', () => json(200, { results: [{ id: randomUUID(), success: true }] }), { kind: 'server' }],
])('%s is classified', async (_name, answer, expected) => {
  fault = async () => answer();
  const result = await (await transportFor()).upload(input());
  expect(result).toEqual({ ok: false, failure: expect.objectContaining(expected) });
});

test('a committed batch whose answer is lost in the gateway is a retryable server failure', async () => {
  fault = async (req, real) => {
    await real(req); // the server commits…
    throw new Error('socket hang up'); // …and the gateway fails before answering
  };
  const result = await (await transportFor()).upload(input());
  expect(result).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'server', status: 500 }) });
});

test('an aborted request is a timeout failure', async () => {
  fault = () => new Promise(() => {}); // hangs forever
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const result = await (await transportFor()).upload(input(), controller.signal);
  expect(result).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'timeout' }) });
});

test('no server at all is a network failure', async () => {
  const client = createSupabaseClient({ url: 'http://127.0.0.1:9', anonKey: stack().anonKey, accessToken: async () => 'x', webSocket: WebSocket });
  const result = await createTransport({ client }).upload(input());
  expect(result).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'network' }) });
});

describe('the check that the server is there (a GET to the function)', () => {
  test('the real function answers it before any auth: even an expired token gets its 2xx', async () => {
    let seen: string | undefined;
    fault = async (req, real) => {
      seen = req.method;
      return real(req);
    };
    expect(await (await transportFor(randomUUID(), { expiresIn: -10 })).check()).toEqual({ ok: true });
    expect(seen).toBe('GET');
  });

  test('a 5xx, a hung request or no server at all is a failure of the kind the queue retries', async () => {
    fault = async () => json(500, { error: { code: 'SERVER_ERROR', message: 'boom' } });
    expect(await (await transportFor()).check()).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'server', status: 500 }) });
    fault = () => new Promise(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await (await transportFor()).check(controller.signal)).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'timeout' }) });
    const client = createSupabaseClient({ url: 'http://127.0.0.1:9', anonKey: stack().anonKey, accessToken: async () => 'x', webSocket: WebSocket });
    expect(await createTransport({ client }).check()).toEqual({ ok: false, failure: expect.objectContaining({ kind: 'network' }) });
  });
});

test('Retry-After accepts seconds and HTTP dates', () => {
  expect(parseRetryAfter('5')).toBe(5000);
  expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
  expect(parseRetryAfter('soon')).toBeUndefined();
  expect(parseRetryAfter(null)).toBeUndefined();
});
