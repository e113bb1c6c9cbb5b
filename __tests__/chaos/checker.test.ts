// The chaos checker on a real database: an op missing from the server is lost, unless Chromium
// deleted its device's IndexedDB (as corrupt, after a kill) before the op was synced. Those are
// counted apart, with Chromium's own words, and never hide any other loss.
import { randomUUID } from 'node:crypto';
import { check, installLedgerAudit } from '../../chaos/checker.ts';
import { Oracle, type ClientOutcome } from '../../chaos/oracle.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack();
const drained = { queued: 0, inFlight: 0, dead: [], deletedCards: [] };

test('ops a reset database took before they were synced are lost to the browser; every other missing op is lost', async () => {
  const { sql } = stack();
  await installLedgerAudit(sql);
  const oracle = new Oracle();
  const [userA, userB] = [randomUUID(), randomUUID()];
  const [a1, a2, b1] = [randomUUID(), randomUUID(), randomUUID()];
  const create = (cardId: string) => ({ opId: randomUUID(), type: 'CREATE_VERSE', cardId, localRecordId: cardId, payload: {} });
  const review = (cardId: string) => ({ opId: randomUUID(), type: 'RECORD_REVIEW', cardId, localRecordId: randomUUID(), payload: {} });

  // A commits a card and its review, is killed, and comes back with its database deleted.
  oracle.record('a', userA, [create(a1), review(a1)]);
  oracle.browserResets.push({ client: 'a', throughIndex: oracle.committedBy('a'), chromiumSaid: 'IndexedDB recovering from a corrupted (and deleted) database.' });
  // What A commits after the reset, and everything B commits, must reach the server.
  oracle.record('a', userA, [create(a2)]);
  oracle.record('b', userB, [create(b1)]);
  // Refusals: A of the card its reset took; B of a card nothing took.
  oracle.unexplainedRefusals.push({ client: 'a', cardId: a1, code: 'CARD_NOT_FOUND' }, { client: 'b', cardId: b1, code: 'CARD_NOT_FOUND' });

  const clients: ClientOutcome[] = [
    { name: 'a', userId: userA, outbox: drained },
    { name: 'b', userId: userB, outbox: drained },
  ];
  const verdict = await check(sql, oracle, clients);
  expect(verdict.lostToBrowserReset).toBe(3);
  expect(verdict.lost).toBe(3);
  expect(verdict.evidence.lost.join('\n')).toContain(`a #3 CREATE_VERSE`);
  expect(verdict.evidence.lost.join('\n')).toContain(`b #1 CREATE_VERSE`);
  expect(verdict.evidence.lost.join('\n')).toContain(`b: the page refused card ${b1}`);
  expect(verdict.evidence.lost.join('\n')).not.toContain(a1);
  expect(verdict.evidence.browserResets).toEqual([
    'a: Chromium deleted its IndexedDB as corrupt after a kill ("IndexedDB recovering from a corrupted (and deleted) database."); 3 op(s) it had not yet synced went with it',
  ]);

  // Without the reset, the same ops are all lost.
  oracle.browserResets.splice(0);
  const strict = await check(sql, oracle, clients);
  expect([strict.lost, strict.lostToBrowserReset, strict.evidence.browserResets]).toEqual([6, 0, []]);
});
