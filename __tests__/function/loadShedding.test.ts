// The handler sheds load with 429 + Retry-After instead of piling batches onto Postgres.
import { randomUUID } from 'node:crypto';
import { createAdmission } from '../../supabase/functions/verse-operations/admission.ts';
import { createHandler } from '../../supabase/functions/verse-operations/handler.ts';
import type { BatchStore } from '../../supabase/functions/verse-operations/store.ts';
import { signAccessToken } from '../../src/stack/tokens.ts';
import { batch, op } from '../helpers/ops.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

/** A store whose applies wait until the test lets them finish. */
function gatedStore() {
  const gates: Array<() => void> = [];
  let calls = 0;
  const store: BatchStore = {
    applyBatch: async (_claims, _batchId, ops) => {
      calls++;
      await new Promise<void>((resolve) => gates.push(resolve));
      return ops.map((o) => ({ id: o.id, success: true }));
    },
    close: async () => {},
  };
  return { store, gates, calls: () => calls };
}

async function request() {
  const token = await signAccessToken({ userId: randomUUID(), secret: SECRET });
  return new Request('http://localhost/functions/v1/verse-operations', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(batch([op.profile({ dailyGoal: 2 })])),
  });
}
const tick = () => new Promise((r) => setImmediate(r));

test('past maxConcurrent + maxWaiting a batch is refused with 429 and Retry-After, and never reaches the store', async () => {
  const { store, gates, calls } = gatedStore();
  const handle = createHandler({ store, jwtSecret: SECRET, load: { maxConcurrent: 1, maxWaiting: 1, retryAfterSeconds: 2 } });
  const first = handle(await request());
  const second = handle(await request());
  await tick();
  const third = await handle(await request());
  expect(third.status).toBe(429);
  expect(third.headers.get('retry-after')).toBe('2');
  expect((await third.json()).error.code).toBe('RATE_LIMITED');
  expect(calls()).toBe(1); // the second waits its turn, the third never got in

  gates.shift()!();
  expect((await first).status).toBe(200);
  await tick();
  expect(calls()).toBe(2);
  gates.shift()!();
  expect((await second).status).toBe(200);
});

test('admission hands a freed slot to the next in line, in order', async () => {
  const admission = createAdmission(2, 10);
  const order: number[] = [];
  const a = await admission.enter();
  const b = await admission.enter();
  const waiting = [1, 2, 3].map((n) => admission.enter().then((release) => (order.push(n), release)));
  expect(admission.waiting).toBe(3);
  a!();
  b!();
  const [r1, r2] = await Promise.all(waiting.slice(0, 2));
  expect(order).toEqual([1, 2]);
  expect(admission.active).toBe(2);
  r1!();
  const r3 = await waiting[2];
  expect(order).toEqual([1, 2, 3]);
  r2!();
  r3!();
  expect(admission.active).toBe(0);
  expect(() => createAdmission(0, 1)).toThrow(/maxConcurrent/);
});
