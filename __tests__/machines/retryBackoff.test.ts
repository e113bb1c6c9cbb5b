import { createActor, SimulatedClock } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { backoffDelay, retryBackoffMachine, retryBackoffRandomness, type RetryBackoffInput } from '../../machines/retryBackoff.machine.ts';
import { afterExecutors, createCoverage, seeded, settle, toTestMachine } from './fakes.ts';

/** The machine drawing from `random` (provided, as the app provides Math.random). */
const drawingFrom = (random: () => number) => retryBackoffMachine.provide(retryBackoffRandomness(random));

function start(input: RetryBackoffInput, random: () => number = Math.random, clock = new SimulatedClock()) {
  const actor = createActor(drawingFrom(random), { input, clock });
  actor.start();
  return { actor, clock };
}

describe('retryBackoff machine', () => {
  test('full jitter: every delay lies in [0, min(cap, base·2^attempt)) over many seeded draws', () => {
    const random = seeded(42);
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(60_000, 1_000 * 2 ** attempt);
      let max = 0;
      for (let i = 0; i < 500; i += 1) {
        const { actor } = start({ attempt }, random);
        const delayMs = actor.getSnapshot().context.delayMs!;
        expect(delayMs).toBeGreaterThanOrEqual(0);
        expect(delayMs).toBeLessThan(ceiling);
        expect(Number.isInteger(delayMs)).toBe(true);
        max = Math.max(max, delayMs);
        actor.stop();
      }
      // The draws spread over the range rather than sticking to one value.
      if (attempt < 10) expect(max).toBeGreaterThan(ceiling * 0.9);
    }
  });

  test('waits exactly the drawn delay, then is due', () => {
    const { actor, clock } = start({ attempt: 3, baseMs: 1_000 }, () => 0.5);
    expect(actor.getSnapshot().context.delayMs).toBe(4_000);
    expect(actor.getSnapshot().hasTag('error')).toBe(true);
    clock.increment(3_999);
    expect(actor.getSnapshot().value).toBe('waiting');
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe('due');
    expect(actor.getSnapshot().output).toEqual({ attempt: 3, delayMs: 4_000 });
  });

  test('Retry-After is a floor, even above the cap; jitter spreads the retry over the next half of it', () => {
    expect(backoffDelay({ attempt: 0, retryAfterMs: 120_000, random: () => 0 })).toBe(120_000);
    expect(backoffDelay({ attempt: 0, retryAfterMs: 120_000, random: () => 0.999999 })).toBe(179_999);
    const { actor, clock } = start({ attempt: 5, retryAfterMs: 7_000, retryAfterOnly: true }, () => 0);
    clock.increment(6_999);
    expect(actor.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(actor.getSnapshot().output).toEqual({ attempt: 5, delayMs: 7_000 });
  });

  test('a Retry-After on a failure that also backs off (a 503) waits the longer of the two; a 429 waits only what the server asked', () => {
    // random() = 0.5: backoff half of min(cap, base·2^5) = 16 s; the server's 2 s plus half a spread = 2.5 s.
    expect(start({ attempt: 5, retryAfterMs: 2_000 }, () => 0.5).actor.getSnapshot().context.delayMs).toBe(16_000);
    expect(start({ attempt: 5, retryAfterMs: 2_000, retryAfterOnly: true }, () => 0.5).actor.getSnapshot().context.delayMs).toBe(2_500);
  });

  test('a herd told "Retry-After: 2" comes back spread over 2–3 s, never earlier', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 400 }, () => backoffDelay({ attempt: 0, retryAfterMs: 2_000, random }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...delays)).toBeLessThan(3_000);
    // No 100 ms slot holds more than a fifth of them (all in one slot before the spread).
    const slots = new Map<number, number>();
    for (const d of delays) slots.set(Math.floor(d / 100), (slots.get(Math.floor(d / 100)) ?? 0) + 1);
    expect(slots.size).toBe(10);
    expect(Math.max(...slots.values())).toBeLessThan(80);
  });

  test('the cap bounds the delay', () => {
    expect(backoffDelay({ attempt: 30, baseMs: 1_000, capMs: 60_000, random: () => 0.999999 })).toBe(59_999);
  });

  test('past maxAttempts the wait stops growing and still ends: the timer never gives up', () => {
    const { actor, clock } = start({ attempt: 15, maxAttempts: 3, baseMs: 1_000, capMs: 60_000 }, () => 0.999999);
    // Grown as for attempt 2 (the last of 3): just under 4 s, not the cap.
    expect(actor.getSnapshot().context.delayMs).toBe(3_999);
    expect(actor.getSnapshot().value).toBe('waiting');
    clock.increment(3_999);
    expect(actor.getSnapshot().value).toBe('due');
  });

  test("'retry.now' skips the wait", () => {
    const { actor } = start({ attempt: 2 }, () => 0.9);
    actor.send({ type: 'retry.now' });
    expect(actor.getSnapshot().value).toBe('due');
  });

  test("'retry.rearm' waits the given time from now (a restored snapshot has no timer of its own)", async () => {
    const clock = new SimulatedClock();
    const { actor } = start({ attempt: 4 }, () => 0.25, clock);
    const restored = createActor(retryBackoffMachine, { snapshot: actor.getPersistedSnapshot(), input: { attempt: 4 }, clock }).start();
    clock.increment(10_000);
    await settle(1);
    expect(restored.getSnapshot().value).toBe('waiting');
    restored.send({ type: 'retry.rearm', delayMs: 1_500 });
    clock.increment(1_499);
    await settle(1);
    expect(restored.getSnapshot().value).toBe('waiting');
    clock.increment(1);
    await settle(1);
    expect(restored.getSnapshot().value).toBe('due');
  });

  test('a persisted snapshot resumes the same wait', () => {
    const { actor } = start({ attempt: 4 }, () => 0.25);
    const restored = createActor(retryBackoffMachine, { snapshot: actor.getPersistedSnapshot(), input: { attempt: 4 } });
    expect(restored.getSnapshot().context.delayMs).toBe(4_000);
  });
});

describe('retryBackoff model-based', () => {
  test('every state and transition is reached by the generated paths, against the real machine', async () => {
    const machine = drawingFrom(() => 0.5);
    const coverage = createCoverage(machine, 'retryBackoff');
    const inputs: RetryBackoffInput[] = [
      { attempt: 2, maxAttempts: 3 },
      { attempt: 3, maxAttempts: 3, retryAfterMs: 1_000, retryAfterOnly: true },
    ];
    let paths = 0;
    for (const input of inputs) {
      const model = createTestModel(toTestMachine(machine), { events: [{ type: 'retry.now' }, { type: 'retry.rearm', delayMs: 500 }] as never });
      for (const path of model.getShortestPaths({ input })) {
        paths += 1;
        const clock = new SimulatedClock();
        const actor = createActor(machine, { input, clock, inspect: coverage.inspect }).start();
        await path.test({
          states: {
            '*': (state) => {
              const real = actor.getSnapshot();
              expect(real.value).toEqual(state.value);
              expect(real.hasTag('error')).toBe(state.value === 'waiting');
              if (real.status === 'done') expect(real.output).toEqual(state.output);
            },
          },
          events: {
            'retry.now': async () => void actor.send({ type: 'retry.now' }),
            'retry.rearm': async ({ event }) => void actor.send(event as never),
            ...afterExecutors(machine, () => actor.getSnapshot().context.delayMs ?? 0, async (ms) => {
              clock.increment(ms);
              await settle(1);
            }),
          },
        });
        actor.stop();
      }
    }
    const { line, missingStates, missingTransitions, unknown } = coverage.report();
    console.log(`${line} (${paths} paths)`);
    expect(unknown).toEqual([]);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
  });
});
