// Before a batch is applied: the ESV text of its new references (one ESV query for all of
// them), and of the caller's cards still waiting for text, recorded in the catalogue by the
// function itself. apply_batch only reads what is recorded; the client cannot set it.
import type { FilledVerse, OperationResult, WireOperation } from '../_shared/protocol.ts';
import { lookUpReferences, type EsvConfig, type EsvOutcome } from './esv.ts';
import type { EsvEntry, EsvStore } from './store.ts';

export type PreparedTexts = {
  /** CREATE_VERSE ops whose reference the ESV does not know: answered here, not applied. */
  rejected: Map<string, OperationResult>;
  /** Texts that arrived for the caller's earlier cards. */
  filled: FilledVerse[];
  /** ESV queries sent for this batch. */
  queries: number;
  /** Whether new text was stored (the storage cap is then enforced after the batch). */
  stored: boolean;
};

export const DEFAULT_REFILL_PER_BATCH = 20;
export const DEFAULT_MAX_PENDING_PER_USER = 200;

const asTyped = (reference: string) => reference.trim().replace(/\s+/g, ' ');

/** True for a CREATE_VERSE that takes its text from the ESV. */
export function wantsEsvText(op: WireOperation): op is WireOperation<'CREATE_VERSE'> {
  if (op.type !== 'CREATE_VERSE') return false;
  const payload = op.payload as WireOperation<'CREATE_VERSE'>['payload'];
  return payload.customText === undefined && (payload.translation === undefined || payload.translation.trim().toUpperCase() === 'ESV');
}

/** Resolves the batch's references through the ESV and records the answers; never throws for the ESV's sake. */
export async function prepareVerseTexts(
  config: EsvConfig,
  store: EsvStore,
  userId: string,
  operations: WireOperation[],
  log: (line: string) => void,
): Promise<PreparedTexts> {
  const creates = operations.filter(wantsEsvText);
  const refs = [...new Set(creates.map((op) => asTyped(op.payload.reference)))];
  const known = new Map((await store.known(refs)).map((k) => [k.key, k]));
  const needed = refs.filter((r) => known.get(r)?.status !== 'ready');
  const maxPending = config.maxPendingPerUser ?? DEFAULT_MAX_PENDING_PER_USER;
  const waiting = await store.waitingFor(userId, maxPending);
  const refill = waiting
    .slice(0, config.refillPerBatch ?? DEFAULT_REFILL_PER_BATCH)
    .map((w) => w.reference)
    .filter((r) => !needed.includes(r));
  if (needed.length === 0 && refill.length === 0) return { rejected: new Map(), filled: [], queries: 0, stored: false };

  const { outcomes, queries } = await lookUpReferences(config, [...needed, ...refill], {
    takeToken: () => store.takeToken(userId),
    throttled: (seconds) => store.throttled(seconds),
    log,
  });
  const entries: EsvEntry[] = [];
  let placeholdersLeft = Math.max(0, maxPending - waiting.length);
  const unknown = new Map<string, Extract<EsvOutcome, { kind: 'unknown' }>>();
  for (const reference of [...needed, ...refill]) {
    const outcome = outcomes.get(reference);
    if (!outcome) continue;
    if (outcome.kind === 'text') entries.push({ key: reference, status: 'ready', reference: outcome.reference, text: outcome.text });
    else if (outcome.kind === 'pending' && needed.includes(reference) && known.get(reference)?.status !== 'pending') {
      if (placeholdersLeft > 0) {
        placeholdersLeft -= 1;
        entries.push({ key: reference, status: 'pending' });
      }
    }
    else if (outcome.kind === 'unknown' && needed.includes(reference) && !known.has(reference)) unknown.set(reference, outcome);
  }
  const ids = await store.record(userId, entries);
  // A placeholder the ESV now says it does not know: no more refills for it.
  await store.forget(refill.filter((r) => outcomes.get(r)?.kind === 'unknown'));

  const rejected = new Map<string, OperationResult>();
  for (const op of creates) {
    const said = unknown.get(asTyped(op.payload.reference));
    if (said) rejected.set(op.id, { id: op.id, success: false, error: { code: 'UNKNOWN_REFERENCE', message: said.message, retryable: false } });
  }
  const filledIds = refill.filter((r) => outcomes.get(r)?.kind === 'text').map((r) => ids[r]).filter(Boolean);
  const inBatch = new Set(creates.map((op) => op.payload.verseCardId));
  const filled = (await store.cardsOn(userId, filledIds)).filter((c) => !inBatch.has(c.verseCardId));
  return { rejected, filled, queries, stored: entries.some((e) => e.status === 'ready') };
}
