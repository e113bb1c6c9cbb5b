// The root sync machine with fake actors: forwarding, network → queue, the auth loop, browser events.
import { createActor, fromPromise, waitFor } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { batchMachine } from '../../machines/batch.machine.ts';
import { networkQualityMachine } from '../../machines/networkQuality.machine.ts';
import { queueMachine } from '../../machines/queue.machine.ts';
import { SYSTEM_IDS, syncMachine, type SyncEvent } from '../../machines/sync.machine.ts';
import type { UploadResult } from '../../machines/types.ts';
import { browserNetworkEvents } from '../../src/network/browser.ts';
import { browserPageEvents } from '../../src/transport/pageEvents.ts';
import { createCoverage, settle, toTestMachine } from './fakes.ts';

type Ops = { queued: number; sent: number };

function build(options: {
  upload: () => Promise<UploadResult>;
  refresh?: () => Promise<boolean>;
  latency?: number;
  sources?: Parameters<typeof browserNetworkEvents>[0];
  page?: Parameters<typeof browserPageEvents>[0];
  timeoutMs?: number;
}) {
  const ops: Ops = { queued: 0, sent: 0 };
  const batch = batchMachine.provide({
    actors: {
      coalesceQueued: fromPromise(async () => ({ removed: 0 })),
      claimBatch: fromPromise(async ({ input }) => {
        if (ops.queued === 0) return null;
        const n = Math.min(ops.queued, input.maxOps);
        return { batchId: input.batchId, operations: Array.from({ length: n }, (_, i) => ({ id: `op-${i}`, seq: i, type: 'DELETE_VERSE' as const, payload: { verseCardId: `c${i}` } })), bytes: n * 10 };
      }),
      uploadBatch: fromPromise(() => options.upload()),
      recordResults: fromPromise(async ({ input }) => {
        ops.sent += input.results.length;
        ops.queued -= input.results.length;
        return { status: 'completed' as const, succeeded: input.results.length, requeued: 0, held: 0, dead: 0, pending: ops.queued };
      }),
      releaseBatch: fromPromise(async () => ({ requeued: 0, dead: 0, pending: ops.queued })),
    },
  });
  const machine = syncMachine.provide({
    actors: {
      queue: queueMachine.provide({ actors: { batch } }),
      networkQuality: networkQualityMachine.provide({ actors: { probeLatency: fromPromise(async () => options.latency ?? 20) } }),
      refreshSession: fromPromise(() => (options.refresh ? options.refresh() : Promise.resolve(false))),
      ...(options.sources ? { networkEvents: browserNetworkEvents(options.sources) } : {}),
      ...(options.page ? { pageEvents: browserPageEvents(options.page) } : {}),
    },
  });
  const timeoutMs = options.timeoutMs ?? 10;
  // probeOnConnect: these tests set the quality through the fake probe's latency, measured on connect.
  const network = { probeOnConnect: true, config: { excellent: { timeoutMs }, good: { timeoutMs }, poor: { timeoutMs } } };
  const actor = createActor(machine, { input: { online: true, pending: 0, network } });
  actor.start();
  const queue = () => actor.system.get(SYSTEM_IDS.queue)!;
  const enqueue = (n: number) => {
    ops.queued += n;
    actor.send({ type: 'op.enqueued', priority: 'normal', count: n });
  };
  return { actor, queue, ops, enqueue };
}

const ok = (n = 1): UploadResult => ({ ok: true, results: Array.from({ length: n }, (_, i) => ({ id: `op-${i}`, success: true })) });

test('every actor has its stable system id', () => {
  const { actor } = build({ upload: async () => ok() });
  expect(actor.system.get('network')).toBeDefined();
  expect(actor.system.get('queue')).toBeDefined();
  actor.stop();
});

test('the network machine\'s quality reaches the queue as its batch config', async () => {
  const { actor, queue } = build({ upload: async () => ok(), latency: 900 });
  await waitFor(actor, (s) => s.context.quality === 'poor');
  expect(queue().getSnapshot().context.config.size).toBe(3);
  actor.send({ type: 'network.offline' });
  await waitFor(queue(), (s) => s.hasTag('offline'));
  expect(actor.getSnapshot().context.online).toBe(false);
  actor.stop();
});

test('a 401 pauses the queue, the session is refreshed once, and the batch goes again', async () => {
  let calls = 0;
  let refreshed = 0;
  const { actor, queue, ops, enqueue } = build({
    upload: async () => (++calls === 1 ? { ok: false, failure: { kind: 'auth', message: 'expired', status: 401 } } : ok(2)),
    refresh: async () => {
      refreshed++;
      return true;
    },
  });
  enqueue(2);
  await waitFor(queue(), (s) => s.matches({ schedule: 'idle' }) && ops.sent === 2);
  expect(refreshed).toBe(1);
  expect(calls).toBe(2);
  expect(queue().getSnapshot().context.attempt).toBe(0);
  expect(actor.getSnapshot().value).toBe('ready');
  actor.stop();
});

test('when nobody can refresh, ops wait signed out until a session starts', async () => {
  let signedIn = false;
  const { actor, queue, ops, enqueue } = build({
    upload: async () => (signedIn ? ok(1) : { ok: false, failure: { kind: 'auth', message: 'no session', status: 401 } }),
    refresh: async () => false,
  });
  enqueue(1);
  await waitFor(actor, (s) => s.hasTag('signedOut'));
  expect(queue().getSnapshot().hasTag('auth')).toBe(true);
  expect(ops.sent).toBe(0);
  signedIn = true;
  actor.send({ type: 'session.started' });
  await waitFor(queue(), (s) => s.matches({ schedule: 'idle' }) && ops.sent === 1);
  expect(actor.getSnapshot().value).toBe('ready');
  actor.stop();
});

test('browser online/offline and connection events drive the network machine', async () => {
  const win = new EventTarget();
  const connection = Object.assign(new EventTarget(), { effectiveType: '4g', rtt: 50 });
  const { actor, queue } = build({ upload: async () => ok(), sources: { window: win, navigator: { onLine: true, connection } } });
  await waitFor(actor, (s) => s.context.quality === 'excellent');
  connection.effectiveType = '2g';
  connection.dispatchEvent(new Event('change'));
  await waitFor(actor, (s) => s.context.quality === 'poor');
  win.dispatchEvent(new Event('offline'));
  await waitFor(queue(), (s) => s.hasTag('offline'));
  win.dispatchEvent(new Event('online'));
  await waitFor(queue(), (s) => !s.hasTag('offline'));
  actor.stop();
});

test("the page's lifecycle reaches the queue: hidden (or pagehide, freeze) sends what waits at once, visible batches again", async () => {
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const window = new EventTarget();
  const uploads: number[] = [];
  // A long idle gap, so only the page events can send here.
  const { actor, queue, ops, enqueue } = build({ upload: async () => (uploads.push(ops.queued), ok(ops.queued)), page: { document, window }, timeoutMs: 600_000 });
  await waitFor(actor, (s) => s.context.quality === 'excellent');
  enqueue(2);
  await waitFor(queue(), (s) => s.matches({ schedule: 'collecting' }));
  document.visibilityState = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
  await waitFor(queue(), (s) => s.matches({ schedule: 'idle' }));
  expect(ops.sent).toBe(2);
  expect(queue().getSnapshot().context.hidden).toBe(true);
  document.visibilityState = 'visible';
  document.dispatchEvent(new Event('visibilitychange'));
  expect(queue().getSnapshot().context.hidden).toBe(false);
  enqueue(1);
  await waitFor(queue(), (s) => s.matches({ schedule: 'collecting' }));
  window.dispatchEvent(new Event('pagehide'));
  await waitFor(queue(), (s) => s.matches({ schedule: 'idle' }));
  document.dispatchEvent(new Event('freeze'));
  expect(ops.sent).toBe(3);
  expect(uploads).toEqual([2, 1]);
  actor.stop();
});

describe('sync model-based', () => {
  test('every state and transition of the root is reached by the generated paths, against the real actors', async () => {
    type Refresh = { resolve(renewed: boolean): void; reject(message: string): void };
    let refreshes: Refresh[] = [];
    let ops: Ops = { queued: 0, sent: 0 };
    const batch = batchMachine.provide({
      actors: {
        coalesceQueued: fromPromise(async () => ({ removed: 0 })),
      claimBatch: fromPromise(async ({ input }) => {
          const n = Math.min(ops.queued, input.maxOps);
          if (n === 0) return null;
          return { batchId: input.batchId, operations: Array.from({ length: n }, (_, i) => ({ id: `op-${i}`, seq: i, type: 'DELETE_VERSE' as const, payload: { verseCardId: `c${i}` } })), bytes: n * 10 };
        }),
        uploadBatch: fromPromise(async ({ input }) => ok(input.operations.length)),
        recordResults: fromPromise(async ({ input }) => {
          ops.sent += input.results.length;
          ops.queued -= input.results.length;
          return { status: 'completed' as const, succeeded: input.results.length, requeued: 0, held: 0, dead: 0, pending: ops.queued };
        }),
        releaseBatch: fromPromise(async () => ({ requeued: 0, dead: 0, pending: ops.queued })),
      },
    });
    const machine = syncMachine.provide({
      actors: {
        queue: queueMachine.provide({ actors: { batch } }),
        networkQuality: networkQualityMachine.provide({ actors: { probeLatency: fromPromise(async () => 20) } }),
        refreshSession: fromPromise(() => new Promise<boolean>((resolve, reject) => refreshes.push({ resolve, reject: (m) => reject(new Error(m)) }))),
      },
    });
    // The model: the chart alone, its children's effects left out (forwarding has no one to reach).
    const forwarding = ['forward to queue', 'forward to network', 'tell network ops wait', 'tell queue the session is back'] as const;
    const model = createTestModel(
      toTestMachine(machine).provide({ actions: Object.fromEntries(forwarding.map((name) => [name, () => undefined])) as never }),
      {
        events: [
          { type: 'op.enqueued', priority: 'normal' },
          { type: 'outbox.changed', pending: 0 },
          { type: 'outbox.changed', pending: 2 },
          { type: 'sync.now' },
          { type: 'network.online' },
          { type: 'network.offline' },
          { type: 'network.info', effectiveType: '4g' },
          { type: 'probe.now' },
          { type: 'latency.sampled', latencyMs: 50 },
          { type: 'page.hidden' },
          { type: 'page.visible' },
          // The real queue pauses for auth on a 401 or on 'auth.expired' (sent through the root), and the root hears it.
          { type: 'queue.authPaused' },
          { type: 'session.started' },
          { type: 'xstate.done.actor.refreshSession', output: true },
          { type: 'xstate.done.actor.refreshSession', output: false },
          { type: 'xstate.error.actor.refreshSession', error: 'refresh failed' },
        ] as never,
      },
    );
    const paths = model.getShortestPaths({
      input: { online: true, pending: 0 },
      serializeState: (s, event, prev) =>
        JSON.stringify(s.value) + (event ? ` via ${JSON.stringify(event)} from ${JSON.stringify((prev as { value?: unknown } | undefined)?.value)}` : ''),
      // A refresh answers only while one runs.
      filterEvents: (s, event) => !event.type.includes('.actor.refreshSession') || s.matches('refreshingSession'),
    });
    const coverage = createCoverage(machine, 'sync');
    const forwardedTo: Record<string, 'queue' | 'network' | undefined> = {
      'op.enqueued': 'queue',
      'outbox.changed': 'queue',
      'sync.now': 'queue',
      'page.hidden': 'queue',
      'page.visible': 'queue',
      'auth.expired': 'queue',
      'network.online': 'network',
      'network.offline': 'network',
      'network.info': 'network',
      'probe.now': 'network',
      'latency.sampled': 'network',
    };
    for (const path of paths) {
      refreshes = [];
      ops = { queued: 0, sent: 0 };
      const received: Array<{ to: string; type: string }> = [];
      const actor = createActor(machine, {
        input: { online: true, pending: 0 },
        inspect: (event) => {
          coverage.inspect(event);
          const to = (event.actorRef as { id?: string }).id ?? '';
          if (event.type === '@xstate.event' && (to === SYSTEM_IDS.queue || to === SYSTEM_IDS.network)) received.push({ to, type: event.event.type });
        },
      });
      actor.start();
      await settle();
      const queue = () => actor.system.get(SYSTEM_IDS.queue)!;
      const network = () => actor.system.get(SYSTEM_IDS.network)!;
      // Sends a root event and checks that it reached the actor it is meant for.
      const forward = async (event: SyncEvent) => {
        const before = received.length;
        actor.send(event);
        await settle();
        const target = forwardedTo[event.type];
        if (target) expect(received.slice(before)).toContainEqual({ to: target, type: event.type });
      };
      await path.test({
        states: {
          '*': (state) => {
            const real = actor.getSnapshot();
            expect(real.value).toEqual(state.value);
            for (const tag of ['auth', 'signedOut'] as const) expect(real.hasTag(tag)).toBe(state.hasTag(tag));
            // A queue paused for auth always has the root renewing the session or waiting for a sign-in.
            if (queue().getSnapshot().hasTag('auth')) expect(real.matches('ready')).toBe(false);
            expect(refreshes.length).toBe(real.matches('refreshingSession') ? 1 : 0);
          },
        },
        events: {
          'op.enqueued': async ({ event }) => {
            ops.queued += 1;
            await forward(event as SyncEvent);
          },
          'outbox.changed': async ({ event }) => {
            ops.queued = (event as unknown as { pending: number }).pending;
            await forward(event as SyncEvent);
          },
          'sync.now': ({ event }) => forward(event as SyncEvent),
          'network.online': ({ event }) => forward(event as SyncEvent),
          'network.offline': ({ event }) => forward(event as SyncEvent),
          'network.info': ({ event }) => forward(event as SyncEvent),
          'probe.now': ({ event }) => forward(event as SyncEvent),
          'latency.sampled': ({ event }) => forward(event as SyncEvent),
          'page.hidden': ({ event }) => forward(event as SyncEvent),
          'page.visible': ({ event }) => forward(event as SyncEvent),
          'queue.authPaused': async () => {
            // The queue pauses for auth only while online.
            if (network().getSnapshot().hasTag('offline')) await forward({ type: 'network.online' });
            await forward({ type: 'auth.expired' });
          },
          'session.started': ({ event }) => forward(event as SyncEvent),
          ['xstate.done.actor.refreshSession' as never]: async ({ event }: { event: { output: boolean } }) => {
            refreshes.shift()!.resolve(event.output);
            await settle();
            // A renewed session resumes the queue; otherwise it stays paused.
            expect(queue().getSnapshot().hasTag('auth')).toBe(!event.output);
          },
          ['xstate.error.actor.refreshSession' as never]: async () => {
            refreshes.shift()!.reject('refresh failed');
            await settle();
          },
        },
      });
      actor.stop();
    }
    const { line, missingStates, missingTransitions, unknown } = coverage.report();
    console.log(`${line} (${paths.length} paths)`);
    expect(unknown).toEqual([]);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
  }, 120_000);
});
