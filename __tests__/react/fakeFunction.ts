// A stand-in for the verse-operations function behind supabase-js's `fetch` option: it answers
// apply_batch like the real one (a result per operation), records every request, and lets a
// test refuse operations or hold an answer back.
import type { WireOperation } from '../../supabase/functions/_shared/protocol.ts';

export type Refusal = { code: string; message: string };
export type FakeRequest = { method: string; batchId?: string; operations: WireOperation[] };

type Deferred = { promise: Promise<void>; release(): void };

function deferred(): Deferred {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

// jsdom has Headers but no Response; supabase-js reads only these members.
function jsonResponse(status: number, body: unknown): Response {
  const text = JSON.stringify(body);
  const make = (): Response =>
    ({
      status,
      ok: status >= 200 && status < 300,
      statusText: '',
      url: '',
      headers: new Headers({ 'Content-Type': 'application/json' }),
      json: async () => JSON.parse(text),
      text: async () => text,
      clone: make,
    }) as unknown as Response;
  return make();
}

export type FakeFunction = {
  fetch: typeof fetch;
  /** POSTs (batches) received, in order. */
  batches: FakeRequest[];
  /** Refuse (permanently) the operations this returns a reason for. */
  refuse(rule: ((op: WireOperation) => Refusal | undefined) | null): void;
  /** Hold every answer until release() is called. */
  hold(): { release(): void };
  /** Answer every POST with this HTTP status (a server in trouble) until called with null. */
  failWith(status: number | null): void;
};

/** A fake verse-operations function for supabase-js's `fetch` option. */
export function createFakeFunction(): FakeFunction {
  const batches: FakeRequest[] = [];
  let rule: ((op: WireOperation) => Refusal | undefined) | null = null;
  let gate: Deferred | null = null;
  let failing: number | null = null;
  const fake: FakeFunction = {
    failWith(status) {
      failing = status;
    },
    batches,
    refuse(next) {
      rule = next;
    },
    hold() {
      const d = deferred();
      gate = d;
      return {
        release() {
          gate = null;
          d.release();
        },
      };
    },
    fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
      const method = (init?.method ?? 'GET').toUpperCase();
      // The latency probe's GET: the real function answers 204 at once.
      if (method === 'GET' || method === 'HEAD') return new Response(null, { status: 204 });
      if (method !== 'POST') return jsonResponse(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST only' } });
      const body = JSON.parse(String(init?.body)) as { batchId: string; operations: WireOperation[] };
      batches.push({ method, batchId: body.batchId, operations: body.operations });
      if (gate) await gate.promise;
      if (failing !== null) return jsonResponse(failing, { error: { code: 'UNAVAILABLE', message: 'database unreachable' } });
      const appliedAt = new Date().toISOString();
      const results = body.operations.map((op) => {
        const refusal = rule?.(op);
        return refusal
          ? { id: op.id, success: false, error: { ...refusal, retryable: false } }
          : { id: op.id, success: true, appliedAt };
      });
      return jsonResponse(200, { batchId: body.batchId, results });
    }) as typeof fetch,
  };
  return fake;
}
