// Bad input and attacks on the function: each gets a coded answer, never a 500, and writes nothing.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { LIMITS } from '../../supabase/functions/_shared/protocol.ts';
import { batch, op } from '../helpers/ops.ts';
import { postRaw, signIn, useStack } from '../helpers/stack.ts';

const stack = useStack();

async function ledgerCount(): Promise<number> {
  const [{ n }] = await stack().sql`select count(*)::int as n from sync_ledger`;
  return n;
}

async function asUser(userId = randomUUID()) {
  const token = await stack().tokenFor(userId);
  return { userId, headers: { Authorization: `Bearer ${token}` } };
}

/** Sends a body and expects a request-level error with this status and code, and no write at all. */
async function expectRefused(body: BodyInit, status: number, code: string, headers?: Record<string, string>) {
  const before = await ledgerCount();
  const res = await postRaw(stack(), body, headers ?? (await asUser()).headers);
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  expect(typeof res.json.error.message).toBe('string');
  expect(await ledgerCount()).toBe(before);
  return res;
}

describe('malformed requests', () => {
  test('malformed JSON → 400 INVALID_JSON', async () => {
    await expectRefused('{"action": "apply_batch", ', 400, 'INVALID_JSON');
  });

  test('invalid UTF-8 → 400 INVALID_JSON', async () => {
    await expectRefused(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 400, 'INVALID_JSON');
  });

  test.each([
    ['an array body', '[]'],
    ['a string body', '"apply_batch"'],
    ['null', 'null'],
    ['no action', JSON.stringify({ operations: [] })],
  ])('%s → 400 INVALID_BODY', async (_name, body) => {
    await expectRefused(body, 400, 'INVALID_BODY');
  });

  test('unknown action → 400 UNKNOWN_ACTION', async () => {
    await expectRefused(JSON.stringify({ action: 'drop_tables', operations: [] }), 400, 'UNKNOWN_ACTION');
  });

  test.each([
    ['missing batchId', { action: 'apply_batch', operations: [op.profile({ dailyGoal: 3 })] }],
    ['batchId not a UUID', { action: 'apply_batch', batchId: "1'; drop table verses; --", operations: [op.profile({ dailyGoal: 3 })] }],
    ['empty operations', batch([])],
    ['operations not an array', { action: 'apply_batch', batchId: randomUUID(), operations: {} }],
    ['op id not a UUID', batch([{ ...op.profile({ dailyGoal: 3 }), id: 'op-1' }])],
    ['seq negative', batch([{ ...op.profile({ dailyGoal: 3 }), seq: -1 }])],
    ['seq a string', batch([{ ...op.profile({ dailyGoal: 3 }), seq: '1' }])],
  ])('%s → 400 INVALID_BODY', async (_name, body) => {
    await expectRefused(JSON.stringify(body), 400, 'INVALID_BODY');
  });

  test('duplicate op ids in one batch → 400 DUPLICATE_OPERATION_ID', async () => {
    const one = op.profile({ dailyGoal: 3 });
    await expectRefused(JSON.stringify(batch([one, { ...one, seq: one.seq + 1 }])), 400, 'DUPLICATE_OPERATION_ID');
  });

  test('more operations than the limit → 413', async () => {
    const ops = Array.from({ length: LIMITS.maxOperations + 1 }, () => op.profile({ dailyGoal: 1 }));
    await expectRefused(JSON.stringify(batch(ops)), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('a 10 MB body → 413 without reading it all', async () => {
    await expectRefused(JSON.stringify(batch([op.createVerse(randomUUID(), 'x', { customText: 'a'.repeat(10 * 1024 * 1024) })])), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('GET and HEAD (the latency probe) → 204 without auth, PUT → 405, OPTIONS → CORS preflight', async () => {
    const get = await fetch(stack().functionUrl);
    expect(get.status).toBe(204);
    expect((await fetch(stack().functionUrl, { method: 'HEAD' })).status).toBe(204);
    const put = await fetch(stack().functionUrl, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect((await put.json()).error.code).toBe('METHOD_NOT_ALLOWED');
    const preflight = await fetch(stack().functionUrl, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});

describe('per-operation validation: the bad op fails alone, the others apply', () => {
  const invalid: Array<[string, unknown]> = [
    ['unknown type', { id: randomUUID(), seq: 1, type: 'DROP_EVERYTHING', payload: {} }],
    ['missing reference', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID() } }],
    ['whitespace reference', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: '   ' } }],
    ['card id not a UUID', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: "x' or 1=1 --", reference: 'John 1:1' } }],
    ['correct as a string', { id: randomUUID(), seq: 1, type: 'RECORD_REVIEW', payload: { reviewId: randomUUID(), verseCardId: randomUUID(), correct: 'yes', reviewDate: new Date().toISOString() } }],
    ['reviewDate not a date', { id: randomUUID(), seq: 1, type: 'RECORD_REVIEW', payload: { reviewId: randomUUID(), verseCardId: randomUUID(), correct: true, reviewDate: 'yesterday' } }],
    ['dailyGoal out of range', { id: randomUUID(), seq: 1, type: 'UPDATE_PROFILE', payload: { dailyGoal: 1e9, updatedAt: new Date().toISOString() } }],
    ['profile patch with nothing', { id: randomUUID(), seq: 1, type: 'UPDATE_PROFILE', payload: { updatedAt: new Date().toISOString() } }],
    ['NUL byte in alias', { id: randomUUID(), seq: 1, type: 'CREATE_ALIAS', payload: { aliasId: randomUUID(), verseCardId: randomUUID(), alias: 'a\u0000b' } }],
    ['NUL byte in reference', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'John\u00003:16' } }],
    ['payload not an object', { id: randomUUID(), seq: 1, type: 'DELETE_VERSE', payload: 'everything' }],
    ['over-long custom text', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'John 1:1', customText: 'x'.repeat(LIMITS.maxTextLength + 1) } }],
    // Postgres refuses a lone surrogate in jsonb (22P05): each must be this op's error, not a 500.
    ['lone surrogate in reference', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'John 3:16\ud800' } }],
    ['lone surrogate in customText', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'John 1:1', customText: '\udc00 words' } }],
    ['lone surrogate in translation', { id: randomUUID(), seq: 1, type: 'CREATE_VERSE', payload: { verseCardId: randomUUID(), reference: 'John 1:1', translation: 'E\ud83dSV' } }],
    ['lone surrogate in alias', { id: randomUUID(), seq: 1, type: 'CREATE_ALIAS', payload: { aliasId: randomUUID(), verseCardId: randomUUID(), alias: 'love\ud800' } }],
    ['lone surrogate in displayName', { id: randomUUID(), seq: 1, type: 'UPDATE_PROFILE', payload: { displayName: '\ud800', updatedAt: new Date().toISOString() } }],
    ['lone surrogate in localRecordId', { id: randomUUID(), seq: 1, type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() }, localRecordId: 'card\udfff' }],
    ['NUL in localRecordId', { id: randomUUID(), seq: 1, type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() }, localRecordId: 'card\u0000' }],
    ['NUL in displayName', { id: randomUUID(), seq: 1, type: 'UPDATE_PROFILE', payload: { displayName: 'a\u0000', updatedAt: new Date().toISOString() } }],
    ['updatedAt far in the future', { id: randomUUID(), seq: 1, type: 'UPDATE_PROFILE', payload: { dailyGoal: 5, updatedAt: '9999-12-31T00:00:00Z' } }],
  ];

  test.each(invalid)('%s → its own coded error, no write', async (_name, bad) => {
    const { userId, headers } = await asUser();
    const good = op.profile({ displayName: 'Priscilla' });
    const res = await postRaw(stack(), JSON.stringify(batch([bad, good])), headers);
    expect(res.status).toBe(200);
    const [badResult, goodResult] = res.json.results;
    expect(badResult).toMatchObject({ id: (bad as { id: string }).id, success: false, error: { retryable: false } });
    expect(['UNKNOWN_TYPE', 'VALIDATION_FAILED']).toContain(badResult.error.code);
    expect(badResult.error.message.length).toBeGreaterThan(0);
    expect(goodResult).toMatchObject({ id: good.id, success: true });
    const rows = await stack().sql`select op_id from sync_ledger where user_id = ${userId}`;
    expect(rows.map((r) => r.op_id)).toEqual([good.id]);
  });

  test('a reference with a trailing no-break space lands on the same catalogue verse as without it', async () => {
    const user = await signIn(stack());
    const plain = op.createVerse(randomUUID(), 'Ruth 1:16');
    const spaced = op.createVerse(randomUUID(), '\u00a0Ruth\u00a01:16\u00a0\u2003');
    const res = await postRaw(stack(), JSON.stringify(batch([plain, spaced])), { Authorization: `Bearer ${user.token}` });
    expect(res.json.results.map((r: { success: boolean }) => r.success)).toEqual([true, true]);
    expect(res.json.results[1].remoteId).toBe(res.json.results[0].remoteId);
    const [{ reference }] = await stack().sql`select v.reference from verse_cards c join verses v on v.id = c.verse_id where c.id = ${spaced.payload.verseCardId}`;
    expect(reference).toBe('Ruth 1:16');
  });

  test('op ids differing only in letter case: one op, every op answered under the id it was sent with', async () => {
    const user = await signIn(stack());
    const headers = { Authorization: `Bearer ${user.token}` };
    const create = op.createVerse();
    const upper = { ...create, id: create.id.toUpperCase() };
    const first = await postRaw(stack(), JSON.stringify(batch([upper])), headers);
    expect(first.json.results).toEqual([expect.objectContaining({ id: upper.id, success: true })]);
    const resend = await postRaw(stack(), JSON.stringify(batch([create])), headers);
    expect(resend.json.results).toEqual([{ ...first.json.results[0], id: create.id }]);
    const both = await postRaw(stack(), JSON.stringify(batch([upper, { ...create, seq: create.seq + 1 }])), headers);
    expect({ status: both.status, code: both.json.error?.code }).toEqual({ status: 400, code: 'DUPLICATE_OPERATION_ID' });
    const [{ n }] = await stack().sql`select count(*)::int as n from sync_ledger where op_id = ${create.id}`;
    expect(n).toBe(1);
  });

  test('SQL-looking strings are stored as plain text', async () => {
    const user = await signIn(stack());
    const evil = "Robert'); drop table verse_cards; --";
    const create = op.createVerse(randomUUID(), evil, { customText: "' or '1'='1" });
    const res = await postRaw(stack(), JSON.stringify(batch([create, op.alias(create.payload.verseCardId, '$$; select pg_sleep(10); $$')])), { Authorization: `Bearer ${user.token}` });
    expect(res.json.results.map((r: { success: boolean }) => r.success)).toEqual([true, true]);
    const [card] = await stack().sql`select v.reference, c.custom_text from verse_cards c join verses v on v.id = c.verse_id where c.id = ${create.payload.verseCardId}`;
    expect(card).toEqual({ reference: evil, custom_text: "' or '1'='1" });
  });
});

describe('authentication', () => {
  const body = () => JSON.stringify(batch([op.profile({ displayName: 'Mallory' })]));
  const sign = (claims: Record<string, unknown>, secret: string, exp = Math.floor(Date.now() / 1000) + 600) =>
    new SignJWT({ role: 'authenticated', ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(secret));

  test('no token → 401', async () => {
    await expectRefused(body(), 401, 'UNAUTHORIZED', {});
  });

  test('a malformed Authorization header → 401', async () => {
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: 'Basic dXNlcjpwYXNz' });
  });

  test('expired token → 401 TOKEN_EXPIRED', async () => {
    const token = await stack().tokenFor(randomUUID(), { expiresIn: -60 });
    await expectRefused(body(), 401, 'TOKEN_EXPIRED', { Authorization: `Bearer ${token}` });
  });

  test('wrong-secret token → 401', async () => {
    const token = await sign({ sub: randomUUID() }, 'not-the-project-secret-not-the-project-secret');
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: `Bearer ${token}` });
  });

  test('alg "none" token → 401', async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: randomUUID(), role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: `Bearer ${token}` });
  });

  test('the anon key is not a user token → 401', async () => {
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: `Bearer ${stack().anonKey}` });
  });

  test.each([
    ['no aud', {}],
    ['a wrong aud', { aud: 'service' }],
    ['iat ten years ahead', { aud: 'authenticated', iat: Math.floor(Date.now() / 1000) + 10 * 365 * 24 * 3600 }],
  ])('a token with %s → 401', async (_name, claims) => {
    const token = await sign({ sub: randomUUID(), ...claims }, stack().jwtSecret);
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: `Bearer ${token}` });
  });

  test('a well-formed token with aud authenticated and a present iat is accepted', async () => {
    const token = await sign({ sub: randomUUID(), aud: 'authenticated', iat: Math.floor(Date.now() / 1000) }, stack().jwtSecret);
    const res = await postRaw(stack(), body(), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
  });

  // Larger header blocks than Node's parser takes are answered by the gateway (gateway.test.ts).
  test('a 12 KB token → 431 with a JSON body', async () => {
    const res = await postRaw(stack(), body(), { Authorization: `Bearer ${'a'.repeat(12 * 1024)}` });
    expect(res.status).toBe(431);
    expect(res.json.error.code).toBe('TOKEN_TOO_LARGE');
  });

  test('a token whose subject is not a user id → 401', async () => {
    const token = await sign({ sub: 'admin' }, stack().jwtSecret);
    await expectRefused(body(), 401, 'UNAUTHORIZED', { Authorization: `Bearer ${token}` });
  });
});

describe("another user's data", () => {
  test('review, alias and delete of another user\'s card are refused as CARD_NOT_FOUND and change nothing', async () => {
    const alice = await signIn(stack());
    const mallory = await signIn(stack());
    const create = op.createVerse();
    const cardId = create.payload.verseCardId;
    await postRaw(stack(), JSON.stringify(batch([create])), { Authorization: `Bearer ${alice.token}` });

    const attack = batch([op.review(cardId), op.alias(cardId, 'mine now'), op.deleteVerse(cardId)]);
    const res = await postRaw(stack(), JSON.stringify(attack), { Authorization: `Bearer ${mallory.token}` });
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { error?: { code: string } }) => r.error?.code)).toEqual(['CARD_NOT_FOUND', 'CARD_NOT_FOUND', 'CARD_NOT_FOUND']);
    const [card] = await stack().sql`select user_id, deleted_at, review_count from verse_cards where id = ${cardId}`;
    expect(card).toEqual({ user_id: alice.id, deleted_at: null, review_count: 0 });
    const [{ n }] = await stack().sql`select count(*)::int as n from verse_aliases where verse_card_id = ${cardId}`;
    expect(n).toBe(0);
  });

  test("creating a card with another user's card id is refused", async () => {
    const alice = await signIn(stack());
    const mallory = await signIn(stack());
    const create = op.createVerse();
    await postRaw(stack(), JSON.stringify(batch([create])), { Authorization: `Bearer ${alice.token}` });
    const res = await postRaw(stack(), JSON.stringify(batch([op.createVerse(create.payload.verseCardId, 'Jude 1:1')])), { Authorization: `Bearer ${mallory.token}` });
    expect(res.json.results[0]).toMatchObject({ success: false, error: { code: 'DUPLICATE_ID', retryable: false } });
    expect(res.json.results[0].error.message).not.toMatch(/constraint|_pkey|verse_cards/);
    const [card] = await stack().sql`select user_id from verse_cards where id = ${create.payload.verseCardId}`;
    expect(card.user_id).toBe(alice.id);
  });

  test("a payload userId naming another user is ignored: the token decides", async () => {
    const alice = await signIn(stack());
    const mallory = await signIn(stack());
    const create = op.createVerse(randomUUID(), 'Ruth 1:16', { userId: alice.id });
    const profile = { ...op.profile({ displayName: 'hijacked' }), payload: { displayName: 'hijacked', updatedAt: new Date().toISOString(), userId: alice.id } };
    const res = await postRaw(stack(), JSON.stringify(batch([create, profile])), { Authorization: `Bearer ${mallory.token}` });
    expect(res.json.results.every((r: { success: boolean }) => r.success)).toBe(true);
    const [card] = await stack().sql`select user_id from verse_cards where id = ${create.payload.verseCardId}`;
    expect(card.user_id).toBe(mallory.id);
    const profiles = await stack().sql`select user_id from profiles where display_name = 'hijacked'`;
    expect(profiles.map((p) => p.user_id)).toEqual([mallory.id]);
  });

  test("replaying another user's operation id returns nothing of theirs and writes nothing", async () => {
    const alice = await signIn(stack());
    const mallory = await signIn(stack());
    const aliceOp = op.profile({ displayName: 'Alice' });
    await postRaw(stack(), JSON.stringify(batch([aliceOp])), { Authorization: `Bearer ${alice.token}` });
    const replay = { ...op.profile({ displayName: 'Mallory' }), id: aliceOp.id };
    const res = await postRaw(stack(), JSON.stringify(batch([replay])), { Authorization: `Bearer ${mallory.token}` });
    expect(res.json.results[0]).toMatchObject({ success: false, error: { code: 'OPERATION_ID_CONFLICT', retryable: false } });
    const [{ n }] = await stack().sql`select count(*)::int as n from profiles where user_id = ${mallory.id}`;
    expect(n).toBe(0);
  });
});
