// Property-based attacks on the function's body: random and near-valid batches.
// Whatever arrives, the answer is a coded 4xx or per-op errors, never a 500, and
// nothing is written for what was refused.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { LIMITS, OPERATION_TYPES, textProblem } from '../../supabase/functions/_shared/protocol.ts';
import { postRaw, useStack } from '../helpers/stack.ts';

const stack = useStack();

const REQUEST_CODES = new Set(['INVALID_JSON', 'INVALID_BODY', 'UNKNOWN_ACTION', 'DUPLICATE_OPERATION_ID', 'PAYLOAD_TOO_LARGE']);

async function ledgerOf(userId: string): Promise<string[]> {
  const rows = await stack().sql`select op_id from sync_ledger where user_id = ${userId}`;
  return rows.map((r) => r.op_id as string).sort();
}

// What the generators reached, so a property that only ever saw 400s cannot pass unnoticed.
const seen = { requestErrors: 0, applied: 0, opErrors: 0 };

/** Sends `body` as a fresh user and checks the answer's contract and what was written. */
async function check(body: string) {
  const userId = randomUUID();
  const token = await stack().tokenFor(userId);
  const res = await postRaw(stack(), body, { Authorization: `Bearer ${token}` });
  expect(res.status).not.toBeGreaterThanOrEqual(500);
  const written = await ledgerOf(userId);
  if (res.status !== 200) {
    expect([400, 413]).toContain(res.status);
    expect(REQUEST_CODES.has(res.json?.error?.code)).toBe(true);
    expect(typeof res.json.error.message).toBe('string');
    expect(written).toEqual([]);
    seen.requestErrors++;
    return;
  }
  const results = res.json.results as Array<{ id: string; success: boolean; error?: { code: string; message: string; retryable: boolean } }>;
  for (const r of results) {
    expect(typeof r.id).toBe('string');
    if (r.success) seen.applied++;
    else seen.opErrors++;
    if (!r.success) expect(r.error).toEqual({ code: expect.any(String), message: expect.any(String), retryable: expect.any(Boolean) });
  }
  // Exactly the operations that succeeded are in the ledger: a refused op wrote nothing.
  expect(written).toEqual(results.filter((r) => r.success).map((r) => r.id.toLowerCase()).sort());
  return results;
}

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', "'; drop table verse_cards; --", '$$', '\\', '\uD800', '😀'.repeat(100), 'x'.repeat(LIMITS.maxTextLength + 1)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
  fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'not a date' : d.toISOString())),
);
// Deeply nested junk.
const deep = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, nasty, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 3 })),
})).node;

const fieldNames = ['verseCardId', 'reference', 'customText', 'translation', 'reviewId', 'correct', 'reviewDate', 'displayName', 'dailyGoal', 'updatedAt', 'aliasId', 'alias', 'userId'];
const payload = fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(nasty, deep), { maxKeys: 6 });

// Operations that are nearly right: real types and field names, wrong or hostile values.
const nearOp = fc.record({
  id: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: nasty }),
  seq: fc.oneof({ weight: 8, arbitrary: fc.nat(1_000_000) }, { weight: 1, arbitrary: nasty }),
  type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...OPERATION_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 70 }) }),
  payload: fc.oneof({ weight: 8, arbitrary: payload }, { weight: 1, arbitrary: deep }),
});
// Valid operations mixed in, so a bad op is seen failing alone while its neighbours apply.
const validOp = fc.oneof(
  fc.record({ id: fc.uuid(), seq: fc.nat(1_000_000), type: fc.constant('CREATE_VERSE'), payload: fc.record({ verseCardId: fc.uuid(), reference: fc.constantFrom('John 1:1', 'Ruth 1:16', 'Psalm 23:1') }) }),
  fc.record({ id: fc.uuid(), seq: fc.nat(1_000_000), type: fc.constant('UPDATE_PROFILE'), payload: fc.record({ dailyGoal: fc.integer({ min: 1, max: 1000 }), updatedAt: fc.constant('2026-01-01T00:00:00.000Z') }) }),
);
const nearBatch = fc.record({
  action: fc.oneof({ weight: 8, arbitrary: fc.constant('apply_batch') }, { weight: 1, arbitrary: fc.constantFrom('batch_create_verses', 'batch_record_reviews', 'nope') }),
  batchId: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: nasty }),
  operations: fc.oneof({ weight: 8, arbitrary: fc.array(fc.oneof(nearOp, validOp), { minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: deep }),
});

test('random JSON bodies get a coded 4xx and write nothing', async () => {
  await fc.assert(fc.asyncProperty(fc.jsonValue(), async (value) => { await check(JSON.stringify(value)); }), { numRuns: 120 });
});

test('random bytes get a coded 4xx and write nothing', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => { await check(Buffer.from(bytes).toString('latin1')); }),
    { numRuns: 60 },
  );
});

test('near-valid batches: per-op errors or a coded 4xx, never a 500, refused ops write nothing', async () => {
  const before = { ...seen };
  await fc.assert(fc.asyncProperty(nearBatch, async (body) => { await check(JSON.stringify(body)); }), { numRuns: 250 });
  console.log(`near-valid fuzz: ${JSON.stringify({ requestErrors: seen.requestErrors - before.requestErrors, opErrors: seen.opErrors - before.opErrors, applied: seen.applied - before.applied })}`);
  expect(seen.requestErrors).toBeGreaterThan(before.requestErrors);
  expect(seen.opErrors).toBeGreaterThan(before.opErrors);
  expect(seen.applied).toBeGreaterThan(before.applied);
});

test('duplicate ids and shuffled seqs in otherwise valid batches', async () => {
  const createOp = fc.uuid().map((card) => ({ id: randomUUID(), type: 'CREATE_VERSE', payload: { verseCardId: card, reference: 'John 1:1' } }));
  await fc.assert(
    fc.asyncProperty(fc.array(createOp, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(20), { minLength: 8, maxLength: 8 }), fc.boolean(), async (ops, seqs, duplicate) => {
      const operations = ops.map((op, i) => ({ ...op, seq: seqs[i] }));
      if (duplicate) operations.push({ ...operations[0], seq: 99 });
      await check(JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations }));
    }),
    { numRuns: 60 },
  );
  expect(seen.applied).toBeGreaterThan(0);
});

// Any Unicode at all, lone surrogates and NUL included, in every text field of every op type.
const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 10 }), fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\u0000', '\u00A0', '\uFEFF', '\u2028', '\u0085'), fc.string({ maxLength: 10 }))
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: fc.constantFrom('John 3:16', ' Ruth 1:16\u00A0', 'ESV', 'Priscilla') },
);

test('arbitrary Unicode in every text field: never a 5xx, every op answered on its own', async () => {
  let refusedForText = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        reference: anyText, customText: fc.option(anyText, { nil: undefined }), translation: fc.option(anyText, { nil: undefined }),
        alias: anyText, displayName: anyText, profileTranslation: fc.option(anyText, { nil: undefined }),
        localRecordIds: fc.array(fc.option(anyText, { nil: undefined }), { minLength: 5, maxLength: 5 }),
      }),
      async (f) => {
        const card = randomUUID();
        const now = new Date().toISOString();
        const ops = [
          { type: 'CREATE_VERSE', payload: { verseCardId: card, reference: f.reference, customText: f.customText, translation: f.translation } },
          { type: 'CREATE_ALIAS', payload: { aliasId: randomUUID(), verseCardId: card, alias: f.alias } },
          { type: 'RECORD_REVIEW', payload: { reviewId: randomUUID(), verseCardId: card, correct: true, reviewDate: now } },
          { type: 'UPDATE_PROFILE', payload: { displayName: f.displayName, translation: f.profileTranslation, updatedAt: now } },
          { type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'Psalm 23:1' } },
        ].map((op, i) => ({ id: randomUUID(), seq: i + 1, ...op, ...(f.localRecordIds[i] === undefined ? {} : { localRecordId: f.localRecordIds[i] }) }));
        const results = await check(JSON.stringify({ action: 'apply_batch', batchId: randomUUID(), operations: ops }));
        expect(results?.map((r) => r.id)).toEqual(ops.map((o) => o.id));
        ops.forEach((op, i) => {
          const texts = [...Object.values(op.payload), op.localRecordId].filter((v): v is string => typeof v === 'string');
          if (texts.some((t) => textProblem(t) !== undefined)) {
            refusedForText++;
            expect(results![i]).toMatchObject({ success: false, error: { code: 'VALIDATION_FAILED', retryable: false } });
          }
        });
        // The innocent op beside them always applies (unless its own localRecordId is broken).
        if (f.localRecordIds[4] === undefined || textProblem(f.localRecordIds[4]) === undefined) expect(results![4].success).toBe(true);
      },
    ),
    { numRuns: 150 },
  );
  expect(refusedForText).toBeGreaterThan(0);
});
