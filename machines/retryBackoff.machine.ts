// One wait before a retry: exponential backoff with full jitter, or the server's Retry-After.
// The machine draws the wait itself (randomness comes through the provided 'draw delay' action);
// its parent reads the drawn wait from its snapshot to publish when the retry is due.
import { assign, setup } from 'xstate';

export type RetryBackoffInput = {
  /** Failed requests in a row so far, 0-based: the wait grows with it up to `maxAttempts`, then stays. */
  attempt: number;
  baseMs?: number;
  capMs?: number;
  maxAttempts?: number;
  /** The server's Retry-After: a floor under the wait, spread by jitter (see backoffDelay). */
  retryAfterMs?: number;
  /** A 429 with Retry-After: wait what the server asked (spread), not the larger of it and the backoff. */
  retryAfterOnly?: boolean;
};

export type RetryBackoffContext = {
  attempt: number;
  baseMs: number;
  capMs: number;
  maxAttempts: number;
  retryAfterMs: number | null;
  retryAfterOnly: boolean;
  /** The wait drawn on entry; null only before the draw. */
  delayMs: number | null;
};

export type RetryBackoffEvent =
  | { type: 'retry.now' }
  /** Wait `delayMs` from now instead (a restored snapshot holds no timer: the parent re-arms it). */
  | { type: 'retry.rearm'; delayMs: number };

export type RetryBackoffOutput = { attempt: number; delayMs: number };

export const RETRY_BACKOFF_DEFAULTS = { baseMs: 1_000, capMs: 60_000, maxAttempts: 10 } as const;

/** After a Retry-After, the retry lands somewhere in the next half of that wait. */
export const RETRY_AFTER_SPREAD = 0.5;

export type BackoffDraw = {
  attempt: number;
  baseMs?: number;
  capMs?: number;
  retryAfterMs?: number;
  random?: () => number;
};

/**
 * Full jitter (AWS architecture blog): a uniform draw in [0, min(cap, base·2^attempt)); after a
 * Retry-After, that wait plus a uniform draw in [0, RETRY_AFTER_SPREAD × it).
 */
export function backoffDelay(input: BackoffDraw): number {
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

/**
 * The wait for one retry. Past maxAttempts it stops growing but never ends: giving up on a change
 * is the outbox's call (each op's retryCount/maxRetries), never the timer's.
 */
export function retryDelay(context: Omit<RetryBackoffContext, 'delayMs'>, random: () => number): number {
  const draw = { attempt: Math.min(Math.max(0, context.attempt), context.maxAttempts - 1), baseMs: context.baseMs, capMs: context.capMs, random };
  if (context.retryAfterMs === null) return backoffDelay(draw);
  // Retry-After (429, or a 503 from a function whose database is away) is a floor under the backoff.
  if (context.retryAfterOnly) return backoffDelay({ ...draw, retryAfterMs: context.retryAfterMs });
  const backoff = backoffDelay(draw);
  return Math.max(backoff, backoffDelay({ ...draw, retryAfterMs: context.retryAfterMs }));
}

const retryBackoffSetup = setup({
  types: {
    context: {} as RetryBackoffContext,
    events: {} as RetryBackoffEvent,
    input: {} as RetryBackoffInput,
    output: {} as RetryBackoffOutput,
    tags: {} as 'error',
  },
  delays: {
    backoff: ({ context }) => context.delayMs ?? 0,
  },
});

/** The 'draw delay' action with a given source of randomness (`machine.provide(retryBackoffRandomness(random))`). */
export const retryBackoffRandomness = (random: () => number) => ({
  actions: {
    'draw delay': retryBackoffSetup.createAction(assign({ delayMs: ({ context }) => retryDelay(context, random) })),
  },
});

export const retryBackoffMachine = retryBackoffSetup
  .extend({
    actions: {
      ...retryBackoffRandomness(Math.random).actions,
      'wait from now': retryBackoffSetup.createAction(
        assign({ delayMs: ({ event }) => (event.type === 'retry.rearm' ? Math.max(0, event.delayMs) : null) }),
      ),
    },
  })
  .createMachine({
    id: 'retryBackoff',
    context: ({ input }) => ({
      attempt: Math.max(0, input.attempt),
      baseMs: input.baseMs ?? RETRY_BACKOFF_DEFAULTS.baseMs,
      capMs: input.capMs ?? RETRY_BACKOFF_DEFAULTS.capMs,
      maxAttempts: Math.max(1, input.maxAttempts ?? RETRY_BACKOFF_DEFAULTS.maxAttempts),
      retryAfterMs: input.retryAfterMs ?? null,
      retryAfterOnly: input.retryAfterOnly ?? false,
      delayMs: null,
    }),
    // Drawn once, on start, so a persisted snapshot resumes the same wait.
    entry: 'draw delay',
    initial: 'waiting',
    states: {
      waiting: {
        description: 'The drawn wait runs; the retry is due when it ends, or at once on retry.now.',
        tags: 'error',
        after: { backoff: 'due' },
        on: {
          'retry.now': 'due',
          'retry.rearm': { target: 'waiting', reenter: true, actions: 'wait from now' },
        },
      },
      due: { type: 'final', description: 'The wait is over: the parent sends again.' },
    },
    output: ({ context }) => ({ attempt: context.attempt, delayMs: context.delayMs ?? 0 }),
  });
