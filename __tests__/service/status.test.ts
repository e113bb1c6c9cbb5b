// The one status model: the selectors turn the queue's and the network actor's snapshots and the
// outbox's counts into the status; getState() and useSyncStatus() both read through them.
import type { TransportFailure } from '../../machines/types.ts';
import { failureView, NO_COUNTS, selectCounts, selectPaused, syncState, type QueueView } from '../../src/service/status.ts';

function queue(tags: string[], context: Partial<QueueView['context']> = {}): QueueView {
  return {
    hasTag: (tag) => tags.includes(tag),
    context: { lastSyncAt: null, lastError: null, failingSince: null, stuck: false, nextRetryAt: null, ...context },
  };
}
const network = { context: { online: true, quality: 'excellent' as const } };

test('pending, sending, waiting and dead letters are the outbox counts; quality and online are the network actor’s', () => {
  const state = syncState(queue(['busy']), network, { context: { total: 7, queued: 4, sending: 2, waiting: 1, dead: 3 } });
  expect(state).toMatchObject({ pending: 7, sending: 2, waiting: 1, deadLetters: 3, syncing: true, online: true, quality: 'excellent', paused: null });
  expect(state.lastSync).toBeUndefined();
});

test('before the first count the counts are zero', () => {
  expect(selectCounts({ context: undefined })).toBe(NO_COUNTS);
  expect(syncState(queue([]), network, undefined)).toMatchObject({ pending: 0, sending: 0, waiting: 0, deadLetters: 0 });
});

test('paused says offline before auth; times become dates', () => {
  expect(selectPaused(queue(['offline', 'auth']))).toBe('offline');
  expect(selectPaused(queue(['auth']))).toBe('auth');
  expect(selectPaused(undefined)).toBeNull();
  const failure: TransportFailure = { kind: 'server', message: 'The server failed (503)', status: 503, retryAfterMs: 2_000 };
  const state = syncState(queue(['error'], { lastSyncAt: 1_000, lastError: failure, failingSince: 2_000, nextRetryAt: 3_000, stuck: true }), network, undefined);
  expect(state).toMatchObject({
    lastSync: new Date(1_000),
    failingSince: new Date(2_000),
    nextRetryAt: new Date(3_000),
    stuck: true,
    lastError: { kind: 'server', message: 'The server failed (503)', status: 503 },
  });
  // The status shows what a person can act on, not the transport's internals.
  expect(state.lastError).not.toHaveProperty('retryAfterMs');
  expect(failureView(null)).toBeNull();
  expect(failureView({ kind: 'network', message: 'fetch failed' })).toEqual({ kind: 'network', message: 'fetch failed' });
});
