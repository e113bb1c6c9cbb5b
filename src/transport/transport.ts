// Sends one batch through supabase-js and turns every way it can end into an
// UploadResult the machines understand. Never throws.
import { FunctionsFetchError, FunctionsHttpError, FunctionsRelayError, type SupabaseClient } from '@supabase/supabase-js';
import type { ServerCheck, TransportFailure, UploadBatchInput, UploadResult } from '../../machines/types.ts';
import type { ApplyBatchResponse, OperationResult } from '../../supabase/functions/_shared/protocol.ts';

export type TransportOptions = {
  client: SupabaseClient;
  functionName?: string;
  /** A backstop; the batch machine's own request timeout normally aborts first. */
  timeoutMs?: number;
  now?: () => number;
};

export type Transport = {
  upload(input: UploadBatchInput, signal?: AbortSignal): Promise<UploadResult>;
  /** A GET to the function (answered 204 before any auth or database work): is the server there? */
  check(signal?: AbortSignal): Promise<ServerCheck>;
};

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

async function readErrorBody(response: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown; message?: unknown } };
    return {
      code: typeof body?.error?.code === 'string' ? body.error.code : undefined,
      message: typeof body?.error?.message === 'string' ? body.error.message : undefined,
    };
  } catch {
    return {};
  }
}

/** Maps an HTTP error answer to the failure kind that drives retry, pause or dead letter. */
export async function classifyHttpError(response: Response, now = Date.now()): Promise<TransportFailure> {
  const { code, message } = await readErrorBody(response);
  const status = response.status;
  const base = { status, code, message: message ?? `HTTP ${status} from verse-operations` };
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
  if (status === 401) return { kind: 'auth', ...base };
  if (status === 429) return { kind: 'rateLimited', ...base, retryAfterMs: retryAfterMs ?? 1000 };
  if (status === 408) return { kind: 'timeout', ...base };
  if (status >= 500) return { kind: 'server', ...base, retryAfterMs };
  return { kind: 'fatal', ...base };
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

// A 200 whose body is not a result per operation is the server's fault: retry it.
function checkResults(data: unknown, input: UploadBatchInput): OperationResult[] | string {
  const results = (data as ApplyBatchResponse | null)?.results;
  if (!Array.isArray(results)) return 'answer has no results array';
  const ids = new Set(input.operations.map((op) => op.id));
  for (const result of results) {
    if (typeof result?.id !== 'string' || typeof result.success !== 'boolean') return 'answer holds a malformed result';
    if (!ids.has(result.id)) return `answer names operation ${result.id}, which was not sent`;
  }
  return results;
}

type FunctionsInternals = { url?: unknown; headers?: unknown; fetch?: unknown };

/**
 * POSTs `body` to the function with fetch keepalive, so the request outlives a closing page.
 * functions.invoke has no keepalive option, so this uses the functions client's own URL, headers
 * and authenticated fetch (which adds the apikey and the user's token), as invoke does.
 */
async function postKeepalive(client: SupabaseClient, functionName: string, body: string): Promise<Response> {
  const functions = client.functions as unknown as FunctionsInternals;
  if (typeof functions.url !== 'string' || typeof functions.fetch !== 'function') {
    throw new Error('this supabase-js version hides its functions client; keepalive requests cannot be sent');
  }
  const send = functions.fetch as typeof fetch;
  return send(`${functions.url}/${functionName}`, {
    method: 'POST',
    headers: { ...(functions.headers as Record<string, string> | undefined), 'Content-Type': 'application/json' },
    body,
    keepalive: true,
  });
}

async function readKeepaliveAnswer(response: Response, input: UploadBatchInput, now: number): Promise<UploadResult> {
  if (!response.ok) return { ok: false, failure: await classifyHttpError(response, now) };
  let data: unknown;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const results = checkResults(data, input);
  if (typeof results === 'string') return { ok: false, failure: { kind: 'server', message: results, status: response.status } };
  return { ok: true, results };
}

/** What a failed functions.invoke means for the queue. */
async function invokeFailure(error: unknown, signal: AbortSignal | undefined, now: number): Promise<TransportFailure> {
  if (error instanceof FunctionsHttpError) return classifyHttpError(error.context as Response, now);
  if (error instanceof FunctionsRelayError) return { kind: 'network', message: 'the Supabase relay could not reach the function' };
  const cause = error instanceof FunctionsFetchError ? error.context : error;
  if (isAbort(cause) || signal?.aborted) return { kind: 'timeout', message: 'the request was aborted before an answer arrived' };
  return { kind: 'network', message: `network error: ${(cause as Error)?.message ?? String(cause)}` };
}

/** The supabase-js transport: `functions.invoke('verse-operations', apply_batch)`. */
export function createTransport(options: TransportOptions): Transport {
  const functionName = options.functionName ?? 'verse-operations';
  const now = options.now ?? Date.now;
  return {
    async upload(input, signal) {
      const body = { action: 'apply_batch', batchId: input.batchId, operations: input.operations };
      if (input.keepalive) {
        // No abort signal: the request must go on after the page (and its actors) stop. If the
        // batch times out meanwhile its ops are sent again, and the server's ledger applies them once.
        try {
          return await readKeepaliveAnswer(await postKeepalive(options.client, functionName, JSON.stringify(body)), input, now());
        } catch (error) {
          return { ok: false, failure: { kind: 'network', message: `network error: ${(error as Error)?.message ?? String(error)}` } };
        }
      }
      const { data, error } = await options.client.functions.invoke(functionName, {
        body,
        signal,
        timeout: options.timeoutMs,
      });
      if (!error) {
        const results = checkResults(data, input);
        if (typeof results === 'string') return { ok: false, failure: { kind: 'server', message: results, status: 200 } };
        return { ok: true, results };
      }
      return { ok: false, failure: await invokeFailure(error, signal, now()) };
    },
    async check(signal) {
      const { error } = await options.client.functions.invoke(functionName, { method: 'GET', signal, timeout: options.timeoutMs });
      return error ? { ok: false, failure: await invokeFailure(error, signal, now()) } : { ok: true };
    },
  };
}
