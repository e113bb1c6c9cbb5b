// The wire contract between the client and the verse-operations function.
// One module, imported by both sides, so they can never disagree on a field.
import { z } from 'zod';

/** Hard bounds of one request; the client never builds a batch past them. */
export const LIMITS = {
  maxOperations: 1000,
  maxBodyBytes: 1024 * 1024,
  maxReferenceLength: 200,
  maxTextLength: 10_000,
  maxAliasLength: 200,
  maxDisplayNameLength: 100,
  maxTranslationLength: 20,
} as const;

export const OPERATION_TYPES = [
  'CREATE_VERSE',
  'RECORD_REVIEW',
  'UPDATE_PROFILE',
  'CREATE_ALIAS',
  'DELETE_VERSE',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** How far ahead of the server's clock a profile's updatedAt may be (last writer wins by it). */
export const MAX_CLOCK_AHEAD_MS = 24 * 60 * 60 * 1000;

// A UTF-16 surrogate not in a pair: Postgres jsonb and text refuse it (as they refuse U+0000).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as Postgres text, or undefined when it can. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must not contain unpaired surrogate characters (broken Unicode)';
  return undefined;
}

/**
 * Trimming as both sides do it: JavaScript's trim and \s (every Unicode space, NBSP included),
 * so the payload the server stores is already trimmed and SQL's btrim changes nothing.
 */
export const normalizeReference = (value: string) => value.trim().replace(/\s+/g, ' ');

const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((s, ctx) => {
      const problem = textProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
const requiredText = (max: number, normalize: (s: string) => string = (s) => s.trim()) =>
  text(max)
    .transform(normalize)
    .refine((s) => s.length > 0, 'must not be empty');
const uuid = z.uuid({ message: 'must be a UUID' });
const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });
const notFarAhead = isoDate.refine(
  (s) => Date.parse(s) <= Date.now() + MAX_CLOCK_AHEAD_MS,
  'must not be more than a day ahead of the server clock; check the device clock',
);

// z.compile: a generated fast path for input that passes (about 5× less CPU per op than the
// runtime parser); input it refuses goes through the runtime parser, so every error is zod's own.
export const payloadSchemas = {
  CREATE_VERSE: z.compile(z.object({
    verseCardId: uuid,
    reference: requiredText(LIMITS.maxReferenceLength, normalizeReference),
    customText: text(LIMITS.maxTextLength).optional(),
    translation: requiredText(LIMITS.maxTranslationLength).optional(),
  })),
  RECORD_REVIEW: z.compile(z.object({
    reviewId: uuid,
    verseCardId: uuid,
    correct: z.boolean(),
    reviewDate: isoDate,
  })),
  UPDATE_PROFILE: z.compile(z
    .object({
      displayName: text(LIMITS.maxDisplayNameLength).optional(),
      translation: requiredText(LIMITS.maxTranslationLength).optional(),
      dailyGoal: z.number().int().min(1).max(1000).optional(),
      updatedAt: notFarAhead,
    })
    .refine(
      (p) => p.displayName !== undefined || p.translation !== undefined || p.dailyGoal !== undefined,
      'must change at least one of displayName, translation, dailyGoal',
    )),
  CREATE_ALIAS: z.compile(z.object({
    aliasId: uuid,
    verseCardId: uuid,
    alias: requiredText(LIMITS.maxAliasLength),
  })),
  DELETE_VERSE: z.compile(z.object({ verseCardId: uuid })),
} satisfies Record<OperationType, z.ZodType>;

export type OperationPayloads = { [T in OperationType]: z.infer<(typeof payloadSchemas)[T]> };

/** One operation as it travels in `apply_batch`. */
export type WireOperation<T extends OperationType = OperationType> = {
  id: string;
  seq: number;
  type: T;
  payload: OperationPayloads[T];
  localRecordId?: string;
};

const wireOperationEnvelope = z.object({
  id: uuid,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(64),
  payload: z.unknown(),
  // Checked per op by the function (textProblem), so one bad id fails its op, not the batch.
  localRecordId: z.string().max(200).optional(),
});

export const applyBatchRequestSchema = z.compile(
  z.object({
    action: z.literal('apply_batch'),
    batchId: uuid,
    operations: z.array(wireOperationEnvelope).min(1, 'must hold at least one operation'),
  }),
);

/** The seed's per-type actions; each maps to one operation type. */
export const LEGACY_ACTIONS = {
  batch_create_verses: 'CREATE_VERSE',
  batch_record_reviews: 'RECORD_REVIEW',
  batch_update_profiles: 'UPDATE_PROFILE',
  batch_create_aliases: 'CREATE_ALIAS',
  batch_delete_verses: 'DELETE_VERSE',
} as const satisfies Record<string, OperationType>;
export type LegacyAction = keyof typeof LEGACY_ACTIONS;

// In the seed's shape the payload fields sit beside id and localRecordId.
export const legacyRequestSchema = z.object({
  action: z.enum(Object.keys(LEGACY_ACTIONS) as [LegacyAction, ...LegacyAction[]]),
  batchId: uuid.optional(),
  operations: z
    .array(z.looseObject({ id: uuid, localRecordId: z.string().max(200).optional() }))
    .min(1, 'must hold at least one operation'),
});

export type OperationError = { code: string; message: string; retryable: boolean };
/** The catalogue verse a CREATE_VERSE landed on: the ESV's canonical reference and its text, or pending. */
export type VerseText = { reference: string; text?: string; textPending?: boolean };
/** ESV text that arrived later for a card created earlier (pending, or evicted and fetched again). */
export type FilledVerse = { verseCardId: string; reference: string; text: string };

export type OperationResult = {
  id: string;
  success: boolean;
  remoteId?: string;
  appliedAt?: string;
  error?: OperationError;
  /** CREATE_VERSE in the ESV translation without customText: the verse's text or `textPending`. */
  verse?: VerseText;
  /** On one result of a batch: texts the ESV gave since for the caller's earlier cards. */
  filledVerses?: FilledVerse[];
  /** UPDATE_PROFILE older than the server's profile (newest updatedAt wins): nothing was written. */
  superseded?: boolean;
  /** With `superseded`: the profile the server keeps, for the device to take. */
  profile?: ServerProfile;
};
/** A user's profile as the server holds it. */
export type ServerProfile = { displayName?: string; translation?: string; dailyGoal?: number; updatedAt: string };
export type ApplyBatchResponse = { batchId: string; results: OperationResult[] };
export type RequestErrorBody = { error: { code: string; message: string } };

/** Request-level error codes, one per HTTP answer the function can give. */
export const REQUEST_ERRORS = {
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  UNKNOWN_ACTION: 400,
  DUPLICATE_OPERATION_ID: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOKEN_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  SERVER_ERROR: 500,
  UNAVAILABLE: 503,
} as const;
export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

/** Turns zod issues into one line a person can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

/** Validates one operation's payload for its type; returns the cleaned payload or an error. */
export function validatePayload(
  type: string,
  payload: unknown,
): { ok: true; payload: OperationPayloads[OperationType] } | { ok: false; error: OperationError } {
  if (!(OPERATION_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      error: { code: 'UNKNOWN_TYPE', message: `unknown operation type '${String(type).slice(0, 64)}'`, retryable: false },
    };
  }
  const parsed = payloadSchemas[type as OperationType].safeParse(payload);
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: `${type}: ${describeIssues(parsed.error)}`, retryable: false },
    };
  }
  return { ok: true, payload: parsed.data };
}
