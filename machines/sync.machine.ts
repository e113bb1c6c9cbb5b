// The root: runs the network-quality and queue actors under stable system ids,
// forwards the outside world's events to them, tells the queue when the network
// changes, and refreshes the session when the queue pauses for auth.
import { enqueueActions, fromCallback, fromPromise, raise, sendTo, setup } from 'xstate';
import { assumedQuality, batchConfigs, DEFAULT_THRESHOLDS, networkQualityMachine, type ConnectionInfo, type NetworkQualityInput } from './networkQuality.machine.ts';
import { queueMachine, type QueueInput } from './queue.machine.ts';
import { type BatchConfig, type Priority, type Quality } from './types.ts';

export type SyncInput = {
  online: boolean;
  /** Ops queued in the outbox at start. */
  pending: number;
  connection?: ConnectionInfo;
  network?: Omit<NetworkQualityInput, 'online' | 'connection'>;
  queue?: Pick<QueueInput, 'requestTimeoutMs' | 'backoff' | 'budget' | 'ackAllowanceMs'>;
};

export type SyncContext = {
  online: boolean;
  quality: Quality;
  batchConfig: BatchConfig;
  pendingAtStart: number;
  queueInput: SyncInput['queue'];
  networkInput: NetworkQualityInput;
};

export type SyncEvent =
  | { type: 'op.enqueued'; priority: Priority; count?: number }
  | { type: 'outbox.changed'; pending: number }
  | { type: 'sync.now' }
  | { type: 'network.online' }
  | { type: 'network.offline' }
  | ({ type: 'network.info' } & ConnectionInfo)
  | { type: 'probe.now' }
  /** A batch's round trip, for the network estimate. */
  | { type: 'latency.sampled'; latencyMs: number }
  /** The page is hidden, frozen or closing (send what waits now, keepalive), or visible again. */
  | { type: 'page.hidden' }
  | { type: 'page.visible' }
  | { type: 'auth.expired' }
  /** A user signed in, or the session was renewed outside the machine. */
  | { type: 'session.started' }
  | { type: 'queue.authPaused' };

/** System ids, stable so the inspector and `actor.system.get(id)` find the same actors every run. */
export const SYSTEM_IDS = { network: 'network', queue: 'queue', retryBackoff: 'retry-backoff' } as const;

export const syncMachine = setup({
  types: {
    context: {} as SyncContext,
    events: {} as SyncEvent,
    input: {} as SyncInput,
    tags: {} as 'auth' | 'signedOut',
  },
  actors: {
    networkQuality: networkQualityMachine,
    queue: queueMachine,
    refreshSession: fromPromise<boolean>(async () => {
      throw new Error("provide 'refreshSession' via .provide()");
    }),
    // Where online/offline and connection estimates come from (the browser's, in the app);
    // without one, only events sent to the root move the network machine.
    networkEvents: fromCallback(() => undefined),
    // Where 'page.hidden' / 'page.visible' come from (the document's lifecycle, in the app).
    pageEvents: fromCallback(() => undefined),
  },
  guards: {
    reportsPending: ({ event }) => event.type === 'outbox.changed' && event.pending > 0,
    sessionRenewed: ({ event }) => (event as { output?: unknown }).output === true,
  },
  actions: {
    'forward to queue': sendTo(SYSTEM_IDS.queue, ({ event }) => event),
    'forward to network': sendTo(SYSTEM_IDS.network, ({ event }) => event),
    'tell network ops wait': sendTo(SYSTEM_IDS.network, { type: 'ops.waiting' }),
    'tell queue the session is back': sendTo(SYSTEM_IDS.queue, { type: 'auth.refreshed' }),
  },
}).createMachine({
  id: 'sync',
  context: ({ input }) => {
    const networkInput: NetworkQualityInput = { ...input.network, online: input.online, connection: input.connection };
    const configs = batchConfigs(input.network?.config);
    // The network machine's own starting estimate (assumed until a round trip is measured), so the
    // root and the queue never start from a quality the network actor does not hold.
    const quality = assumedQuality({ ...input.connection }, input.network?.thresholds ?? DEFAULT_THRESHOLDS);
    return {
      online: input.online,
      quality,
      batchConfig: configs[quality],
      pendingAtStart: input.pending,
      queueInput: input.queue,
      networkInput,
    };
  },
  invoke: [
    { id: 'network-events', src: 'networkEvents' },
    { id: 'page-events', src: 'pageEvents' },
    {
      id: SYSTEM_IDS.network,
      systemId: SYSTEM_IDS.network,
      src: 'networkQuality',
      input: ({ context }) => context.networkInput,
      onSnapshot: {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { online, quality, batchConfig } = event.snapshot.context;
          if (online === context.online && quality === context.quality && batchConfig === context.batchConfig) return;
          enqueue.assign({ online, quality, batchConfig });
          enqueue.sendTo(SYSTEM_IDS.queue, { type: 'network.changed', online, config: batchConfig });
        }),
      },
    },
    {
      id: SYSTEM_IDS.queue,
      systemId: SYSTEM_IDS.queue,
      src: 'queue',
      input: ({ context }) => ({
        ...context.queueInput,
        pending: context.pendingAtStart,
        online: context.online,
        config: context.batchConfig,
      }),
      onSnapshot: {
        actions: enqueueActions(({ event, enqueue }) => {
          if (event.snapshot.hasTag('auth')) enqueue(raise({ type: 'queue.authPaused' }));
        }),
      },
    },
  ],
  on: {
    'op.enqueued': { actions: ['forward to queue', 'tell network ops wait'] },
    'outbox.changed': [
      { guard: 'reportsPending', actions: ['forward to queue', 'tell network ops wait'] },
      { actions: 'forward to queue' },
    ],
    'page.hidden': { actions: 'forward to queue' },
    'page.visible': { actions: 'forward to queue' },
    'latency.sampled': { actions: 'forward to network' },
    'sync.now': { actions: 'forward to queue' },
    'auth.expired': { actions: 'forward to queue' },
    'network.online': { actions: 'forward to network' },
    'network.offline': { actions: 'forward to network' },
    'network.info': { actions: 'forward to network' },
    'probe.now': { actions: 'forward to network' },
  },
  initial: 'ready',
  states: {
    ready: {
      description: 'The network and queue actors run; the root forwards the outside world to them.',
      on: { 'queue.authPaused': 'refreshingSession' },
    },
    // The queue waits in paused.auth; no retry is spent while the session is renewed.
    refreshingSession: {
      description: 'The queue paused on a 401: the session is renewed once, then the queue goes on.',
      tags: 'auth',
      invoke: {
        id: 'refreshSession',
        src: 'refreshSession',
        onDone: [
          { guard: 'sessionRenewed', target: 'ready', actions: 'tell queue the session is back' },
          { target: 'signedOut' },
        ],
        onError: 'signedOut',
      },
    },
    // Nobody can renew the session: ops wait, durable, until someone signs in.
    signedOut: {
      description: 'Nobody can renew the session: ops wait, durable, until someone signs in.',
      tags: ['auth', 'signedOut'],
      on: { 'session.started': { target: 'ready', actions: 'tell queue the session is back' } },
    },
  },
});

export type SyncMachine = typeof syncMachine;
