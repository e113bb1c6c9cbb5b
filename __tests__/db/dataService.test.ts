import { randomUUID } from 'node:crypto';
import type { VersesDb } from '../../src/db/index.ts';
import { DataServiceError, DEFAULT_TRANSLATION, type DataServiceErrorCode } from '../../src/service/dataService.ts';
import { scheduleNextReview } from '../../src/service/reviewSchedule.ts';
import { dump, useFreshDb, opsBySeq, serviceFor, USER_A, USER_B } from './fixtures.ts';

const fresh = useFreshDb();
let db: VersesDb;
beforeEach(() => {
  db = fresh();
});

const NOW = '2026-11-24T10:00:00.000Z';

describe('each method writes its record and exactly one operation', () => {
  test('addVerseCard: verse, card and a CREATE_VERSE op with the protocol payload', async () => {
    const { service, events } = serviceFor(db);
    const card = await service.addVerseCard('  John   3:16 ', 'For God so loved');
    expect(card).toMatchObject({ reference: 'John 3:16', customText: 'For God so loved', reviewCount: 0, correctCount: 0, userId: USER_A, createdAt: NOW, nextReviewAt: NOW });
    expect(await db.verseCards.get(card.id)).toEqual(card);
    const verse = await db.verses.get(card.verseId);
    expect(verse).toEqual({ id: card.verseId, reference: 'John 3:16', translation: DEFAULT_TRANSLATION });
    const ops = await opsBySeq(db);
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({
      type: 'CREATE_VERSE',
      payload: { verseCardId: card.id, reference: 'John 3:16', customText: 'For God so loved', translation: 'ESV' },
      priority: 'normal',
      maxRetries: 3,
      retryCount: 0,
      status: 'queued',
      localRecordId: card.id,
      userId: USER_A,
      timestamp: Date.parse(NOW),
    });
    expect(Object.keys(ops[0].payload).sort()).toEqual(['customText', 'reference', 'translation', 'verseCardId']);
    expect(events).toEqual([{ priority: 'normal', count: 1 }]);
  });

  test('addVerseCard reuses the catalogue verse and takes the translation from the profile', async () => {
    const { service } = serviceFor(db);
    const a = await service.addVerseCard('Psalm 23:1');
    const b = await service.addVerseCard('Psalm  23:1');
    expect(b.verseId).toBe(a.verseId);
    expect(await db.verses.count()).toBe(1);
    await service.updateProfile({ translation: 'KJV' });
    const c = await service.addVerseCard('Psalm 23:1');
    expect(c.verseId).not.toBe(a.verseId);
    expect((await db.verses.get(c.verseId))?.translation).toBe('KJV');
    const ops = await opsBySeq(db);
    expect(ops.at(-1)?.payload).toEqual({ verseCardId: c.id, reference: 'Psalm 23:1', translation: 'KJV' });
  });

  test('addVerseCards reuses the catalogue verses of each reference in the profile\'s translation and adds the missing ones', async () => {
    const { service } = serviceFor(db);
    const [a1, a2] = await service.addVerseCards([{ reference: 'Gen 1:1' }, { reference: 'Gen 1:2' }]);
    await service.updateProfile({ translation: 'KJV' });
    const [k1, k3] = await service.addVerseCards([{ reference: 'Gen 1:1' }, { reference: 'Gen 1:3' }]);
    expect(k1.verseId).not.toBe(a1.verseId);
    await service.updateProfile({ translation: 'ESV' });
    const [b3, b1, b2, b1again] = await service.addVerseCards([{ reference: 'Gen 1:3' }, { reference: 'Gen 1:1' }, { reference: 'Gen 1:2' }, { reference: 'Gen 1:1' }]);
    expect([b1.verseId, b2.verseId, b1again.verseId]).toEqual([a1.verseId, a2.verseId, a1.verseId]);
    expect(b3.verseId).not.toBe(k3.verseId);
    const verses = await db.verses.toArray();
    expect(verses.map((v) => `${v.reference} ${v.translation}`).sort()).toEqual(['Gen 1:1 ESV', 'Gen 1:1 KJV', 'Gen 1:2 ESV', 'Gen 1:3 ESV', 'Gen 1:3 KJV']);
    expect((await db.verses.get(b3.verseId))?.translation).toBe('ESV');
  });

  test('addVerseCards: one transaction, one op per card, one onEnqueued', async () => {
    const { service, events } = serviceFor(db);
    const cards = await service.addVerseCards([{ reference: 'Gen 1:1' }, { reference: 'Gen 1:2', customText: 'x' }, { reference: 'Gen 1:1' }]);
    expect(cards).toHaveLength(3);
    expect(await db.verseCards.count()).toBe(3);
    expect(await db.verses.count()).toBe(2);
    const ops = await opsBySeq(db);
    expect(ops.map((op) => op.localRecordId)).toEqual(cards.map((c) => c.id));
    expect(ops.map((op) => op.type)).toEqual(['CREATE_VERSE', 'CREATE_VERSE', 'CREATE_VERSE']);
    expect(events).toEqual([{ priority: 'normal', count: 3 }]);
    expect(await service.addVerseCards([])).toEqual([]);
    expect(events).toHaveLength(1);
  });

  test('recordReview: review log, rescheduled card, a high-priority RECORD_REVIEW op with 5 retries', async () => {
    const { service, events } = serviceFor(db);
    const card = await service.addVerseCard('John 11:35');
    const review = await service.recordReview(card.id, true);
    expect(review).toEqual({ id: review.id, verseCardId: card.id, correct: true, reviewDate: NOW });
    expect(await db.reviewLogs.get(review.id)).toEqual(review);
    const updated = await db.verseCards.get(card.id);
    expect(updated).toMatchObject({ reviewCount: 1, correctCount: 1, nextReviewAt: '2026-11-25T10:00:00.000Z', updatedAt: NOW });
    const op = (await opsBySeq(db))[1];
    expect(op).toMatchObject({
      type: 'RECORD_REVIEW',
      payload: { reviewId: review.id, verseCardId: card.id, correct: true, reviewDate: NOW },
      priority: 'high',
      maxRetries: 5,
      localRecordId: review.id,
    });
    expect(Object.keys(op.payload).sort()).toEqual(['correct', 'reviewDate', 'reviewId', 'verseCardId']);
    expect(events.at(-1)).toEqual({ priority: 'high', count: 1 });
  });

  test('the review schedule doubles on correct answers and retries soon after a miss', () => {
    const at = new Date(NOW);
    const day = 24 * 60 * 60 * 1000;
    const gap = (s: { nextReviewAt: string }) => Date.parse(s.nextReviewAt) - at.getTime();
    expect(gap(scheduleNextReview({ reviewCount: 0, correctCount: 0 }, true, at))).toBe(day);
    expect(gap(scheduleNextReview({ reviewCount: 3, correctCount: 3 }, true, at))).toBe(8 * day);
    expect(gap(scheduleNextReview({ reviewCount: 40, correctCount: 40 }, true, at))).toBe(180 * day);
    const miss = scheduleNextReview({ reviewCount: 3, correctCount: 3 }, false, at);
    expect(miss).toMatchObject({ reviewCount: 4, correctCount: 3 });
    expect(gap(miss)).toBe(10 * 60 * 1000);
  });

  test('updateProfile: upserts the profile and sends only the changed fields with updatedAt', async () => {
    const { service, setClock } = serviceFor(db);
    const first = await service.updateProfile({ displayName: 'Ann', dailyGoal: 5 });
    expect(first).toEqual({ id: USER_A, displayName: 'Ann', dailyGoal: 5, updatedAt: NOW });
    setClock(new Date('2026-11-24T11:00:00.000Z'));
    const second = await service.updateProfile({ translation: 'NIV' });
    expect(second).toEqual({ id: USER_A, displayName: 'Ann', dailyGoal: 5, translation: 'NIV', updatedAt: '2026-11-24T11:00:00.000Z' });
    expect(await db.profile.get(USER_A)).toEqual(second);
    const ops = await opsBySeq(db);
    expect(ops.map((op) => op.payload)).toEqual([
      { displayName: 'Ann', dailyGoal: 5, updatedAt: NOW },
      { translation: 'NIV', updatedAt: '2026-11-24T11:00:00.000Z' },
    ]);
    expect(ops.every((op) => op.type === 'UPDATE_PROFILE' && op.localRecordId === USER_A && op.priority === 'normal')).toBe(true);
  });

  test('updateProfile before sign-in uses the local profile row', async () => {
    const { service, setUser } = serviceFor(db);
    setUser(undefined);
    const profile = await service.updateProfile({ dailyGoal: 3 });
    expect(profile.id).toBe('local');
    const [op] = await opsBySeq(db);
    expect(op.userId).toBeUndefined();
    expect(op.localRecordId).toBe('local');
  });

  test('createAlias: trimmed alias row and a CREATE_ALIAS op', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('1 Cor 13:4');
    const alias = await service.createAlias(card.id, '  love chapter ');
    expect(alias).toEqual({ id: alias.id, verseCardId: card.id, alias: 'love chapter', createdAt: NOW });
    expect(await db.aliases.get(alias.id)).toEqual(alias);
    const op = (await opsBySeq(db))[1];
    expect(op).toMatchObject({ type: 'CREATE_ALIAS', payload: { aliasId: alias.id, verseCardId: card.id, alias: 'love chapter' }, localRecordId: alias.id, maxRetries: 3 });
  });

  test('deleteVerse: soft-deletes the card and queues DELETE_VERSE', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('Rom 8:28');
    const deleted = await service.deleteVerse(card.id);
    expect(deleted).toMatchObject({ id: card.id, deletedAt: NOW });
    expect((await db.verseCards.get(card.id))?.deletedAt).toBe(NOW);
    const op = (await opsBySeq(db))[1];
    expect(op).toMatchObject({ type: 'DELETE_VERSE', payload: { verseCardId: card.id }, localRecordId: card.id });
  });

  test('priority can be overridden per call and reaches onEnqueued', async () => {
    const { service, events } = serviceFor(db);
    const card = await service.addVerseCard('Heb 11:1', undefined, { priority: 'immediate' });
    await service.recordReview(card.id, false, { priority: 'low' });
    expect((await opsBySeq(db)).map((op) => op.priority)).toEqual(['immediate', 'low']);
    expect(events.map((e) => e.priority)).toEqual(['immediate', 'low']);
  });

  test('onEnqueued runs after commit: the op is readable from outside the transaction', async () => {
    const seen: Promise<number>[] = [];
    const { service } = serviceFor(db, { onEnqueued: () => seen.push(db.syncOperations.count()) });
    await service.addVerseCard('Phil 4:13');
    expect(await Promise.all(seen)).toEqual([1]);
  });

  test('a throwing onEnqueued listener does not turn a committed write into a failure', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const { service } = serviceFor(db, {
      onEnqueued: () => {
        throw new Error('listener bug');
      },
    });
    await expect(service.addVerseCard('Phil 4:6')).resolves.toMatchObject({ reference: 'Phil 4:6' });
    expect(await db.syncOperations.count()).toBe(1);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('seq', () => {
  test('is strictly increasing across methods and within a bulk write', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('Matt 6:33');
    await service.addVerseCards(Array.from({ length: 25 }, (_, i) => ({ reference: `Ps 119:${i + 1}` })));
    await service.recordReview(card.id, true);
    await service.updateProfile({ displayName: 'Bo' });
    await service.createAlias(card.id, 'seek first');
    await service.deleteVerse(card.id);
    const ops = await opsBySeq(db);
    expect(ops).toHaveLength(30);
    expect(ops.map((op) => op.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // seq order is the order of the calls
    expect(ops[0].localRecordId).toBe(card.id);
    expect(ops.slice(26).map((op) => op.type)).toEqual(['RECORD_REVIEW', 'UPDATE_PROFILE', 'CREATE_ALIAS', 'DELETE_VERSE']);
  });

  test('keeps rising after the queue drains and the database is reopened', async () => {
    const first = serviceFor(db).service;
    await first.addVerseCard('Isa 40:31');
    await first.addVerseCard('Isa 41:10');
    await db.syncOperations.clear();
    db.close();
    await db.open();
    await serviceFor(db).service.addVerseCard('Isa 43:2');
    expect((await opsBySeq(db)).map((op) => op.seq)).toEqual([3]);
  });
});

describe('atomicity: the record and its operation commit together or not at all', () => {
  const failOpWrites = () =>
    db.syncOperations.hook('creating', () => {
      throw new Error('simulated outbox write failure');
    });

  test.each([
    ['addVerseCard', (s: ReturnType<typeof serviceFor>['service'], _card: string) => s.addVerseCard('Jer 29:11')],
    ['addVerseCards', (s: ReturnType<typeof serviceFor>['service'], _card: string) => s.addVerseCards([{ reference: 'Jer 29:11' }, { reference: 'Jer 29:12' }])],
    ['recordReview', (s: ReturnType<typeof serviceFor>['service'], card: string) => s.recordReview(card, true)],
    ['updateProfile', (s: ReturnType<typeof serviceFor>['service'], _card: string) => s.updateProfile({ dailyGoal: 9 })],
    ['createAlias', (s: ReturnType<typeof serviceFor>['service'], card: string) => s.createAlias(card, 'plans')],
    ['deleteVerse', (s: ReturnType<typeof serviceFor>['service'], card: string) => s.deleteVerse(card)],
  ])('%s: a failing op write leaves the local record unwritten', async (_name, call) => {
    const { service, events } = serviceFor(db);
    const card = await service.addVerseCard('Josh 1:9');
    const before = await dump(db);
    events.length = 0;
    failOpWrites();
    await expect(call(service, card.id)).rejects.toThrow('simulated outbox write failure');
    expect(await dump(db)).toEqual(before);
    expect(events).toEqual([]);
  });

  test('the last op of a bulk failing rolls back every card of the bulk', async () => {
    const { service } = serviceFor(db);
    let creating = 0;
    db.syncOperations.hook('creating', () => {
      if (++creating === 3) throw new Error('third op fails');
    });
    await expect(service.addVerseCards([{ reference: 'Amos 1:1' }, { reference: 'Amos 1:2' }, { reference: 'Amos 1:3' }])).rejects.toThrow('third op fails');
    expect(await db.verseCards.count()).toBe(0);
    expect(await db.verses.count()).toBe(0);
    expect(await db.syncOperations.count()).toBe(0);
  });

  test('a seq collision (unique index) aborts the write instead of reordering the queue', async () => {
    const { service } = serviceFor(db);
    await service.addVerseCard('Mic 6:8');
    await db.meta.put({ key: 'outbox.seq', value: 0 });
    const before = await dump(db);
    await expect(service.addVerseCard('Mic 7:18')).rejects.toThrow();
    expect(await dump(db)).toEqual(before);
  });
});

describe('invalid input throws DataServiceError and writes nothing', () => {
  type Service = ReturnType<typeof serviceFor>['service'];
  type Ctx = { live: string; deleted: string; foreign: string };
  const cases: Array<[string, DataServiceErrorCode, (s: Service, c: Ctx) => Promise<unknown>]> = [
    ['empty reference', 'INVALID_INPUT', (s) => s.addVerseCard('')],
    ['whitespace reference', 'INVALID_INPUT', (s) => s.addVerseCard(' \t\n ')],
    ['over-long reference', 'INVALID_INPUT', (s) => s.addVerseCard('R'.repeat(201))],
    ['NUL in reference', 'INVALID_INPUT', (s) => s.addVerseCard('John\u00003:16')],
    ['non-string reference', 'INVALID_INPUT', (s) => s.addVerseCard(42 as unknown as string)],
    ['over-long custom text', 'INVALID_INPUT', (s) => s.addVerseCard('John 3:16', 'x'.repeat(10_001))],
    ['NUL in custom text', 'INVALID_INPUT', (s) => s.addVerseCard('John 3:16', 'a\u0000b')],
    ['unknown priority', 'INVALID_INPUT', (s) => s.addVerseCard('John 3:16', undefined, { priority: 'urgent' as never })],
    ['unknown book', 'UNKNOWN_REFERENCE', (s) => s.addVerseCard('Hezekiah 99:99')],
    ['not a reference', 'UNKNOWN_REFERENCE', (s) => s.addVerseCard('my favourite verse')],
    ['backwards range', 'UNKNOWN_REFERENCE', (s) => s.addVerseCard('John 3:18-16')],
    ['one unknown book in a bulk', 'UNKNOWN_REFERENCE', (s) => s.addVerseCards([{ reference: 'Ruth 1:1' }, { reference: 'Hezekiah 1:1' }])],
    ['one bad card in a bulk', 'INVALID_INPUT', (s) => s.addVerseCards([{ reference: 'Ruth 1:1' }, { reference: '  ' }])],
    ['bulk that is not an array', 'INVALID_INPUT', (s) => s.addVerseCards('John 3:16' as never)],
    ['review of an unknown card', 'CARD_NOT_FOUND', (s) => s.recordReview(randomUUID(), true)],
    ['review with a non-UUID id', 'CARD_NOT_FOUND', (s) => s.recordReview('card-1', true)],
    ['review of a deleted card', 'CARD_DELETED', (s, c) => s.recordReview(c.deleted, true)],
    ["review of another user's card", 'CARD_NOT_FOUND', (s, c) => s.recordReview(c.foreign, true)],
    ['review answer not a boolean', 'INVALID_INPUT', (s, c) => s.recordReview(c.live, 'yes' as never)],
    ['empty alias', 'INVALID_INPUT', (s, c) => s.createAlias(c.live, '')],
    ['whitespace alias', 'INVALID_INPUT', (s, c) => s.createAlias(c.live, '   ')],
    ['over-long alias', 'INVALID_INPUT', (s, c) => s.createAlias(c.live, 'a'.repeat(201))],
    ['NUL in alias', 'INVALID_INPUT', (s, c) => s.createAlias(c.live, 'a\u0000')],
    ['alias on a deleted card', 'CARD_DELETED', (s, c) => s.createAlias(c.deleted, 'gone')],
    ['alias on an unknown card', 'CARD_NOT_FOUND', (s) => s.createAlias(randomUUID(), 'nobody')],
    ['delete of an unknown card', 'CARD_NOT_FOUND', (s) => s.deleteVerse(randomUUID())],
    ['delete of a deleted card', 'CARD_DELETED', (s, c) => s.deleteVerse(c.deleted)],
    ['empty profile patch', 'INVALID_INPUT', (s) => s.updateProfile({})],
    ['profile patch of undefined fields', 'INVALID_INPUT', (s) => s.updateProfile({ displayName: undefined })],
    ['unknown profile field', 'INVALID_INPUT', (s) => s.updateProfile({ nickname: 'x' } as never)],
    ['daily goal 0', 'INVALID_INPUT', (s) => s.updateProfile({ dailyGoal: 0 })],
    ['fractional daily goal', 'INVALID_INPUT', (s) => s.updateProfile({ dailyGoal: 1.5 })],
    ['empty translation', 'INVALID_INPUT', (s) => s.updateProfile({ translation: ' ' })],
    ['over-long display name', 'INVALID_INPUT', (s) => s.updateProfile({ displayName: 'n'.repeat(101) })],
    ['NUL in display name', 'INVALID_INPUT', (s) => s.updateProfile({ displayName: 'a\u0000' })],
  ];

  test('an unknown book is refused before anything is written, with a sentence naming the book and no code in it', async () => {
    const { service } = serviceFor(db);
    const error = await service.addVerseCard('Hezekiah 99:99').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNKNOWN_REFERENCE', message: '"Hezekiah" is not a book of the Bible; check the spelling, such as "Isaiah" or "1 Cor"' });
    expect(await db.verseCards.count()).toBe(0);
    expect(await db.syncOperations.count()).toBe(0);
    expect(await service.addVerseCard('jn 3.16')).toMatchObject({ reference: 'jn 3.16' });
  });

  test.each(cases)('%s → %s', async (_name, code, call) => {
    const ctl = serviceFor(db);
    const live = await ctl.service.addVerseCard('Luke 1:1');
    const deleted = await ctl.service.addVerseCard('Mark 1:1');
    await ctl.service.deleteVerse(deleted.id);
    ctl.setUser(USER_B);
    const foreign = await ctl.service.addVerseCard('Ruth 2:1');
    ctl.setUser(USER_A);
    const before = await dump(db);
    const events = ctl.events.length;

    const error = await call(ctl.service, { live: live.id, deleted: deleted.id, foreign: foreign.id }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataServiceError);
    expect((error as DataServiceError).code).toBe(code);
    expect((error as DataServiceError).message.length).toBeGreaterThan(10);
    expect(await dump(db)).toEqual(before);
    expect(ctl.events).toHaveLength(events);
  });
});
