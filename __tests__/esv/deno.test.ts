// The same ESV path under real Deno, as deployed: the function reads ESV_API_URL, ESV_API_KEY
// and ESV_STORAGE_CAP from its environment and asks the local ESV-compatible server.
import { randomUUID } from 'node:crypto';
import type { ApplyBatchResponse } from '../../supabase/functions/_shared/protocol.ts';
import { batch, op } from '../helpers/ops.ts';
import { postRaw, useStack } from '../helpers/stack.ts';

const stack = useStack({ runtime: 'deno', esv: 'local', esvStorageCap: 2 });

test('under Deno: one ESV query with the key for a batch of new references, canonical names, the cap from the environment', async () => {
  const token = await stack().tokenFor(randomUUID());
  const refs = ['rom 8:28', 'Romans 8:28', 'Phil 4:13', 'ps 23:1'];
  const res = await postRaw(stack(), JSON.stringify(batch(refs.map((r) => op.createVerse(randomUUID(), r)))), { Authorization: `Bearer ${token}` });
  expect(res.status).toBe(200);
  const { results } = res.json as ApplyBatchResponse;
  expect(results.map((r) => r.verse?.reference)).toEqual(['Romans 8:28', 'Romans 8:28', 'Philippians 4:13', 'Psalm 23:1']);
  expect(results.every((r) => typeof r.verse?.text === 'string' && r.verse.text.endsWith('(WEB)'))).toBe(true);
  // One query, and it carried the key (the server answers 401 without it).
  expect(stack().esvServer!.queries.map((q) => [q.q, q.status])).toEqual([['rom 8:28;Phil 4:13;ps 23:1', 200]]);
  const rows = await stack().sql`select text_status, count(*)::int as n from verses where text_status is not null group by 1 order by 1`;
  expect(rows).toEqual([{ text_status: 'evicted', n: 1 }, { text_status: 'ready', n: 2 }]);
});
