// requestPersistentStorage: asks once, reports what the browser said, never throws.
import { requestPersistentStorage } from '../../src/db/index.ts';

test('already persisted: does not ask again', async () => {
  const persist = jest.fn(async () => true);
  await expect(requestPersistentStorage({ persisted: async () => true, persist })).resolves.toBe('persisted');
  expect(persist).not.toHaveBeenCalled();
});

test('granted or declined by the browser', async () => {
  await expect(requestPersistentStorage({ persisted: async () => false, persist: async () => true })).resolves.toBe('persisted');
  await expect(requestPersistentStorage({ persisted: async () => false, persist: async () => false })).resolves.toBe('best-effort');
});

test('a browser that throws, or none at all', async () => {
  await expect(requestPersistentStorage({ persist: async () => Promise.reject(new Error('denied')) })).resolves.toBe('best-effort');
  await expect(requestPersistentStorage({})).resolves.toBe('unsupported');
  await expect(requestPersistentStorage(undefined)).resolves.toBe('unsupported');
});
