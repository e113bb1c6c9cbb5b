// Text Postgres cannot store (a lone UTF-16 surrogate, NUL) is refused at input by the client,
// through the same shared protocol schema the function validates with, and nothing is written.
import type { VersesDb } from '../../src/db/index.ts';
import { dump, serviceFor, useFreshDb } from './fixtures.ts';

const fresh = useFreshDb();
let db: VersesDb;
beforeEach(() => {
  db = fresh();
});

describe('the client refuses unstorable text at input', () => {
  test.each([
    ['a reference with a lone high surrogate', (s: ReturnType<typeof serviceFor>['service']) => s.addVerseCard('John 3:16\ud800')],
    ['custom text with a lone low surrogate', (s: ReturnType<typeof serviceFor>['service']) => s.addVerseCard('John 3:16', 'words \udc00')],
    ['a display name with a lone surrogate', (s: ReturnType<typeof serviceFor>['service']) => s.updateProfile({ displayName: '\udbff' })],
  ])('%s is refused and nothing is written', async (_name, write) => {
    const { service } = serviceFor(db);
    const before = await dump(db);
    await expect(write(service)).rejects.toThrow(/surrogate/);
    expect(await dump(db)).toEqual(before);
  });

  test('an alias with a lone surrogate is refused and the card keeps no alias', async () => {
    const { service } = serviceFor(db);
    const card = await service.addVerseCard('Ruth 1:16');
    const before = await dump(db);
    await expect(service.createAlias(card.id, 'whither\ud800')).rejects.toThrow(/surrogate/);
    expect(await dump(db)).toEqual(before);
  });

  test('a paired surrogate (an emoji) is text like any other', async () => {
    const { service } = serviceFor(db);
    await expect(service.addVerseCard('Psalm 23:1', 'The LORD is my shepherd 🐑')).resolves.toMatchObject({ customText: 'The LORD is my shepherd 🐑' });
  });
});
