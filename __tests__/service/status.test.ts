// The one status model: the selectors turn the queue's and the network actor's snapshots and the
// outbox's counts into the status; getState() and useSyncStatus() both read through them.
import { createActor, fromPromise } from 'xstate';
import { networkQualityMachine } from '../../machines/networkQuality.machine.ts';
import { SYSTEM_IDS, syncMachine } from '../../machines/sync.machine.ts';
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
  const state = syncState(queue(['busy']), network, { context: { total: 7, queued: 4, sending: 2, waiting: 1, setAside: 0, dead: 3 } });
  expect(state).toMatchObject({ pending: 7, sending: 2, waiting: 1, deadLetters: 3, syncing: true, online: true, quality: 'excellent', paused: null });
  expect(state.lastSync).toBeUndefined();
});

test('set-aside changes: counted, with when the first is retried and a sentence for a person without ids', () => {
  const at = new Date(2026, 11, 2, 14, 5).getTime();
  const state = syncState(queue([], { setAsideWakeAt: at }), network, { context: { total: 3, queued: 3, sending: 0, waiting: 0, setAside: 1, dead: 0 } });
  const time = new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  expect(state).toMatchObject({ pending: 3, setAside: 1, setAsideUntil: new Date(at) });
  expect(state.setAsideMessage).toBe(`1 change the server keeps failing on is set aside; it is retried at ${time} and the rest keeps syncing.`);
  const two = syncState(queue([], { setAsideWakeAt: at }), network, { context: { total: 2, queued: 2, sending: 0, waiting: 0, setAside: 2, dead: 0 } });
  expect(two.setAsideMessage).toMatch(/^2 changes the server keeps failing on are set aside; they are retried at /);
  // None set aside (a wake time left over from a snapshot counts for nothing).
  expect(syncState(queue([], { setAsideWakeAt: at }), network, undefined)).toMatchObject({ setAside: 0, setAsideUntil: null, setAsideMessage: null });
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

test('one starting quality: before any sample the root, the queue and the network actor agree', () => {
  const machine = syncMachine.provide({
    actors: { networkQuality: networkQualityMachine.provide({ actors: { probeLatency: fromPromise(() => new Promise<number>(() => undefined)) } }) },
  });
  const created = createActor(machine, { input: { online: true, pending: 0 } });
  // Before start: the root's own context already holds the network machine's starting estimate.
  // Nothing measured yet and no browser estimate: 'good' is assumed (the first batch measures).
  expect(created.getSnapshot().context.quality).toBe('good');
  const root = created.start();
  const network = root.system.get(SYSTEM_IDS.network).getSnapshot().context;
  expect(network.quality).toBe('good');
  expect(network.measured).toBe(false);
  expect(root.getSnapshot().context).toMatchObject({ quality: network.quality, batchConfig: network.batchConfig });
  expect(root.system.get(SYSTEM_IDS.queue).getSnapshot().context.config).toEqual(network.batchConfig);
  root.stop();
});
