// Server faults on demand for the local stack: the next N batch requests to the function
// fail with 500, are rate-limited with 429, or are answered slowly. Counts every request too.
import type { WebHandler } from '../stack/http.ts';

export type Fate = 'error500' | 'rateLimit429' | 'slow';
export const FATES: readonly Fate[] = ['error500', 'rateLimit429', 'slow'];

export type FaultPlan = { fate: Fate; remaining: number; delayMs: number };

export type FunctionStats = {
  /** POSTs (batches) that reached the function wrapper, faulted or not. */
  batchRequests: number;
  /** Other requests (the latency probe's GETs). */
  otherRequests: number;
  /** Batch requests being answered right now. */
  inFlight: number;
  faultsInjected: number;
  /** Fates still waiting for a request, in order. */
  queued: FaultPlan[];
};

export type FaultInjector = {
  /** Wraps the function handler (startStack's `wrapFunction`). */
  wrap(handler: WebHandler): WebHandler;
  /** The next `count` batch requests meet `fate` (after those already queued). */
  inject(fate: Fate, count: number, delayMs?: number): void;
  clear(): void;
  stats(): FunctionStats;
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/** A fault injector; only batch POSTs are faulted, so latency probes keep measuring the real thing. */
export function createFaultInjector(): FaultInjector {
  const queued: FaultPlan[] = [];
  const counters = { batchRequests: 0, otherRequests: 0, inFlight: 0, faultsInjected: 0 };

  function takeFate(): FaultPlan | undefined {
    const plan = queued[0];
    if (!plan) return undefined;
    plan.remaining -= 1;
    if (plan.remaining <= 0) queued.shift();
    counters.faultsInjected += 1;
    return { ...plan };
  }

  return {
    wrap: (handler) => async (req) => {
      if (req.method !== 'POST') {
        counters.otherRequests += 1;
        return handler(req);
      }
      counters.batchRequests += 1;
      counters.inFlight += 1;
      try {
        const plan = takeFate();
        if (plan?.fate === 'error500') return json(500, { error: { code: 'INJECTED_FAULT', message: 'injected fault: HTTP 500 from the dev panel' } });
        if (plan?.fate === 'rateLimit429') {
          return json(429, { error: { code: 'RATE_LIMITED', message: 'injected fault: HTTP 429 from the dev panel' } }, { 'Retry-After': '2' });
        }
        if (plan?.fate === 'slow') {
          // Read the body first: the batch reaches the database even if the page goes away meanwhile.
          const body = await req.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, plan.delayMs));
          return handler(new Request(req.url, { method: req.method, headers: req.headers, body }));
        }
        return await handler(req);
      } finally {
        counters.inFlight -= 1;
      }
    },
    inject(fate, count, delayMs = 3_000) {
      if (!FATES.includes(fate)) throw new Error(`unknown fate ${String(fate)}; use one of ${FATES.join(', ')}`);
      if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error('count must be a whole number from 1 to 1000');
      queued.push({ fate, remaining: count, delayMs: Math.min(Math.max(0, delayMs), 60_000) });
    },
    clear() {
      queued.splice(0);
    },
    stats: () => ({ ...counters, queued: queued.map((p) => ({ ...p })) }),
  };
}
