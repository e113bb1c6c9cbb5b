import { createActor, fromPromise, SimulatedClock, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import {
  networkQualityMachine,
  type NetworkQualityEvent,
  type NetworkQualityInput,
  type QualityChangedEvent,
} from '../../machines/networkQuality.machine.ts';
import { DEFAULT_BATCH_CONFIG } from '../../machines/types.ts';
import { afterExecutors, createCoverage, createFakeProbe, settle, toTestMachine } from './fakes.ts';

// Most tests here are about the probe itself, so they start as a caller whose probe is the only
// estimate does (probeOnConnect); the default (no probe on connect) has its own tests below.
function start(input: NetworkQualityInput) {
  const clock = new SimulatedClock();
  const probe = createFakeProbe();
  const machine = networkQualityMachine.provide({ actors: { probeLatency: probe.probeLatency } });
  const actor = createActor(machine, { input: { probeOnConnect: true, ...input }, clock });
  const changes: QualityChangedEvent[] = [];
  actor.on('quality.changed', (event) => changes.push(event));
  actor.start();
  const answer = async (ms: number | Error) => {
    const call = probe.open()[0];
    if (!call) throw new Error('no probe in flight');
    if (ms instanceof Error) call.reject(ms.message);
    else call.resolve(ms);
    await settle(2);
  };
  const tick = async (ms: number) => {
    clock.increment(ms);
    await settle(2);
  };
  return { actor, machine, clock, probe, changes, answer, tick };
}

const qualityOf = (actor: { getSnapshot(): SnapshotFrom<typeof networkQualityMachine> }) => actor.getSnapshot().context.quality;

describe('networkQuality machine, by default (no probe on connect)', () => {
  test('nothing is measured on connecting: the quality is assumed good until the first batch round trip sets it at once', async () => {
    const { actor, probe, changes, tick } = start({ online: true, probeOnConnect: false });
    expect(actor.getSnapshot().matches({ online: 'unmeasured' })).toBe(true);
    expect(qualityOf(actor)).toBe('good');
    expect(actor.getSnapshot().context.batchConfig).toEqual(DEFAULT_BATCH_CONFIG.good);
    expect(actor.getSnapshot().context.measured).toBe(false);
    // Ops waiting, and an hour passing, make no request only to measure: the batch will measure.
    actor.send({ type: 'ops.waiting' });
    await tick(3_600_000);
    expect(probe.calls).toHaveLength(0);
    // One batch round trip sets the quality at once (no hysteresis for the first sample).
    actor.send({ type: 'latency.sampled', latencyMs: 40 });
    await settle(2);
    expect(actor.getSnapshot().matches({ online: { excellent: 'fresh' } })).toBe(true);
    expect(actor.getSnapshot().context.measured).toBe(true);
    expect(changes.map((c) => [c.online, c.quality])).toEqual([[true, 'good'], [true, 'excellent']]);
    expect(probe.calls).toHaveLength(0);
  });

  test("the assumed quality is the browser's estimate where it gives one", async () => {
    expect(qualityOf(start({ online: true, probeOnConnect: false, connection: { effectiveType: '2g' } }).actor)).toBe('poor');
    expect(qualityOf(start({ online: true, probeOnConnect: false, connection: { rtt: 50, effectiveType: '4g' } }).actor)).toBe('excellent');
    expect(qualityOf(start({ online: true, probeOnConnect: false, connection: { rtt: 800 } }).actor)).toBe('poor');
    const info = start({ online: true, probeOnConnect: false });
    info.actor.send({ type: 'network.info', effectiveType: '3g', rtt: 300 });
    expect(qualityOf(info.actor)).toBe('good');
    info.actor.send({ type: 'network.info', saveData: true });
    expect(qualityOf(info.actor)).toBe('poor');
    expect(info.probe.calls).toHaveLength(0);
  });

  test('probe.now measures before any batch did; reconnecting keeps the last measured quality and probes nothing', async () => {
    const { actor, probe, answer } = start({ online: true, probeOnConnect: false });
    actor.send({ type: 'probe.now' });
    expect(probe.calls).toHaveLength(1);
    await answer(900);
    expect(qualityOf(actor)).toBe('poor');
    actor.send({ type: 'network.offline' });
    actor.send({ type: 'network.online' });
    expect(actor.getSnapshot().matches({ online: 'unmeasured' })).toBe(true);
    expect(qualityOf(actor)).toBe('poor');
    expect(probe.calls).toHaveLength(1);
  });
});

describe('networkQuality machine', () => {
  test('starts offline with the offline tag, and probes once on coming online', async () => {
    const { actor, probe, changes, answer } = start({ online: false });
    expect(actor.getSnapshot().hasTag('offline')).toBe(true);
    expect(probe.calls).toHaveLength(0);
    actor.send({ type: 'network.online' });
    expect(actor.getSnapshot().matches({ online: 'probing' })).toBe(true);
    expect(probe.calls).toHaveLength(1);
    await answer(50);
    expect(actor.getSnapshot().matches({ online: 'excellent' })).toBe(true);
    // Coming online is announced with the quality held (assumed good), then the probe's answer.
    expect(changes).toEqual([
      { type: 'quality.changed', online: true, quality: 'good', batchConfig: DEFAULT_BATCH_CONFIG.good },
      { type: 'quality.changed', online: true, quality: 'excellent', batchConfig: DEFAULT_BATCH_CONFIG.excellent },
    ]);
    expect(actor.getSnapshot().context.lastLatencyMs).toBe(50);
  });

  test('classifies by thresholds at once on the first probe: poor, good, excellent', async () => {
    for (const [ms, quality] of [[900, 'poor'], [300, 'good'], [100, 'excellent']] as const) {
      const { actor, answer } = start({ online: true });
      await answer(ms);
      expect(qualityOf(actor)).toBe(quality);
      expect(actor.getSnapshot().context.batchConfig).toEqual(DEFAULT_BATCH_CONFIG[quality]);
    }
  });

  test('a failed or hung probe is a poor sample', async () => {
    const failed = start({ online: true });
    await failed.answer(new Error('fetch failed'));
    expect(qualityOf(failed.actor)).toBe('poor');
    const hung = start({ online: true, probeTimeoutMs: 5_000 });
    await hung.tick(5_000);
    expect(qualityOf(hung.actor)).toBe('poor');
  });

  test('hysteresis: one slow sample does not flap; two in a row change the quality (samples from batches)', async () => {
    const { actor, answer, changes } = start({ online: true });
    await answer(50);
    expect(qualityOf(actor)).toBe('excellent');
    const sample = async (latencyMs: number) => {
      actor.send({ type: 'latency.sampled', latencyMs });
      await settle(2);
    };
    await sample(900);
    expect(qualityOf(actor)).toBe('excellent');
    expect(actor.getSnapshot().context.candidate).toBe('poor');
    await sample(50); // agrees with the current quality: the slow sample is forgotten
    expect(actor.getSnapshot().context.candidate).toBeNull();
    await sample(900);
    await sample(900);
    expect(actor.getSnapshot().matches({ online: 'poor' })).toBe(true);
    expect(changes.map((c) => c.quality)).toEqual(['good', 'excellent', 'poor']);
  });

  test('no request only to measure: a stale estimate is measured again only when ops wait', async () => {
    const { actor, answer, tick, probe } = start({ online: true, probeIntervalMs: 120_000 });
    await answer(50);
    expect(probe.calls).toHaveLength(1);
    // An hour with nothing to send: no probe.
    await tick(3_600_000);
    expect(probe.calls).toHaveLength(1);
    expect(actor.getSnapshot().matches({ online: { excellent: 'stale' } })).toBe(true);
    actor.send({ type: 'ops.waiting' });
    await settle(2);
    expect(probe.calls).toHaveLength(2);
    await answer(50);
    // Ops waiting with a recent estimate: no probe.
    actor.send({ type: 'ops.waiting' });
    await settle(2);
    expect(probe.calls).toHaveLength(2);
  });

  test("batches' own round trips keep the estimate recent, so a study session needs no probe", async () => {
    const { actor, answer, tick, probe } = start({ online: true, probeIntervalMs: 120_000 });
    await answer(50);
    for (let i = 0; i < 20; i++) {
      await tick(30_000);
      actor.send({ type: 'ops.waiting' });
      actor.send({ type: 'latency.sampled', latencyMs: 60 });
      await settle(2);
    }
    expect(probe.calls).toHaveLength(1);
    expect(qualityOf(actor)).toBe('excellent');
  });

  test('probe.now measures at once; no probe runs while offline', async () => {
    const { actor, answer, tick, probe } = start({ online: true, probeIntervalMs: 30_000 });
    await answer(300);
    actor.send({ type: 'probe.now' });
    expect(probe.open()).toHaveLength(1);
    await answer(300);
    actor.send({ type: 'network.offline' });
    await tick(120_000);
    expect(probe.open()).toHaveLength(0);
  });

  test('going offline is announced as a change, with the offline tag', async () => {
    const { actor, answer, changes } = start({ online: true });
    await answer(300);
    actor.send({ type: 'network.offline' });
    expect(actor.getSnapshot().hasTag('offline')).toBe(true);
    expect(changes.at(-1)).toEqual({ type: 'quality.changed', online: false, quality: 'good', batchConfig: DEFAULT_BATCH_CONFIG.good });
  });

  test('Network Information: saveData and 2g mean poor, 3g at most good, rtt by thresholds', async () => {
    const { actor, answer } = start({ online: true });
    await answer(50);
    actor.send({ type: 'network.info', effectiveType: '3g' });
    expect(qualityOf(actor)).toBe('good');
    actor.send({ type: 'network.info', effectiveType: '4g', rtt: 40 });
    expect(qualityOf(actor)).toBe('excellent');
    actor.send({ type: 'network.info', saveData: true });
    expect(qualityOf(actor)).toBe('poor');
    expect(actor.getSnapshot().matches({ online: 'poor' })).toBe(true);
    actor.send({ type: 'network.info', saveData: false, effectiveType: 'slow-2g' });
    expect(qualityOf(actor)).toBe('poor');

    const capped = start({ online: true, connection: { effectiveType: '2g' } });
    await capped.answer(10);
    expect(qualityOf(capped.actor)).toBe('poor');
  });

  test('input overrides merge into the default batch config', async () => {
    const { actor, answer } = start({ online: true, config: { good: { size: 7 } } });
    await answer(300);
    expect(actor.getSnapshot().context.batchConfig).toEqual({ ...DEFAULT_BATCH_CONFIG.good, size: 7 });
  });
});

describe('networkQuality model-based', () => {
  test('every state and transition is reached by the generated paths, against the real machine', async () => {
    const base = { hysteresis: 2, probeIntervalMs: 30_000, probeTimeoutMs: 10_000 };
    const inputs: NetworkQualityInput[] = [
      { ...base, online: false },
      { ...base, online: true },
      { ...base, online: true, probeOnConnect: true },
    ];
    const testMachine = toTestMachine(networkQualityMachine);
    const latencies = [50, 300, 900];
    const model = createTestModel(testMachine, {
      events: [
        { type: 'network.online' },
        { type: 'network.offline' },
        { type: 'network.info', rtt: 50, effectiveType: '4g', saveData: false },
        { type: 'network.info', rtt: 50, effectiveType: '2g' },
        { type: 'probe.now' },
        { type: 'ops.waiting' },
        ...latencies.map((latencyMs) => ({ type: 'latency.sampled', latencyMs }) as NetworkQualityEvent),
        ...latencies.map((output) => ({ type: 'xstate.done.actor.probe', output }) as unknown as NetworkQualityEvent),
        { type: 'xstate.error.actor.probe', error: 'probe failed' } as unknown as NetworkQualityEvent,
      ],
    });
    // The abstract state: where it is and what decides the next step (not the raw latency).
    const abstract = (s: SnapshotFrom<typeof networkQualityMachine>) =>
      JSON.stringify([s.value, s.context.quality, s.context.candidate, s.context.candidateCount, s.context.connection.effectiveType ?? null]);
    const paths = inputs.flatMap((input) => model.getShortestPaths({
      input,
      serializeState: (s, event, prev) =>
        abstract(s as never) + (event ? ` via ${JSON.stringify(event)} from ${abstract(prev as never)}` : ''),
    }).map((path) => ({ path, input })));

    // One provided machine for every path, so coverage is counted on the state nodes the actors run.
    let probe = createFakeProbe();
    const machine = networkQualityMachine.provide({ actors: { probeLatency: fromPromise<number>(({ signal }) => probe.probe(signal)) } });
    const coverage = createCoverage(machine, 'networkQuality');
    for (const { path, input } of paths) {
      probe = createFakeProbe();
      const clock = new SimulatedClock();
      const actor = createActor(machine, { input, clock, inspect: coverage.inspect }).start();
      await path.test({
        states: {
          '*': (state) => {
            const real = actor.getSnapshot();
            expect(real.value).toEqual(state.value);
            expect(real.context.quality).toBe(state.context.quality);
            expect(real.context.candidate).toBe(state.context.candidate);
            expect(real.hasTag('offline')).toBe(state.hasTag('offline'));
            // Offline never probes; online at most one probe at a time.
            expect(probe.open().length).toBeLessThanOrEqual(real.matches('offline') ? 0 : 1);
          },
        },
        events: {
          'network.online': async () => void actor.send({ type: 'network.online' }),
          'network.offline': async () => void actor.send({ type: 'network.offline' }),
          'network.info': async ({ event }) => void actor.send(event as NetworkQualityEvent),
          'probe.now': async () => void actor.send({ type: 'probe.now' }),
          'ops.waiting': async () => void actor.send({ type: 'ops.waiting' }),
          'latency.sampled': async ({ event }) => {
            actor.send(event as NetworkQualityEvent);
            await settle(2);
          },
          ['xstate.done.actor.probe' as never]: async ({ event }: { event: { output: number } }) => {
            probe.open()[0]?.resolve(event.output);
            await settle(2);
          },
          ['xstate.error.actor.probe' as never]: async () => {
            probe.open()[0]?.reject('probe failed');
            await settle(2);
          },
          ...afterExecutors(
            machine,
            (delay) => (delay === 'probeInterval' ? input.probeIntervalMs! : input.probeTimeoutMs!),
            async (ms) => {
              clock.increment(ms);
              await settle(2);
            },
          ),
        },
      });
      actor.stop();
    }
    const { line, missingStates, missingTransitions, unknown } = coverage.report();
    console.log(`${line} (${paths.length} paths)`);
    expect(unknown).toEqual([]);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
    // Near a thousand paths, each run for real: slow on a loaded 2-core machine.
  }, 180_000);
});
