// One wait before a retry: exponential backoff with full jitter, or the server's Retry-After.
import { assign, setup } from 'xstate';

export type RetryBackoffInput = {
  /** 0-based number of failures so far. */
  attempt: number;
  baseMs?: number;
  capMs?: number;
  maxAttempts?: number;
  /** The server's Retry-After: a floor, spread by jitter (see backoffDelay). */
  retryAfterMs?: number;
  /** A wait already drawn (the queue draws it to publish nextRetryAt): waited exactly. */
  delayMs?: number;
  random?: () => number;
};

export type RetryBackoffContext = {
  attempt: number;
  baseMs: number;
  capMs: number;
  maxAttempts: number;
  delayMs: number;
};

export type RetryBackoffEvent =
  | { type: 'retry.now' }
  /** Wait `delayMs` from now instead (a restored snapshot holds no timer: the queue re-arms it). */
  | { type: 'retry.rearm'; delayMs: number };

export type RetryBackoffOutput = { attempt: number; delayMs: number; exhausted: boolean };

export const RETRY_BACKOFF_DEFAULTS = { baseMs: 1_000, capMs: 60_000, maxAttempts: 10 } as const;

/** After a Retry-After, the retry lands somewhere in the next half of that wait. */
export const RETRY_AFTER_SPREAD = 0.5;

/**
 * Full jitter (AWS architecture blog): a uniform draw in [0, min(cap, base·2^attempt)); after a
 * Retry-After, that wait plus a uniform draw in [0, RETRY_AFTER_SPREAD × it).
 */
export function backoffDelay(input: RetryBackoffInput): number {
  const random = input.random ?? Math.random;
  if (input.retryAfterMs !== undefined) {
    // Never before the server asked, and not all at once: every client told "Retry-After: 2"
    // by one overloaded server would otherwise come back in the same instant.
    const after = Math.max(0, Math.ceil(input.retryAfterMs));
    return after + Math.floor(random() * after * RETRY_AFTER_SPREAD);
  }
  const baseMs = input.baseMs ?? RETRY_BACKOFF_DEFAULTS.baseMs;
  const capMs = input.capMs ?? RETRY_BACKOFF_DEFAULTS.capMs;
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
      delayMs: exhausted ? 0 : input.delayMs !== undefined ? Math.max(0, input.delayMs) : backoffDelay(input),
    };
  },
  initial: 'waiting',
  states: {
    waiting: {
      tags: 'error',
      always: { guard: 'isExhausted', target: 'exhausted' },
      after: { backoff: 'due' },
      on: {
        'retry.now': 'due',
        'retry.rearm': {
          target: 'waiting',
          reenter: true,
          actions: assign({ delayMs: ({ event }) => Math.max(0, event.delayMs) }),
        },
      },
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
