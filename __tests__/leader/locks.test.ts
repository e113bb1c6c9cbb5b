// The in-memory lock manager behaves like the Web Locks API where leadership relies on it.
import { createMemoryLocks, requestLeadership } from '../../src/leader/index.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

test('a lock is exclusive, held while the callback runs, and granted to waiters in order', async () => {
  const locks = createMemoryLocks();
  const order: string[] = [];
  let releaseFirst!: () => void;
  const first = locks.request('x', {}, async () => {
    order.push('first');
    await new Promise<void>((r) => (releaseFirst = r));
    return 1;
  });
  const second = locks.request('x', {}, () => {
    order.push('second');
    return 2;
  });
  const other = locks.request('y', {}, () => {
    order.push('other name');
    return 3;
  });
  await tick();
  expect(order).toEqual(['first', 'other name']);
  releaseFirst();
  expect(await first).toBe(1);
  expect(await second).toBe(2);
  expect(await other).toBe(3);
  expect(order).toEqual(['first', 'other name', 'second']);
});

test('an aborted request that was waiting rejects with AbortError and never runs; a failing callback releases the lock', async () => {
  const locks = createMemoryLocks();
  const failing = locks.request('x', {}, async () => {
    throw new Error('boom');
  });
  await expect(failing).rejects.toThrow('boom');
  let release!: () => void;
  const holder = locks.request('x', {}, () => new Promise<void>((r) => (release = r)));
  const abort = new AbortController();
  const ran = jest.fn();
  const waiting = locks.request('x', { signal: abort.signal }, ran);
  abort.abort();
  await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  release();
  await holder;
  expect(ran).not.toHaveBeenCalled();
  await expect(locks.request('x', {}, () => 'free')).resolves.toBe('free');
});

test('leadership passes to the next tab when the leader resigns; a waiting tab can withdraw', async () => {
  const locks = createMemoryLocks();
  const led: string[] = [];
  const a = requestLeadership(locks, 'uploader', () => void led.push('a'));
  const b = requestLeadership(locks, 'uploader', () => void led.push('b'));
  const c = requestLeadership(locks, 'uploader', () => void led.push('c'));
  await tick();
  expect([a.isLeader, b.isLeader, c.isLeader]).toEqual([true, false, false]);
  await c.resign(); // withdraws from the queue
  await a.resign();
  await tick();
  expect(b.isLeader).toBe(true);
  expect(led).toEqual(['a', 'b']);
  await b.resign();
  expect(b.isLeader).toBe(false);
});
