// The verse-operations HTTP handler: a plain (Request) => Response, so Deno.serve
// runs it in Supabase and the local stack runs the very same code under Node.
import {
  applyBatchRequestSchema,
  describeIssues,
  LEGACY_ACTIONS,
  legacyRequestSchema,
  LIMITS,
  REQUEST_ERRORS,
  textProblem,
  validatePayload,
  type ApplyBatchResponse,
  type FilledVerse,
  type OperationResult,
  type RequestErrorCode,
  type WireOperation,
} from '../_shared/protocol.ts';
import { createAdmission } from './admission.ts';
import { importJwtSecret, verifyAccessToken, type TokenRules } from './auth.ts';
import type { EsvConfig } from './esv.ts';
import type { BatchStore } from './store.ts';
import { prepareVerseTexts, type PreparedTexts } from './verseTexts.ts';

export type HandlerOptions = {
  store: BatchStore;
  jwtSecret: string;
  limits?: { maxOperations?: number; maxBodyBytes?: number };
  /** Batches applied at once and waiting for a turn; more are refused with 429 (defaults 8 and 64). */
  load?: { maxConcurrent?: number; maxWaiting?: number; retryAfterSeconds?: number };
  log?: (line: string) => void;
  /** Verse text from the ESV API (or the local stack's ESV-compatible server); none when absent. */
  esv?: EsvConfig;
  /** What a token must carry beyond a valid signature (audience, clock skew). */
  tokens?: TokenRules;
};

// A Supabase access token is about 1 KB; one past this is refused before it is verified.
const MAX_AUTHORIZATION_BYTES = 8 * 1024;

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'authorization, x-client-info, apikey, content-type, x-region',
  'Access-Control-Allow-Methods': 'POST, GET, HEAD, OPTIONS',
  'Access-Control-Expose-Headers': 'retry-after',
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS_HEADERS, 'Content-Type': 'application/json', ...headers },
  });
}

function fail(code: RequestErrorCode, message: string, headers?: Record<string, string>): Response {
  return json(REQUEST_ERRORS[code], { error: { code, message } }, headers);
}

type BodyRead = { ok: true; text: string } | { ok: false; response: Response };

// Reads at most maxBytes, so a 10 MB body costs us maxBytes, not 10 MB.
async function readBody(req: Request, maxBytes: number): Promise<BodyRead> {
  const tooLarge = (): BodyRead => ({
    ok: false,
    response: fail('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes; send smaller batches`),
  });
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge();
  if (!req.body) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, response: fail('INVALID_JSON', 'request body is not valid UTF-8') };
  }
}

type ParsedBatch = { batchId: string; operations: Array<{ id: string; seq: number; type: string; payload: unknown; localRecordId?: string }> };

// Accepts apply_batch and the seed's per-type actions; both become one ordered list.
function parseBatch(body: unknown, maxOperations: number): { ok: true; batch: ParsedBatch } | { ok: false; response: Response } {
  const action = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { action?: unknown }).action : undefined;
  if (typeof action !== 'string') {
    return { ok: false, response: fail('INVALID_BODY', 'body must be a JSON object with an action') };
  }
  const operationCount = (body as { operations?: unknown }).operations;
  if (Array.isArray(operationCount) && operationCount.length > maxOperations) {
    return {
      ok: false,
      response: fail('PAYLOAD_TOO_LARGE', `a batch holds at most ${maxOperations} operations; got ${operationCount.length}`),
    };
  }
  let batch: ParsedBatch;
  if (action === 'apply_batch') {
    const parsed = applyBatchRequestSchema.safeParse(body);
    if (!parsed.success) return { ok: false, response: fail('INVALID_BODY', describeIssues(parsed.error)) };
    batch = parsed.data;
  } else if (action in LEGACY_ACTIONS) {
    const parsed = legacyRequestSchema.safeParse(body);
    if (!parsed.success) return { ok: false, response: fail('INVALID_BODY', describeIssues(parsed.error)) };
    const type = LEGACY_ACTIONS[parsed.data.action];
    batch = {
      batchId: parsed.data.batchId ?? crypto.randomUUID(),
      operations: parsed.data.operations.map(({ id, localRecordId, ...payload }, seq) => ({
        id,
        seq,
        type,
        // The seed sends a card's local id as localRecordId; it is the card's id here too.
        payload: type === 'CREATE_VERSE' && payload.verseCardId === undefined ? { ...payload, verseCardId: localRecordId } : payload,
        localRecordId,
      })),
    };
  } else {
    return {
      ok: false,
      response: fail('UNKNOWN_ACTION', `unknown action '${action.slice(0, 64)}'; use apply_batch or one of ${Object.keys(LEGACY_ACTIONS).join(', ')}`),
    };
  }
  // Op ids are compared in their canonical form: the same UUID in two letter cases is one op.
  const seen = new Set<string>();
  for (const op of batch.operations) {
    const canonical = op.id.toLowerCase();
    if (seen.has(canonical)) {
      return { ok: false, response: fail('DUPLICATE_OPERATION_ID', `operation id ${op.id} appears more than once in the batch`) };
    }
    seen.add(canonical);
  }
  return { ok: true, batch };
}

export type CheckedBatch = {
  ok: true;
  batchId: string;
  /** The operations as sent (answers go back under these ids). */
  operations: ParsedBatch['operations'];
  /** What the store applies: canonical (lowercase) ids, cleaned payloads. */
  valid: WireOperation[];
  /** A bad operation gets its own error, the rest still apply; keyed by canonical id. */
  rejected: Map<string, OperationResult>;
};

/** Checks a parsed request body: its shape, then every operation on its own. */
export function checkBatch(body: unknown, maxOperations: number = LIMITS.maxOperations): CheckedBatch | { ok: false; response: Response } {
  const parsed = parseBatch(body, maxOperations);
  if (!parsed.ok) return parsed;
  const { batchId, operations } = parsed.batch;
  const rejected = new Map<string, OperationResult>();
  const valid: WireOperation[] = [];
  for (const op of operations) {
    const id = op.id.toLowerCase();
    const checked = validatePayload(op.type, op.payload);
    const localProblem = op.localRecordId === undefined ? undefined : textProblem(op.localRecordId);
    if (checked.ok && !localProblem) {
      valid.push({ id, seq: op.seq, type: op.type as WireOperation['type'], payload: checked.payload });
    } else {
      const error = checked.ok
        ? { code: 'VALIDATION_FAILED', message: `${op.type}: localRecordId: ${localProblem}`, retryable: false }
        : checked.error;
      rejected.set(id, { id, success: false, error });
    }
  }
  return { ok: true, batchId, operations, valid, rejected };
}

// True when the ids are canonical (as the RPC answers them) and the ops are in seq order (as it does).
function answerStandsAlone(batchId: string, operations: ParsedBatch['operations']): boolean {
  if (batchId !== batchId.toLowerCase()) return false;
  for (let i = 0; i < operations.length; i++) {
    if (operations[i].id !== operations[i].id.toLowerCase()) return false;
    if (i > 0 && operations[i].seq < operations[i - 1].seq) return false;
  }
  return true;
}

// Postgres and driver errors that mean "try again later", not "your input is bad".
function isTransientDbError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return true;
  if (/^(08|40|53|55|57|58)/.test(code)) return true;
  return ['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code);
}

/** Builds the function's request handler around a store and the project's JWT secret. */
export function createHandler(options: HandlerOptions): (req: Request) => Promise<Response> {
  const secret = importJwtSecret(options.jwtSecret);
  const maxOperations = options.limits?.maxOperations ?? LIMITS.maxOperations;
  const maxBodyBytes = options.limits?.maxBodyBytes ?? LIMITS.maxBodyBytes;
  const log = options.log ?? ((line: string) => console.error(line));
  const admission = createAdmission(options.load?.maxConcurrent ?? 8, options.load?.maxWaiting ?? 64);
  const retryAfter = String(options.load?.retryAfterSeconds ?? 1);

  return async function handle(req: Request): Promise<Response> {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS_HEADERS });
    // The client's latency probe: answered at once, before any auth or database work.
    if (req.method === 'GET' || req.method === 'HEAD') return new Response(null, { status: 204, headers: CORS_HEADERS });
    if (req.method !== 'POST') return fail('METHOD_NOT_ALLOWED', 'use POST');

    const authorization = req.headers.get('authorization');
    if (authorization && authorization.length > MAX_AUTHORIZATION_BYTES) {
      return fail('TOKEN_TOO_LARGE', `the Authorization header exceeds ${MAX_AUTHORIZATION_BYTES} bytes; send the session's access token`);
    }
    const auth = await verifyAccessToken(authorization, await secret, options.tokens);
    if (!auth.ok) return fail(auth.failure.code, auth.failure.message);

    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) return read.response;
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      return fail('INVALID_JSON', 'request body is not valid JSON');
    }
    const checked = checkBatch(body, maxOperations);
    if (!checked.ok) return checked.response;
    const { batchId, operations, valid, rejected } = checked;

    let applied: OperationResult[] = [];
    let answer: string | undefined;
    let filled: FilledVerse[] = [];
    if (valid.length > 0) {
      const release = await admission.enter();
      if (!release) {
        return fail('RATE_LIMITED', 'the server is busy; the batch was not applied, retry after the given delay', { 'Retry-After': retryAfter });
      }
      try {
        let texts: PreparedTexts | undefined;
        if (options.esv && options.store.esv) {
          try {
            texts = await prepareVerseTexts(options.esv, options.store.esv, auth.claims.sub, valid, log);
          } catch (error) {
            // The user's write never fails for the ESV's sake: the cards go in without text.
            log(`verse-operations: batch ${batchId}: ESV texts not prepared: ${(error as Error)?.message ?? error}`);
          }
        }
        const toApply = texts ? valid.filter((op) => !texts.rejected.has(op.id)) : valid;
        texts?.rejected.forEach((result, id) => rejected.set(id, result));
        // The RPC's answer is the response as it stands when every op went to it, under the ids
        // and in the order they were sent, and nothing rides on it: passed on unparsed.
        if (options.store.applyBatchAnswer && rejected.size === 0 && !texts?.filled.length && answerStandsAlone(batchId, operations)) {
          answer = await options.store.applyBatchAnswer(auth.claims, batchId, toApply);
        } else {
          applied = toApply.length > 0 ? await options.store.applyBatch(auth.claims, batchId, toApply) : [];
        }
        filled = texts?.filled ?? [];
        if (texts?.stored) {
          await options.store.esv!.enforceCap(options.esv!.storageCap).catch((error: unknown) =>
            log(`verse-operations: storage cap not enforced: ${(error as Error)?.message ?? error}`),
          );
        }
      } catch (error) {
        const code = (error as { code?: unknown })?.code;
        log(`verse-operations: batch ${batchId} not applied (${String(code ?? 'no code')}): ${(error as Error)?.message ?? error}`);
        if (isTransientDbError(error)) {
          return fail('UNAVAILABLE', 'the database is unavailable; the batch was not applied, retry later', { 'Retry-After': '1' });
        }
        return fail('SERVER_ERROR', 'the batch could not be applied and nothing was written; retry later');
      } finally {
        release();
      }
    }
    if (answer !== undefined) return new Response(answer, { status: 200, headers: { ...CORS_HEADERS, 'Content-Type': 'application/json' } });
    const appliedById = new Map(applied.map((result) => [result.id, result]));
    const results = [...operations]
      .sort((a, b) => a.seq - b.seq)
      .map((op) => {
        const id = op.id.toLowerCase();
        const result = rejected.get(id) ?? appliedById.get(id);
        return result && { ...result, id: op.id };
      })
      .filter((result): result is OperationResult => result !== undefined);
    // Text that arrived for the caller's earlier cards rides on the batch's first successful result.
    if (filled.length > 0 && results.length > 0) {
      const at = Math.max(0, results.findIndex((r) => r.success));
      results[at] = { ...results[at], filledVerses: filled };
    }
    const response: ApplyBatchResponse = { batchId, results };
    return json(200, response);
  };
}
