// One wait before a retry: exponential backoff with full jitter, or the server's Retry-After.
import { setup } from 'xstate';

export type RetryBackoffInput = {
  /** 0-based number of failures so far. */
  attempt: number;
  baseMs?: number;
  capMs?: number;
  maxAttempts?: number;
  /** The server's Retry-After, honoured as is instead of the jittered delay. */
  retryAfterMs?: number;
  random?: () => number;
};

export type RetryBackoffContext = {
  attempt: number;
  baseMs: number;
  capMs: number;
  maxAttempts: number;
  delayMs: number;
};

export type RetryBackoffEvent = { type: 'retry.now' };

export type RetryBackoffOutput = { attempt: number; delayMs: number; exhausted: boolean };

export const RETRY_BACKOFF_DEFAULTS = { baseMs: 1_000, capMs: 60_000, maxAttempts: 10 } as const;

/** Full jitter (AWS architecture blog): a uniform draw in [0, min(cap, base·2^attempt)). */
export function backoffDelay(input: RetryBackoffInput): number {
  if (input.retryAfterMs !== undefined) return Math.max(0, Math.ceil(input.retryAfterMs));
  const baseMs = input.baseMs ?? RETRY_BACKOFF_DEFAULTS.baseMs;
  const capMs = input.capMs ?? RETRY_BACKOFF_DEFAULTS.capMs;
  const random = input.random ?? Math.random;
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, input.attempt));
  return Math.floor(random() * ceiling);
}

export const retryBackoffMachine = setup({
  types: {
    context: {} as RetryBackoffContext,
    events: {} as RetryBackoffEvent,
    input: {} as RetryBackoffInput,
    output: {} as RetryBackoffOutput,
    tags: {} as 'error',
  },
  guards: {
    isExhausted: ({ context }) => context.attempt >= context.maxAttempts,
  },
  delays: {
    backoff: ({ context }) => context.delayMs,
  },
}).createMachine({
  id: 'retryBackoff',
  context: ({ input }) => {
    const maxAttempts = input.maxAttempts ?? RETRY_BACKOFF_DEFAULTS.maxAttempts;
    const exhausted = input.attempt >= maxAttempts;
    return {
      attempt: input.attempt,
      baseMs: input.baseMs ?? RETRY_BACKOFF_DEFAULTS.baseMs,
      capMs: input.capMs ?? RETRY_BACKOFF_DEFAULTS.capMs,
      maxAttempts,
      // Drawn once, so a persisted snapshot resumes the same wait.
      delayMs: exhausted ? 0 : backoffDelay(input),
    };
  },
  initial: 'waiting',
  states: {
    waiting: {
      tags: 'error',
      always: { guard: 'isExhausted', target: 'exhausted' },
      after: { backoff: 'due' },
      on: { 'retry.now': 'due' },
    },
    due: { type: 'final' },
    exhausted: { type: 'final' },
  },
  output: ({ context }) => ({
    attempt: context.attempt,
    delayMs: context.delayMs,
    exhausted: context.attempt >= context.maxAttempts,
  }),
});
