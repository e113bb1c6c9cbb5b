// Connection quality from round trips and the Network Information API; decides the batch config.
// The round trips are the batches' own (sent in as 'latency.sampled'). Nothing is measured on
// connecting: until the first batch's round trip arrives, the quality is assumed from the browser's
// own estimate (Network Information API) or, without one, 'good'. A probe of its own runs only when
// asked ('probe.now') or when ops wait and the estimate has gone stale: a request made only to
// measure wakes the radio as much as a batch does.
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { DEFAULT_BATCH_CONFIG, type BatchConfig, type Quality } from './types.ts';

export type ConnectionInfo = { rtt?: number; effectiveType?: string; saveData?: boolean };

export type NetworkQualityInput = {
  online: boolean;
  config?: Partial<Record<Quality, Partial<BatchConfig>>>;
  /** How long an estimate (a probe's or a batch's round trip) counts as recent (default 2 min). */
  probeIntervalMs?: number;
  /** A probe without an answer after this long counts as a poor sample (default 10 s). */
  probeTimeoutMs?: number;
  /** Latency at or under `excellentMs` is excellent, at or under `goodMs` good, else poor. */
  thresholds?: { excellentMs: number; goodMs: number };
  /** Consecutive samples that must agree before the quality changes (default 2). */
  hysteresis?: number;
  connection?: ConnectionInfo;
  /**
   * Probe on every connect, as before any batch (default false: the first batch's round trip
   * measures). For a caller whose probe is the only estimate (a test or a bench holding one quality).
   */
  probeOnConnect?: boolean;
};

export type NetworkQualityContext = {
  online: boolean;
  quality: Quality;
  /** The config of the current quality. */
  batchConfig: BatchConfig;
  configs: Record<Quality, BatchConfig>;
  lastLatencyMs: number | null;
  connection: ConnectionInfo;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  thresholds: { excellentMs: number; goodMs: number };
  hysteresis: number;
  /** A quality the last samples agree on that differs from `quality`, and how many agree. */
  candidate: Quality | null;
  candidateCount: number;
  /** A round trip (a batch's or a probe's) has been measured since the machine started. */
  measured: boolean;
  probeOnConnect: boolean;
};

export type NetworkQualityEvent =
  | { type: 'network.online' }
  | { type: 'network.offline' }
  | ({ type: 'network.info' } & ConnectionInfo)
  | { type: 'probe.now' }
  /** A batch's round trip, measured by whoever sent it. */
  | { type: 'latency.sampled'; latencyMs: number }
  /** Ops wait to be sent: measure if no estimate is recent. */
  | { type: 'ops.waiting' };

export type QualityChangedEvent = { type: 'quality.changed'; online: boolean; quality: Quality; batchConfig: BatchConfig };

export const DEFAULT_THRESHOLDS = { excellentMs: 100, goodMs: 500 };

const RANK: Record<Quality, number> = { poor: 0, good: 1, excellent: 2 };
const worst = (a: Quality, b: Quality): Quality => (RANK[a] <= RANK[b] ? a : b);

/** The best quality the browser's own estimate allows (saveData and 2g mean poor, 3g at most good). */
export function connectionCap(connection: ConnectionInfo): Quality {
  if (connection.saveData) return 'poor';
  if (connection.effectiveType === 'slow-2g' || connection.effectiveType === '2g') return 'poor';
  if (connection.effectiveType === '3g') return 'good';
  return 'excellent';
}

/** One sample's quality: latency by thresholds (a failed probe is poor), capped by the connection info. */
export function classifySample(
  latencyMs: number | null,
  thresholds: { excellentMs: number; goodMs: number },
  connection: ConnectionInfo,
): Quality {
  const byLatency: Quality =
    latencyMs === null ? 'poor' : latencyMs <= thresholds.excellentMs ? 'excellent' : latencyMs <= thresholds.goodMs ? 'good' : 'poor';
  return worst(byLatency, connectionCap(connection));
}

/** Each quality's batch config: the defaults with the caller's overrides, field by field. */
export function batchConfigs(overrides: NetworkQualityInput['config']): Record<Quality, BatchConfig> {
  return {
    poor: { ...DEFAULT_BATCH_CONFIG.poor, ...overrides?.poor },
    good: { ...DEFAULT_BATCH_CONFIG.good, ...overrides?.good },
    excellent: { ...DEFAULT_BATCH_CONFIG.excellent, ...overrides?.excellent },
  };
}

/**
 * The quality assumed before anything is measured: the browser's estimate where it gives one (its
 * rtt by the thresholds, capped by effectiveType and saveData), else 'good' — the seed table's middle
 * row, so a study session's first batch is not cut at poor's 3 ops, and a first batch too big for a
 * slow link times out into a poor sample and smaller batches.
 */
export function assumedQuality(connection: ConnectionInfo, thresholds: { excellentMs: number; goodMs: number }): Quality {
  if (connection.rtt !== undefined) return classifySample(connection.rtt, thresholds, connection);
  return worst('good', connectionCap(connection));
}

const changed = (context: NetworkQualityContext, online: boolean, quality: Quality): QualityChangedEvent => ({
  type: 'quality.changed',
  online,
  quality,
  batchConfig: context.configs[quality],
});

/** A probe's answer as a latency; anything else (a rejection, a timeout) is a failed sample. */
const latencyOf = (event: unknown): number | null => {
  const e = event as { type?: string; output?: unknown; latencyMs?: unknown };
  const output = e.type === 'latency.sampled' ? e.latencyMs : e.output;
  return typeof output === 'number' && Number.isFinite(output) ? output : null;
};

const QUALITY_DESCRIPTIONS: Record<Quality, string> = {
  poor: 'Slow or constrained (saveData, 2g, high latency): small batches, a long idle gap.',
  good: 'An ordinary connection: batches of the good size; backlogs grow them.',
  excellent: 'Fast: the largest batches.',
};

// The first sample (a batch's round trip or a probe's answer) sets the quality at once, no hysteresis.
const FIRST_SAMPLE = [
  { guard: { type: 'sampleIs' as const, params: { quality: 'poor' as const } }, target: '#networkQuality.online.poor', actions: 'take first sample' as const },
  { guard: { type: 'sampleIs' as const, params: { quality: 'good' as const } }, target: '#networkQuality.online.good', actions: 'take first sample' as const },
  { target: '#networkQuality.online.excellent', actions: 'take first sample' as const },
];

const qualityState = (quality: Quality) => {
  const others = (['poor', 'good', 'excellent'] as const).filter((q) => q !== quality);
  return {
    description: QUALITY_DESCRIPTIONS[quality],
    initial: 'fresh' as const,
    // Samples and connection info change `quality` in context; the state follows it.
    always: others.map((q) => ({ guard: { type: 'isQuality' as const, params: { quality: q } }, target: `#networkQuality.online.${q}` })),
    on: {
      // The browser's estimate is already smoothed: it applies at once, without hysteresis.
      'network.info': { actions: 'apply connection info' as const },
    },
    states: {
      fresh: {
        description: 'The estimate is recent; batches keep it so by their own round trips.',
        after: { probeInterval: 'stale' },
        on: {
          'probe.now': 'measuring',
          'latency.sampled': { target: 'fresh', reenter: true, actions: 'take sample' as const },
        },
      },
      stale: {
        description: 'No recent estimate: nothing is measured until ops wait.',
        on: {
          'ops.waiting': 'measuring',
          'probe.now': 'measuring',
          'latency.sampled': { target: 'fresh', actions: 'take sample' as const },
        },
      },
      measuring: {
        description: 'One probe measures the round trip (ops wait, or asked to); a timeout counts as a poor sample.',
        invoke: {
          id: 'probe',
          src: 'probeLatency' as const,
          onDone: { target: 'fresh', actions: 'take sample' as const },
          onError: { target: 'fresh', actions: 'take sample' as const },
        },
        after: { probeTimeout: { target: 'fresh', actions: 'take sample' as const } },
      },
    },
  };
};

export const networkQualityMachine = setup({
  types: {
    context: {} as NetworkQualityContext,
    events: {} as NetworkQualityEvent,
    input: {} as NetworkQualityInput,
    emitted: {} as QualityChangedEvent,
    tags: {} as 'offline',
  },
  actors: {
    probeLatency: fromPromise<number>(async () => {
      throw new Error("provide 'probeLatency' via .provide()");
    }),
  },
  guards: {
    isOnline: ({ context }) => context.online,
    probesOnConnect: ({ context }) => context.probeOnConnect,
    isQuality: ({ context }, params: { quality: Quality }) => context.quality === params.quality,
    sampleIs: ({ context, event }, params: { quality: Quality }) =>
      classifySample(latencyOf(event), context.thresholds, context.connection) === params.quality,
  },
  delays: {
    probeInterval: ({ context }) => context.probeIntervalMs,
    probeTimeout: ({ context }) => context.probeTimeoutMs,
  },
  actions: {
    'remember connection': assign({
      connection: ({ context, event }) => (event.type === 'network.info' ? connectionOf(event, context.connection) : context.connection),
    }),
    'apply connection info': enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'network.info') return;
      const connection = connectionOf(event, context.connection);
      const quality = classifySample(event.rtt ?? context.lastLatencyMs, context.thresholds, connection);
      enqueue.assign({ connection, quality, batchConfig: context.configs[quality], candidate: null, candidateCount: 0 });
      if (quality !== context.quality) enqueue.emit(changed(context, true, quality));
    }),
    // The first sample after coming online sets the quality at once (and announces being online).
    'take first sample': enqueueActions(({ context, event, enqueue }) => {
      const latencyMs = latencyOf(event);
      const quality = classifySample(latencyMs, context.thresholds, context.connection);
      enqueue.assign({ quality, batchConfig: context.configs[quality], lastLatencyMs: latencyMs, candidate: null, candidateCount: 0, measured: true });
      enqueue.emit(changed(context, true, quality));
    }),
    // Later samples change the quality only when `hysteresis` of them in a row agree.
    'take sample': enqueueActions(({ context, event, enqueue }) => {
      const latencyMs = latencyOf(event);
      const sample = classifySample(latencyMs, context.thresholds, context.connection);
      if (sample === context.quality) {
        enqueue.assign({ lastLatencyMs: latencyMs ?? context.lastLatencyMs, candidate: null, candidateCount: 0, measured: true });
        return;
      }
      const count = sample === context.candidate ? context.candidateCount + 1 : 1;
      if (count >= context.hysteresis) {
        enqueue.assign({ quality: sample, batchConfig: context.configs[sample], lastLatencyMs: latencyMs ?? context.lastLatencyMs, candidate: null, candidateCount: 0, measured: true });
        enqueue.emit(changed(context, true, sample));
      } else {
        enqueue.assign({ lastLatencyMs: latencyMs ?? context.lastLatencyMs, candidate: sample, candidateCount: count, measured: true });
      }
    }),
    // Announces being online with the quality held (assumed, or the last measured).
    'go online': enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ online: true });
      enqueue.emit(changed(context, true, context.quality));
    }),
    'go offline': enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ online: false, candidate: null, candidateCount: 0 });
      enqueue.emit(changed(context, false, context.quality));
    }),
  },
}).createMachine({
  id: 'networkQuality',
  context: ({ input }) => {
    const configs = batchConfigs(input.config);
    const connection = { ...input.connection };
    const thresholds = input.thresholds ?? DEFAULT_THRESHOLDS;
    // Until a round trip says otherwise: the browser's estimate, or 'good'.
    const quality = assumedQuality(connection, thresholds);
    return {
      online: input.online,
      quality,
      batchConfig: configs[quality],
      configs,
      lastLatencyMs: null,
      connection,
      probeIntervalMs: input.probeIntervalMs ?? 120_000,
      probeTimeoutMs: input.probeTimeoutMs ?? 10_000,
      thresholds,
      hysteresis: Math.max(1, input.hysteresis ?? 2),
      candidate: null,
      candidateCount: 0,
      measured: false,
      probeOnConnect: input.probeOnConnect === true,
    };
  },
  initial: 'offline',
  on: {
    'network.info': { actions: 'remember connection' },
  },
  states: {
    offline: {
      description: 'The browser says there is no network: nothing is measured.',
      tags: 'offline',
      // `online` comes from input at start; afterwards only 'network.online' sets it.
      always: { guard: 'isOnline', target: 'online' },
      on: { 'network.online': 'online' },
    },
    online: {
      description: 'Connected: the quality sets the batch config the queue uses.',
      entry: 'go online',
      on: {
        'network.offline': { target: 'offline', actions: 'go offline' },
      },
      initial: 'unmeasured',
      states: {
        unmeasured: {
          description:
            "Connected, nothing measured since: the quality held (the last measured, else the browser's estimate or good) sizes batches until the next batch's round trip sets it at once. No request is made only to measure.",
          always: { guard: 'probesOnConnect', target: 'probing' },
          on: {
            'latency.sampled': FIRST_SAMPLE,
            'probe.now': 'probing',
            'network.info': { actions: 'apply connection info' },
          },
        },
        probing: {
          description: 'Asked to measure before any batch did (or probing on connect was chosen): the first probe sets the quality at once.',
          invoke: {
            id: 'probe',
            src: 'probeLatency',
            onDone: FIRST_SAMPLE,
            onError: { target: 'poor', actions: 'take first sample' },
          },
          after: { probeTimeout: { target: 'poor', actions: 'take first sample' } },
        },
        poor: qualityState('poor'),
        good: qualityState('good'),
        excellent: qualityState('excellent'),
      },
    },
  },
});

function connectionOf(event: ConnectionInfo, previous: ConnectionInfo): ConnectionInfo {
  return {
    rtt: event.rtt ?? previous.rtt,
    effectiveType: event.effectiveType ?? previous.effectiveType,
    saveData: event.saveData ?? previous.saveData,
  };
}
