// Property-based input to dataService: every call either writes its rows and exactly one
// op per record, or throws a DataServiceError with a code and leaves the database unchanged.
import fc from 'fast-check';
import { DataServiceError } from '../../src/service/dataService.ts';
import { validatePayload } from '../../supabase/functions/_shared/protocol.ts';
import { dump, serviceFor, useFreshDb } from '../db/fixtures.ts';

const fresh = useFreshDb();

const hostile = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('', '   ', '\u0000', 'John\u00003:16', "'; drop table x; --", 'x'.repeat(10_001), '\uD800', '😀'.repeat(60)),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 2 }),
);

type Call = { method: string; args: unknown[] };
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(hostile, fc.option(hostile, { nil: undefined })).map(([r, t]) => ({ method: 'addVerseCard', args: [r, t] })),
  fc.array(fc.record({ reference: hostile, customText: fc.option(hostile, { nil: undefined }) }), { maxLength: 4 }).map((cards) => ({ method: 'addVerseCards', args: [cards] })),
  fc.tuple(fc.oneof(hostile, fc.constant('<card>')), hostile).map(([id, c]) => ({ method: 'recordReview', args: [id, c] })),
  fc.tuple(fc.oneof(hostile, fc.constant('<card>')), hostile).map(([id, a]) => ({ method: 'createAlias', args: [id, a] })),
  fc.oneof(hostile, fc.constant('<card>')).map((id) => ({ method: 'deleteVerse', args: [id] })),
  fc.oneof(hostile, fc.record({ displayName: fc.option(hostile, { nil: undefined }), dailyGoal: fc.option(fc.oneof(hostile, fc.integer({ min: -5, max: 2000 })), { nil: undefined }), translation: fc.option(hostile, { nil: undefined }) }, { requiredKeys: [] })).map((patch) => ({ method: 'updateProfile', args: [patch] })),
);

test('hostile input: a coded refusal that writes nothing, or a write with its op', async () => {
  const outcomes = { written: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 6 }), async (calls) => {
      const db = fresh();
      await db.delete();
      await db.open();
      const { service } = serviceFor(db);
      const card = await service.addVerseCard('Genesis 1:1');
      for (const { method, args } of calls) {
        const resolved = args.map((a) => (a === '<card>' ? card.id : a));
        const before = await dump(db);
        try {
          await (service as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...resolved);
          const after = await dump(db);
          // One op per record written, each one the server's schema accepts.
          const records = method === 'addVerseCards' ? (resolved[0] as unknown[]).length : 1;
          expect(after.syncOperations.length).toBe(before.syncOperations.length + records);
          const known = new Set(before.syncOperations.map((op) => op.id));
          for (const op of after.syncOperations.filter((o) => !known.has(o.id))) {
            expect(validatePayload(op.type, op.payload)).toMatchObject({ ok: true });
          }
          outcomes.written++;
        } catch (error) {
          expect(error).toBeInstanceOf(DataServiceError);
          expect(['INVALID_INPUT', 'UNKNOWN_REFERENCE', 'CARD_NOT_FOUND', 'CARD_DELETED']).toContain((error as DataServiceError).code);
          expect((error as Error).message.length).toBeGreaterThan(0);
          expect(await dump(db)).toEqual(before);
          outcomes.refused++;
        }
      }
    }),
    { numRuns: 80 },
  );
  console.log(`dataService fuzz: ${JSON.stringify(outcomes)}`);
  expect(outcomes.written).toBeGreaterThan(0);
  expect(outcomes.refused).toBeGreaterThan(0);
});
