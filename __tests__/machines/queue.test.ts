import { createActor, fromPromise, SimulatedClock, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { batchMachine, type BatchOutput } from '../../machines/batch.machine.ts';
import { ackAllowance, HALVE_AFTER, queueEnvironment, queueMachine, type QueueEmitted, type QueueEvent, type QueueInput } from '../../machines/queue.machine.ts';
import { retryBackoffMachine, retryBackoffRandomness } from '../../machines/retryBackoff.machine.ts';
import { ASSUMED_BATCH_MS, DEFAULT_ACK_ALLOWANCE_MS, DEFAULT_BATCH_CONFIG, DEFAULT_LATENCY_BUDGET, KEEPALIVE_BATCH_BYTES, type BatchConfig, type FailureKind, type Priority, type ReleaseBatchInput, type UploadResult } from '../../machines/types.ts';
import { createDexieOutbox } from './dexieOutbox.ts';
import { createFakeOutbox, type OutboxUnderTest } from './fakeOutbox.ts';
import { afterExecutors, createCoverage, createFakeTransport, httpFailure, okResults, settle, toTestMachine, type TransportOptions } from './fakes.ts';
import type { OpRow, OutboxFactory } from './outboxUnderTest.ts';

type Options = Partial<QueueInput> & { respond?: TransportOptions['respond']; check?: TransportOptions['check']; random?: () => number };

async function startQueue(options: Options = {}) {
  const pending = options.pending ?? 0;
  const outbox = createFakeOutbox();
  await outbox.enqueue(pending);
  const transport = createFakeTransport({ respond: options.respond, check: options.check });
  const released: ReleaseBatchInput[] = [];
  const clock = new SimulatedClock();
  let n = 0;
  const { random = () => 0.5, respond: _respond, check: _check, ...input } = options;
  const machine = queueMachine.provide({
    ...queueEnvironment({ now: () => clock.now(), newBatchId: () => `b${++n}` }),
    actors: {
      retryBackoff: retryBackoffMachine.provide(retryBackoffRandomness(random)),
      batch: batchMachine.provide({
        actors: {
          ...outbox.actors,
          releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => {
            released.push(input);
            return outbox.run.releaseBatch(input);
          }),
          uploadBatch: transport.uploadBatch,
          checkServer: transport.checkServer,
        },
      }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      online: true,
      config: DEFAULT_BATCH_CONFIG.good,
      ...input,
      pending,
    },
  });
  const emitted: QueueEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  await settle();
  return {
    actor,
    outbox,
    transport,
    clock,
    released,
    emitted,
    async enqueue(priority: Priority, count = 1) {
      await outbox.enqueue(count);
      actor.send({ type: 'op.enqueued', priority, count });
      await settle();
    },
    async send(event: QueueEvent) {
      actor.send(event);
      await settle();
    },
    async tick(ms: number) {
      clock.increment(ms);
      await settle();
    },
    state: () => actor.getSnapshot(),
    /** Where the schedule region stands (the transfer region is idle or sending). */
    schedule: () => actor.getSnapshot().value.schedule,
  };
}

/**
 * The queue restored from a persisted snapshot's JSON, on the same clock, outbox and transport (a reload).
 * The restored actor gets its clock and ids from `.provide`, as a fresh one does; nothing is re-injected.
 */
function restoreQueue(q: Awaited<ReturnType<typeof startQueue>>, json: string, config: BatchConfig) {
  const machine = queueMachine.provide({
    ...queueEnvironment({ now: () => q.clock.now(), newBatchId: () => 'after-restore' }),
    actors: {
      retryBackoff: retryBackoffMachine.provide(retryBackoffRandomness(() => 0.5)),
      batch: batchMachine.provide({ actors: { ...q.outbox.actors, uploadBatch: q.transport.uploadBatch, checkServer: q.transport.checkServer } }),
    },
  });
  return createActor(machine, { clock: q.clock, snapshot: JSON.parse(json), input: { pending: 0, online: true, config } });
}

/** Before any batch was timed, the allowance assumes one of ASSUMED_BATCH_MS. */
const firstAllowance = (budgetMs: number) => ackAllowance({ ackAllowanceMs: DEFAULT_ACK_ALLOWANCE_MS, lastBatchMs: ASSUMED_BATCH_MS }, budgetMs);

const ack = (i: { operations: { id: string }[] }): UploadResult => ({ ok: true, results: okResults(i.operations as never) });

describe('queue machine: latency budget, idle gap and size', () => {
  test.each([
    ['poor', DEFAULT_BATCH_CONFIG.poor],
    ['good', DEFAULT_BATCH_CONFIG.good],
    ['excellent', DEFAULT_BATCH_CONFIG.excellent],
  ] as const)('%s: a paused stream goes timeoutMs (the idle gap) after its latest op', async (_, config) => {
    const q = await startQueue({ config, respond: ack });
    await q.enqueue('normal');
    expect(q.schedule()).toEqual({ collecting: 'streaming' });
    await q.tick(Math.floor(config.timeoutMs / 2));
    await q.enqueue('normal'); // the gap restarts from this op
    await q.tick(config.timeoutMs - 1);
    expect(q.transport.requests).toHaveLength(0);
    await q.tick(1);
    expect(q.transport.requests).toHaveLength(1);
    expect(q.transport.requests[0]!.operations).toHaveLength(2);
    expect(q.schedule()).toBe('idle');
    expect(q.emitted.map((e) => e.type)).toEqual(['batch.settled', 'queue.drained']);
  });

  test.each([
    ['poor', DEFAULT_BATCH_CONFIG.poor],
    ['good', DEFAULT_BATCH_CONFIG.good],
    ['excellent', DEFAULT_BATCH_CONFIG.excellent],
  ] as const)('%s: the batch goes at once when size ops wait', async (_, config) => {
    const q = await startQueue({ config, respond: ack });
    for (let i = 0; i < config.size - 1; i += 1) await q.enqueue('normal');
    expect(q.transport.requests).toHaveLength(0);
    await q.enqueue('normal');
    expect(q.transport.requests).toHaveLength(1);
    expect(q.transport.requests[0]!.operations).toHaveLength(config.size);
  });

  test('exact boundary: pending == size flushes once and goes idle, no loop', async () => {
    const q = await startQueue({ config: DEFAULT_BATCH_CONFIG.poor, respond: ack });
    await q.enqueue('normal', 3);
    await q.tick(60_000);
    expect(q.transport.requests).toHaveLength(1);
    expect(q.schedule()).toBe('idle');
    expect(q.emitted.filter((e) => e.type === 'queue.drained')).toHaveLength(1);
    expect(q.state().context).toMatchObject({ pending: 0, batchesSent: 1, requestsSent: 1, opsAcked: 3, attempt: 0 });
  });

  test("'immediate' flushes at once", async () => {
    const q = await startQueue({ respond: ack });
    await q.enqueue('normal');
    await q.enqueue('immediate');
    expect(q.transport.requests).toHaveLength(1);
    expect(q.transport.requests[0]!.operations).toHaveLength(2);
  });

  test('a steady stream goes when the OLDEST op\'s budget (less the ack allowance) runs out; later ops never restart it', async () => {
    const q = await startQueue({ config: DEFAULT_BATCH_CONFIG.excellent, respond: ack });
    const due = DEFAULT_LATENCY_BUDGET.high - firstAllowance(DEFAULT_LATENCY_BUDGET.high); // 28 s
    // A review every 4 s: shorter than the idle gap, so only the budget ends the batch.
    await q.enqueue('high');
    for (let at = 4_000; at < due; at += 4_000) {
      await q.tick(4_000);
      await q.enqueue('high');
    }
    expect(q.transport.requests).toHaveLength(0);
    await q.tick(due - q.clock.now() - 1);
    expect(q.transport.requests).toHaveLength(0);
    await q.tick(1);
    expect(q.transport.requests).toHaveLength(1);
    expect(q.transport.requests[0]!.operations).toHaveLength(1 + Math.floor((due - 1) / 4_000));
  });

  test('Sync Now (and endSession) send what waits at once', async () => {
    const q = await startQueue({ respond: ack });
    await q.enqueue('normal', 2);
    await q.send({ type: 'sync.now' });
    expect(q.transport.requests.map((r) => r.operations.length)).toEqual([2]);
  });

  test("'low' ops ride a tighter op's budget; a tighter op brings the batch forward, a looser one never delays it", async () => {
    // Size raised so only budgets decide here; the idle gap is never reached (ops every 8 s).
    const config = { ...DEFAULT_BATCH_CONFIG.excellent, size: 100 };
    const q = await startQueue({ config, respond: ack });
    await q.enqueue('low');
    expect(q.state().context.dueAt).toBe(DEFAULT_LATENCY_BUDGET.low - firstAllowance(DEFAULT_LATENCY_BUDGET.low));
    await q.tick(8_000);
    await q.enqueue('normal');
    const due = 8_000 + DEFAULT_LATENCY_BUDGET.normal - firstAllowance(DEFAULT_LATENCY_BUDGET.normal);
    expect(q.state().context.dueAt).toBe(due);
    for (const at of [16_000, 24_000, 32_000]) {
      await q.tick(at - q.clock.now());
      await q.enqueue('low');
      expect(q.state().context.dueAt).toBe(due);
    }
    await q.tick(due - q.clock.now() - 1);
    expect(q.transport.requests).toHaveLength(0);
    await q.tick(1);
    expect(q.transport.requests.map((r) => r.operations.length)).toEqual([5]);
  });

  test('ops enqueued while a batch is out keep their own budget for the next batch', async () => {
    const config = { ...DEFAULT_BATCH_CONFIG.excellent, size: 100 }; // only budgets and gaps decide
    const q = await startQueue({ config });
    await q.enqueue('immediate');
    await q.tick(3_000);
    await q.enqueue('normal'); // enqueued at 3 s, during the batch
    q.transport.open()[0]!.answer(ack(q.transport.open()[0]!));
    await settle();
    expect(q.schedule()).toEqual({ collecting: 'streaming' });
    expect(q.state().context.dueAt).toBe(3_000 + DEFAULT_LATENCY_BUDGET.normal - ackAllowance({ ackAllowanceMs: DEFAULT_ACK_ALLOWANCE_MS, lastBatchMs: 3_000 }, DEFAULT_LATENCY_BUDGET.normal));
    await q.tick(config.timeoutMs); // idle gap from the 3 s op
    expect(q.transport.requests).toHaveLength(2);
  });
});

describe('queue machine: the page hides', () => {
  test('hiding sends what waits at once as keepalive batches within the keepalive limit; visible again batches as before', async () => {
    const q = await startQueue({ config: DEFAULT_BATCH_CONFIG.excellent, respond: ack });
    await q.enqueue('normal', 3);
    expect(q.transport.requests).toHaveLength(0);
    await q.send({ type: 'page.hidden' });
    expect(q.transport.requests.map((r) => [r.operations.length, r.keepalive])).toEqual([[3, true]]);
    expect(q.schedule()).toBe('idle');
    // Still hidden: a late write goes at once too.
    await q.enqueue('normal');
    expect(q.transport.requests.map((r) => r.keepalive)).toEqual([true, true]);
    await q.send({ type: 'page.visible' });
    await q.enqueue('normal');
    expect(q.transport.requests).toHaveLength(2);
    await q.tick(DEFAULT_BATCH_CONFIG.excellent.timeoutMs);
    expect(q.transport.requests.map((r) => r.keepalive)).toEqual([true, true, false]);
  });

  test('a backlog larger than one keepalive request goes in several, each within KEEPALIVE_BATCH_BYTES', async () => {
    // Backlog bound raised so bytes, not the op count, split this backlog.
    const config = { ...DEFAULT_BATCH_CONFIG.excellent, maxBatchOps: 5_000 };
    const q = await startQueue({ config, respond: ack });
    await q.send({ type: 'network.changed', online: false });
    await q.enqueue('normal', 1_500);
    await q.send({ type: 'page.hidden' });
    await q.send({ type: 'network.changed', online: true, config });
    const settled = q.emitted.flatMap((e) => (e.type === 'batch.settled' ? [e.output] : []));
    expect(settled.length).toBeGreaterThan(1);
    expect(q.transport.requests.every((r) => r.keepalive)).toBe(true);
    expect(Math.max(...settled.map((b) => b.bytes))).toBeLessThanOrEqual(KEEPALIVE_BATCH_BYTES);
    expect(q.transport.requests.flatMap((r) => r.operations)).toHaveLength(1_500);
    expect(q.schedule()).toBe('idle');
  });
});

describe('queue machine: backlog and other tabs', () => {
  test('backlog mode: batches grow to maxBatchOps when more than a window waits', async () => {
    const q = await startQueue({ pending: 600, config: DEFAULT_BATCH_CONFIG.good, respond: ack });
    await q.tick(0);
    expect(q.transport.requests.map((r) => r.operations.length)).toEqual([250, 250, 100]);
    expect(q.schedule()).toBe('idle');
  });

  test("'outbox.changed' is authoritative (another tab sent or wrote ops)", async () => {
    const q = await startQueue({ respond: ack });
    await q.enqueue('normal');
    await q.outbox.setQueued(0);
    await q.send({ type: 'outbox.changed', pending: 0 });
    expect(q.schedule()).toBe('idle');
    await q.outbox.setQueued(4);
    await q.send({ type: 'outbox.changed', pending: 4 });
    expect(q.state().matches({ schedule: 'collecting' })).toBe(true);
  });
});

describe('queue machine: failures', () => {
  test.each(['network', 'timeout', 'server', 'rateLimited'] as const)(
    "after a '%s' failure a retry is always scheduled, and it happens",
    async (kind) => {
      let calls = 0;
      const q = await startQueue({
        respond: (i) => {
          calls += 1;
          if (calls > 1) return ack(i);
          if (kind === 'timeout' || kind === 'network') return undefined;
          return httpFailure(kind, kind === 'rateLimited' ? { retryAfterMs: 7_000 } : { status: 503 });
        },
      });
      await q.enqueue('immediate');
      if (kind === 'network') q.transport.open()[0]!.reject('fetch failed');
      if (kind === 'timeout') await q.tick(30_000);
      await settle();
      const s = q.state();
      expect(s.value.schedule).toBe('backoff');
      expect(s.hasTag('error')).toBe(true);
      expect(s.context.nextRetryAt).not.toBeNull();
      expect(s.context.lastError?.kind).toBe(kind);
      expect(JSON.parse(JSON.stringify(s.context.lastError))).toEqual(s.context.lastError);
      const failed = q.emitted.find((e) => e.type === 'sync.failed');
      expect(failed).toMatchObject({ type: 'sync.failed', failure: { kind }, nextRetryAt: s.context.nextRetryAt });
      await q.tick(s.context.nextRetryAt! - q.clock.now());
      expect(q.transport.requests).toHaveLength(2);
      expect(q.schedule()).toBe('idle');
      expect(q.state().context.attempt).toBe(0);
    },
  );

  test('a hung upload ends as timeout (request aborted), then a retry is scheduled', async () => {
    const q = await startQueue({ requestTimeoutMs: 10_000 });
    await q.enqueue('immediate');
    expect(q.state().hasTag('busy')).toBe(true);
    await q.tick(9_999);
    expect(q.schedule()).toBe('flushing');
    await q.tick(1);
    expect(q.transport.requests[0]!.state).toBe('aborted');
    expect(q.schedule()).toBe('backoff');
    expect(q.state().context.attempt).toBe(1);
    expect(await q.outbox.counts()).toEqual({ queued: 1, inFlight: 0, dead: 0 });
  });

  test('backoff delays grow with full jitter and stay under the cap', async () => {
    const q = await startQueue({ respond: () => httpFailure('server', { status: 500 }), backoff: { baseMs: 1_000, capMs: 8_000 } });
    await q.enqueue('immediate');
    const delays: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const { retryDelayMs } = q.state().context;
      delays.push(retryDelayMs!);
      await q.tick(retryDelayMs!);
    }
    // random() = 0.5: half of min(cap, base·2^(attempt-1)).
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect(q.state().context.attempt).toBe(7);
  });

  test('Retry-After is honoured (random() = 0.5: a quarter of it again as jitter)', async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls === 1 ? httpFailure('rateLimited', { status: 429, retryAfterMs: 12_000 }) : ack(i)) });
    await q.enqueue('immediate');
    expect(q.state().context.retryDelayMs).toBe(15_000);
    await q.tick(14_999);
    expect(q.transport.requests).toHaveLength(1);
    await q.tick(1);
    expect(q.transport.requests).toHaveLength(2);
  });

  test("'auth' pauses without spending an attempt until 'auth.refreshed', then flushes", async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls === 1 ? httpFailure('auth', { status: 401 }) : ack(i)) });
    await q.enqueue('immediate');
    expect(q.schedule()).toEqual({ paused: 'auth' });
    expect(q.state().hasTag('auth')).toBe(true);
    expect(q.state().context.attempt).toBe(0);
    await q.tick(3_600_000);
    expect(q.transport.requests).toHaveLength(1);
    await q.send({ type: 'auth.refreshed' });
    expect(q.transport.requests).toHaveLength(2);
    expect(q.schedule()).toBe('idle');
    expect(q.state().hasTag('auth')).toBe(false);
  });

  test("'fatal' continues with what is left (those ops were dead-lettered)", async () => {
    let calls = 0;
    const q = await startQueue({ config: DEFAULT_BATCH_CONFIG.poor, respond: (i) => (++calls === 1 ? httpFailure('fatal', { status: 413 }) : ack(i)) });
    await q.enqueue('normal', 4);
    expect(q.transport.requests).toHaveLength(1);
    expect(q.state().matches({ schedule: 'collecting' })).toBe(true);
    expect(await q.outbox.counts()).toEqual({ queued: 1, inFlight: 0, dead: 3 });
    await q.tick(15_000);
    expect(q.schedule()).toBe('idle');
  });

  test("'sync.now' cuts a backoff short", async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls === 1 ? httpFailure('server', { status: 502 }) : ack(i)) });
    await q.enqueue('immediate');
    expect(q.schedule()).toBe('backoff');
    await q.send({ type: 'sync.now' });
    expect(q.transport.requests).toHaveLength(2);
    expect(q.schedule()).toBe('idle');
    expect(q.state().context.nextRetryAt).toBeNull();
  });
});

describe('queue machine: failing for a while', () => {
  test('failingSince marks the first failure of a run and lastError the latest; both go once the server answers', async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls <= 3 ? httpFailure(calls === 2 ? 'network' : 'server', { status: 503 }) : ack(i)) });
    const start = q.clock.now();
    await q.enqueue('immediate');
    expect(q.state().context).toMatchObject({ failingSince: start, attempt: 1, lastError: { kind: 'server' } });
    await q.tick(q.state().context.retryDelayMs!);
    expect(q.state().context).toMatchObject({ failingSince: start, attempt: 2, lastError: { kind: 'network' } });
    await q.tick(q.state().context.retryDelayMs!);
    expect(q.state().context.attempt).toBe(3);
    await q.tick(q.state().context.retryDelayMs!);
    expect(q.schedule()).toBe('idle');
    expect(q.state().context).toMatchObject({ failingSince: null, attempt: 0, lastError: null, nextRetryAt: null });
  });

  test('a batch the server refused entirely is an answer: no error is shown for it (its ops are dead letters)', async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls === 1 ? httpFailure('server', { status: 500 }) : httpFailure('fatal', { status: 400 })) });
    await q.enqueue('immediate');
    expect(q.state().context.lastError).not.toBeNull();
    await q.tick(q.state().context.retryDelayMs!);
    expect(q.state().context).toMatchObject({ lastError: null, failingSince: null, attempt: 0 });
  });

  test('past maxAttempts the queue keeps retrying at the cap and never gives up', async () => {
    const q = await startQueue({ backoff: { baseMs: 100, capMs: 400, maxAttempts: 3 }, random: () => 0.999, respond: () => httpFailure('server', { status: 500 }) });
    await q.enqueue('immediate');
    for (let i = 0; i < 12; i++) {
      expect(q.schedule()).toBe('backoff');
      expect(q.state().context.retryDelayMs!).toBeLessThan(400);
      await q.tick(q.state().context.retryDelayMs!);
    }
    expect(q.transport.requests.length).toBe(13);
    expect(await q.outbox.counts()).toMatchObject({ dead: 0 });
  });
});

describe('queue machine: a lone op the server keeps failing on is set aside', () => {
  test('after HALVE_AFTER lone 5xx the op is set aside, the rest goes at once, and setAsideWake sends it alone when due', async () => {
    let poisoned: string | undefined;
    let healed = false;
    const q = await startQueue({
      respond: (i) => {
        poisoned ??= i.operations[0]!.id;
        return !healed && i.operations.some((o) => o.id === poisoned) ? httpFailure('server', { status: 500 }) : ack(i);
      },
    });
    await q.enqueue('normal', 10); // a full window: sent at once
    const setAsideOutcome = () => q.emitted.find((e) => e.type === 'batch.settled' && e.output.outcome && 'setAside' in e.output.outcome);
    for (let i = 0; i < 40 && !setAsideOutcome(); i++) {
      expect(q.schedule()).toBe('backoff');
      await q.tick(q.state().context.retryDelayMs!);
    }
    // Halved 10 → 5 → 3 → 2 → 1 (HALVE_AFTER failures each), then HALVE_AFTER lone failures.
    const sizes = q.transport.requests.map((r) => r.operations.length);
    expect(sizes).toEqual([10, 10, 10, 5, 5, 5, 3, 3, 3, 2, 2, 2, 1, 1, 1, 9]);
    expect(q.released.map((r) => r.setAside?.streakReached)).toEqual([...Array(14).fill(false), true]);
    const settledAside = setAsideOutcome() as Extract<QueueEmitted, { type: 'batch.settled' }>;
    const asideAt = q.released.at(-1)!.now!;
    // On trial: still pending, no wake yet; the next batch tests the others.
    expect(settledAside.output.outcome).toEqual({ requeued: 1, dead: 0, pending: 10, setAside: 1 });
    // The rest went at once, not after a backoff, in one whole trial batch; the server took it, so the
    // op stays set aside: the schedule is idle, the wake armed.
    expect(q.transport.requests.at(-1)!.operations.map((o) => o.id)).not.toContain(poisoned);
    expect(q.emitted.filter((e) => e.type === 'batch.settled').at(-1)).toMatchObject({ output: { outcome: { pending: 0, setAsideUntil: asideAt + 45_000 } } });
    expect(q.schedule()).toBe('idle');
    expect(q.state().context).toMatchObject({ pending: 0, setAsideWakeAt: asideAt + 45_000, stuck: false, opsLimit: null });
    expect(await q.outbox.counts()).toEqual({ queued: 0, inFlight: 0, dead: 0 });

    // setAsideWake: nothing before it is due, then the op alone; failing again, its wait doubles.
    await q.tick(asideAt + 45_000 - q.clock.now() - 1);
    expect(q.transport.requests).toHaveLength(16);
    await q.tick(1);
    expect(q.transport.requests.at(-1)!.operations.map((o) => o.id)).toEqual([poisoned]);
    const again = q.state().context.setAsideWakeAt!;
    expect(again - q.clock.now()).toBe(90_000);
    expect(q.schedule()).toBe('idle');

    healed = true;
    await q.tick(again - q.clock.now());
    expect(q.transport.requests.at(-1)!.operations.map((o) => o.id)).toEqual([poisoned]);
    expect(q.state().context).toMatchObject({ setAsideWakeAt: null, setAsideDue: false, pending: 0 });
    expect((await q.outbox.rows()).ops).toEqual([]);
    expect(q.schedule()).toBe('idle');
  });
});

/** A server that fails every batch while `down` (and, with `checksFail`, every check too); `acked` lists what it took, in order. */
async function startOutage(checksFail: boolean) {
  const server = { down: true, acked: [] as string[] };
  const q = await startQueue({
    respond: (i) => {
      if (server.down) return httpFailure('server', { status: 500 });
      server.acked.push(...i.operations.map((o) => o.id));
      return ack(i);
    },
    check: () => (server.down && checksFail ? { ok: false, failure: { kind: 'server', status: 500, message: 'HTTP 500 from verse-operations' } } : { ok: true }),
  });
  return { q, server };
}

describe('queue machine: an outage sets nothing aside', () => {
  test('every request failing, a lone op set aside on trial gets its place back when its trial batch fails too; back up, all goes in order', async () => {
    const { q, server } = await startOutage(false);
    const acked = server.acked;
    await q.enqueue('normal', 10);
    const trials = () => q.emitted.filter((e) => e.type === 'batch.settled' && e.output.outcome && 'setAside' in e.output.outcome).length;
    for (let i = 0; i < 60 && trials() < 2; i++) await q.tick(q.state().context.retryDelayMs ?? q.state().context.config.timeoutMs);
    expect(trials()).toBe(2);
    const sizes = q.transport.requests.map((r) => r.operations.length);
    // Halved to one op, set aside on trial after HALVE_AFTER lone failures; its trial batch (the other 9) fails too.
    expect(sizes.slice(0, 16)).toEqual([10, 10, 10, 5, 5, 5, 3, 3, 3, 2, 2, 2, 1, 1, 1, 9]);
    const first = q.transport.requests[0]!.operations.map((o) => o.id);
    expect(q.transport.requests[15]!.operations.map((o) => o.id)).toEqual(first.slice(1));
    // Nothing waits apart: the op is back at the head of the queue, and the stretch starts over from whole batches.
    expect(q.transport.requests[16]!.operations.map((o) => o.id)).toEqual(first);
    expect((await q.outbox.rows()).ops.filter((o) => o.setAside !== false)).toEqual([]);

    server.down = false;
    for (let i = 0; i < 10 && (await q.outbox.counts()).queued > 0; i++) await q.tick(q.state().context.retryDelayMs ?? q.state().context.config.timeoutMs);
    // Every op once the server is back, in the order they were written.
    expect(acked).toEqual(first);
    expect(q.state().context).toMatchObject({ pending: 0, setAsideWakeAt: null, trialBatch: false });
  });
});

describe('queue machine: an outage that also fails the check before a set-aside sets nothing aside, whenever it ends', () => {
  test('down for every request: before each third lone attempt the check fails and the streak starts over; back up, all goes in order', async () => {
    const { q, server } = await startOutage(true);
    await q.enqueue('normal', 10);
    const first = () => q.transport.requests[0]!.operations.map((o) => o.id);
    for (let i = 0; i < 60 && q.transport.checks.length < 3; i++) await q.tick(q.state().context.retryDelayMs ?? q.state().context.config.timeoutMs);
    expect(q.transport.checks.map((c) => c.ok)).toEqual([false, false, false]);
    // Halved to one op; then two lone attempts, a failed check (no request), two lone attempts, ...
    expect(q.transport.requests.map((r) => r.operations.length).slice(0, 18)).toEqual([10, 10, 10, 5, 5, 5, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
    expect(q.emitted.some((e) => e.type === 'batch.settled' && e.output.outcome && 'setAside' in e.output.outcome)).toBe(false);
    expect(q.state().context).toMatchObject({ stuck: false, serverAway: true, setAsideWakeAt: null, trialBatch: false });
    expect(q.state().context.lastError).toMatchObject({ kind: 'server', message: 'the server is not answering (HTTP 500 from verse-operations)' });
    // The op failing alone again is not called stuck: the server is away, not the op.
    const sent = q.transport.requests.length;
    await q.tick(q.state().context.retryDelayMs!);
    expect(q.transport.requests).toHaveLength(sent + 1);
    expect(q.state().context).toMatchObject({ stuck: false, serverAway: true, loneFailuresInRow: 1 });

    // The server comes back while the op is at its streak: the check passes and the op itself goes through.
    for (let i = 0; i < 60 && (q.state().context.loneFailuresInRow ?? 0) < HALVE_AFTER - 1; i++) await q.tick(q.state().context.retryDelayMs!);
    server.down = false;
    const before = q.transport.requests.length;
    await q.tick(q.state().context.retryDelayMs!);
    // The check passes, the op goes alone, and each batch taken at its limit sends the next at once,
    // twice as big (1, 2, 4, then the rest): no window is waited after the outage.
    expect(q.transport.requests.slice(before).map((r) => r.operations.length)).toEqual([1, 2, 4, 3]);
    expect((await q.outbox.counts()).queued).toBe(0);
    expect(q.transport.checks.at(-1)).toEqual({ ok: true });
    expect(server.acked).toEqual(first());
    expect((await q.outbox.rows()).ops).toEqual([]);
    expect(q.state().context).toMatchObject({ pending: 0, setAsideWakeAt: null, trialBatch: false, lastError: null, serverAway: false });
  });
});

describe('queue machine: a set-aside op survives a reload', () => {
  test('the wake time is plain data in the snapshot: restored, the queue still sends the op alone when it is due', async () => {
    let poisoned: string | undefined;
    let healed = false;
    const q = await startQueue({
      config: DEFAULT_BATCH_CONFIG.poor,
      respond: (i) => {
        poisoned ??= i.operations[0]!.id;
        return !healed && i.operations.some((o) => o.id === poisoned) ? httpFailure('server', { status: 500 }) : ack(i);
      },
    });
    await q.enqueue('normal', 3);
    for (let i = 0; i < 40 && q.state().context.setAsideWakeAt === null; i++) await q.tick(q.state().context.retryDelayMs!);
    const wakeAt = q.state().context.setAsideWakeAt!;
    expect(q.schedule()).toBe('idle');
    const json = JSON.stringify(q.actor.getPersistedSnapshot());
    q.actor.stop();
    healed = true;

    const restored = restoreQueue(q, json, DEFAULT_BATCH_CONFIG.poor);
    restored.start();
    // What the service does after a restore with changes waiting (see uploader.ts).
    restored.send({ type: 'sync.now' });
    await settle();
    const sent = q.transport.requests.length;
    expect(restored.getSnapshot().context.setAsideWakeAt).toBe(wakeAt);
    q.clock.increment(wakeAt - q.clock.now());
    await settle();
    expect(q.transport.requests.slice(sent).map((r) => r.operations.map((o) => o.id))).toEqual([[poisoned]]);
    expect(restored.getSnapshot().context.setAsideWakeAt).toBeNull();
    restored.stop();
  });
});

describe('queue machine: offline and resume', () => {
  test('offline pauses; back online with pending flushes at once; no stale pause', async () => {
    const q = await startQueue({ respond: ack });
    await q.enqueue('normal', 2);
    await q.send({ type: 'network.changed', online: false });
    expect(q.schedule()).toEqual({ paused: 'offline' });
    expect(q.state().hasTag('offline')).toBe(true);
    await q.tick(60_000);
    await q.send({ type: 'sync.now' }); // ignored while offline, must not hang or send
    await q.enqueue('immediate');
    expect(q.transport.requests).toHaveLength(0);
    await q.send({ type: 'network.changed', online: true, config: DEFAULT_BATCH_CONFIG.excellent });
    expect(q.transport.requests).toHaveLength(1);
    expect(q.transport.requests[0]!.operations).toHaveLength(3);
    expect(q.schedule()).toBe('idle');
    expect(q.state().hasTag('offline')).toBe(false);
    expect(q.state().context.config).toEqual(DEFAULT_BATCH_CONFIG.excellent);
  });

  test('a batch in flight when going offline finishes (or times out) and the queue stays paused', async () => {
    const q = await startQueue();
    await q.enqueue('immediate');
    await q.send({ type: 'network.changed', online: false });
    expect(q.schedule()).toEqual({ paused: 'offline' });
    q.transport.open()[0]!.answer(ack(q.transport.open()[0]!));
    await settle();
    expect(q.schedule()).toEqual({ paused: 'offline' });
    expect(q.state().context).toMatchObject({ inFlight: null, pending: 0, batchesSent: 1 });
    await q.send({ type: 'network.changed', online: true });
    expect(q.schedule()).toBe('idle');
    expect(q.transport.requests).toHaveLength(1);
  });

  test('coming back online while the old batch is still in flight starts no second batch', async () => {
    const q = await startQueue();
    await q.enqueue('immediate');
    await q.send({ type: 'network.changed', online: false });
    await q.send({ type: 'network.changed', online: true });
    expect(q.schedule()).toBe('flushing');
    expect(q.transport.requests).toHaveLength(1);
    await q.tick(30_000); // the old one times out; a retry is scheduled
    expect(q.schedule()).toBe('backoff');
  });

  test('starting offline with leftovers waits; starting online with leftovers sends at once', async () => {
    const off = await startQueue({ pending: 2, online: false, respond: ack });
    expect(off.schedule()).toEqual({ paused: 'offline' });
    const on = await startQueue({ pending: 2, online: true, respond: ack });
    expect(on.transport.requests).toHaveLength(1);
    expect(on.schedule()).toBe('idle');
  });

  test('lastSyncAt comes from the injected clock', async () => {
    const q = await startQueue({ respond: ack });
    await q.tick(12_345);
    await q.enqueue('immediate');
    expect(q.state().context.lastSyncAt).toBe(12_345);
  });
});

describe('queue machine: persisted snapshots', () => {
  test('a snapshot is plain data: restored from its JSON as it is, a backoff resumes its wait and then retries', async () => {
    let calls = 0;
    const q = await startQueue({ respond: (i) => (++calls === 1 ? httpFailure('server', { status: 503 }) : ack(i)) });
    await q.enqueue('immediate');
    expect(q.schedule()).toBe('backoff');
    const { nextRetryAt } = q.state().context;
    const json = JSON.stringify(q.actor.getPersistedSnapshot());
    // No function anywhere in it: JSON keeps everything.
    expect(JSON.parse(json)).toEqual(q.actor.getPersistedSnapshot());
    q.actor.stop();
    // The reload takes part of the wait (random() = 0.5: the wait is 500 ms).
    expect(nextRetryAt! - q.clock.now()).toBe(500);
    await q.tick(200);

    const restored = restoreQueue(q, json, DEFAULT_BATCH_CONFIG.good);
    restored.start();
    restored.send({ type: 'retry.rearm' });
    await settle();
    expect(restored.getSnapshot().value).toEqual({ transfer: 'idle', schedule: 'backoff' });
    expect(restored.getSnapshot().context.nextRetryAt).toBe(nextRetryAt);
    q.clock.increment(nextRetryAt! - q.clock.now() - 1);
    await settle();
    expect(q.transport.requests).toHaveLength(1);
    q.clock.increment(1);
    await settle();
    expect(q.transport.requests.map((r) => r.batchId)).toEqual(['b1', 'after-restore']);
    expect(restored.getSnapshot().value).toEqual({ transfer: 'idle', schedule: 'idle' });
    restored.stop();
  });
});

type StepsPath = { path: { steps: ReadonlyArray<{ state: unknown; event: unknown }> } };

/** The fewest paths (greedily) that together take every step any of `paths` takes. */
function coveringPaths<P extends StepsPath>(paths: P[], stateKey: (s: unknown) => string, eventKey: (e: unknown) => string): P[] {
  const steps = paths.map((p) => {
    const keys = new Set<string>();
    let from = 'start';
    for (const step of p.path.steps) {
      const to = stateKey(step.state);
      keys.add(`${from} ${eventKey(step.event)} ${to}`);
      from = to;
    }
    return { p, keys };
  });
  const taken = new Set<string>();
  const chosen: P[] = [];
  for (;;) {
    let best: (typeof steps)[number] | undefined;
    let gain = 0;
    for (const c of steps) {
      let g = 0;
      for (const k of c.keys) if (!taken.has(k)) g++;
      if (g > gain) [best, gain] = [c, g];
    }
    if (!best) return chosen;
    chosen.push(best.p);
    for (const k of best.keys) taken.add(k);
  }
}

const outboxes: Array<[string, OutboxFactory]> = [
  ['fake', createFakeOutbox],
  ['dexie', createDexieOutbox],
];

describe.each(outboxes)('queue model-based (%s outbox)', (kind, createOutbox) => {
  test('every state and transition is reached by the generated paths; each state checked against the outbox and the requests', async () => {
    const config: BatchConfig = { size: 3, timeoutMs: 1_000, maxBatchOps: 5, maxBatchBytes: 1_000_000 };
    const requestTimeoutMs = 30_000;
    type Snap = SnapshotFrom<typeof queueMachine>;
    const kinds: FailureKind[] = ['network', 'timeout', 'server', 'rateLimited', 'auth', 'fatal'];

    // The model's clock stands at 0: a set-aside op's time is 1 while it is to come, 0 once it is due
    // (the executor maps the real times so). Set-aside waits are far longer than any path's other timers
    // (see `backoff` below), so an op is due only once setAsideWake fired.
    const LATER = 1;
    const DUE = 0;
    // A failing stretch (5xx in a row, halved batches, a set-aside op): only what moves it along is offered,
    // so the streak counters in the abstract state add a chain of states, not a copy of the whole graph.
    const failing = (s: Snap) =>
      s.context.serverFailuresInRow > 0 ||
      s.context.opsLimit !== null ||
      s.context.loneFailuresInRow > 0 ||
      s.context.setAsideWakeAt !== null ||
      s.context.trialBatch;

    // What the real batch (outbox + transport) reports, predicted from the model's counts.
    const batchOutputs = (s: Snap): BatchOutput[] => {
      if (!s.context.inFlight) return [];
      // What the outbox holds at the claim: ops enqueued during the batch are written after it settles (see 'op.enqueued').
      // A set-aside op is not counted once confirmed; when it is due, it is the batch, alone.
      // An op on trial is counted; the trial batch leaves it out (and is no due op's), unless nothing else could go.
      const P = s.context.pending - s.context.enqueuedDuringBatch;
      const trial = s.context.trialBatch;
      const due = s.context.setAsideDue && !trial;
      const trialOut = trial && P > 1 ? 1 : 0;
      const n = due ? 1 : Math.min(P - trialOut, s.context.inFlight.maxOps);
      const aside = s.context.setAsideWakeAt !== null;
      // Bytes depend on the outbox (JSON size in Dexie); the tests never compare them.
      const base = { batchId: 'b', opCount: n, bytes: 0 };
      // Still set aside after this batch: the one not sent (to come), or the due one sent and not answered for.
      const still = (answered: boolean) => (due ? (answered ? {} : { setAsideUntil: DUE }) : aside ? { setAsideUntil: LATER } : {});
      // The server took some of the trial batch: the op on trial is confirmed (no longer pending, to come).
      const taken = () => (trialOut ? { setAsideUntil: LATER } : still(true));
      if (n === 0) return [{ batchId: 'b', status: 'empty', opCount: 0, bytes: 0 }];
      const left = due ? P : P - n;
      const outputs: BatchOutput[] = [
        { ...base, status: 'completed', outcome: { status: 'completed', succeeded: n, requeued: 0, held: 0, dead: 0, pending: left - trialOut, ...taken() } },
      ];
      if (n >= 2) {
        outputs.push({ ...base, status: 'partial', outcome: { status: 'partial', succeeded: n - 1, requeued: 1, held: 0, dead: 0, pending: P - n + 1 - trialOut, ...taken() } });
      }
      // A lone op's 5xx sets it aside (again, if it was): the streak reached, or it was set aside before.
      const setsAside = n === 1 && (due || (!aside && s.context.loneFailuresInRow >= HALVE_AFTER - 1));
      for (const failureKind of kinds) {
        // In a failing stretch: 5xx moves it along; with an op set aside and not due, the rest is answered
        // (a second op set aside meanwhile would be a stretch of its own). The trial batch may also be dropped (an outage).
        if (failing(s) && !due && !(trialOut && failureKind === 'network') && (failureKind !== 'server' || aside)) continue;
        // A stretch starts from a visible page only: hiding changes nothing in it but the keepalive flag.
        if (!failing(s) && failureKind === 'server' && s.context.hidden) continue;
        const outcome =
          failureKind === 'fatal'
            ? { requeued: 0, dead: n, pending: left, ...still(true) }
            : failureKind === 'server' && setsAside
              ? // On trial (still pending), or a due one confirmed before, set aside once more.
                { requeued: 1, dead: 0, pending: P, setAside: 1, ...(due ? { setAsideUntil: LATER } : {}) }
              : { requeued: n, dead: 0, pending: P, ...still(false) };
        outputs.push({
          ...base,
          status: 'failed',
          outcome,
          failure: { kind: failureKind, message: failureKind, ...(failureKind === 'rateLimited' ? { retryAfterMs: 5_000 } : {}) },
        });
      }
      return outputs;
    };

    const testMachine = toTestMachine(queueMachine.provide(queueEnvironment({ now: () => 0, newBatchId: () => 'b' })));
    const modelEvents = (state: unknown) => {
      const s = state as unknown as Snap;
      const idleOutbox = s.context.inFlight === null;
      if (failing(s)) {
        return [
          { type: 'xstate.done.actor.retry-backoff', output: { attempt: 0, delayMs: 0 } },
          ...batchOutputs(s).map((output) => ({ type: 'xstate.done.actor.batch', output })),
        ] as never as Array<{ type: string }>;
      }
      return [
        ...(idleOutbox && s.context.pending < config.size
          ? (['immediate', 'high', 'normal', 'low'] as const).map((priority) => ({ type: 'op.enqueued', priority }))
          : []),
        // While a batch is out: one that waits for the next batch ('sync.now' already asks for the next at once).
        ...(!idleOutbox && s.context.enqueuedDuringBatch === 0 && s.context.pending < config.size ? [{ type: 'op.enqueued', priority: 'normal' }] : []),
        // Another tab emptied the outbox, wrote a little, or left a backlog (more than a window: batches grow to maxBatchOps).
        ...(idleOutbox ? [0, 2, 7].map((pending) => ({ type: 'outbox.changed', pending })) : []),
        { type: 'sync.now' },
        { type: 'network.changed', online: false },
        { type: 'network.changed', online: true, config },
        { type: 'auth.expired' },
        { type: 'auth.refreshed' },
        { type: 'page.hidden' },
        { type: 'page.visible' },
        { type: 'retry.rearm' },
        { type: 'xstate.done.actor.retry-backoff', output: { attempt: 0, delayMs: 0 } },
        ...batchOutputs(s).map((output) => ({ type: 'xstate.done.actor.batch', output })),
      ] as never as Array<{ type: string }>;
    };
    const model = createTestModel(testMachine, { events: modelEvents as never });
    // createTestModel also offers a bare `{ type }` for every descriptor missing from the list above
    // (e.g. 'outbox.changed' while a batch is out); only delayed events may come bare.
    // Of a collection's two timers, only the one due first fires in the real queue.
    const budgetFirst = (s: Snap) => (s.context.dueAt ?? 0) < s.context.lastEnqueuedAt + s.context.config.timeoutMs;
    const offered = (state: unknown, event: { type: string }) => {
      if (event.type.startsWith('xstate.after.setAsideWake.')) return (state as Snap).context.setAsideWakeAt !== null;
      if (event.type.startsWith('xstate.after.latencyBudget.')) return budgetFirst(state as Snap);
      if (event.type.startsWith('xstate.after.idleGap.')) return !budgetFirst(state as Snap);
      return event.type.startsWith('xstate.after.') || modelEvents(state).some((e) => JSON.stringify(e) === JSON.stringify(event));
    };
    // The abstract state keeps only what decides the next step; the attempt count and the clock do not.
    const abstract = (s: Snap) => {
      const c = s.context;
      // Which timer of a collection fires first (the model's clock stands at 0) decides its next step too.
      const first = s.matches({ schedule: 'collecting' }) ? (budgetFirst(s) ? 'budget' : 'idle gap') : null;
      // In a failing stretch the streaks decide too: when batches halve, when a lone op is set aside, when it is due.
      const stretch = failing(s) ? [c.serverFailuresInRow, c.opsLimit, c.loneFailuresInRow, c.setAsideWakeAt, c.setAsideDue, c.trialBatch] : null;
      return JSON.stringify([s.value, c.pending, c.inFlight ? [c.flushAgain, c.enqueuedDuringBatch] : null, c.hidden, first, stretch]);
    };
    // A node per (state, kind of event, previous state value) reaches every transition without one per edge.
    const eventKey = (e: Record<string, unknown>) => {
      const output = e.output as BatchOutput | undefined;
      const outcome = output?.outcome as { setAside?: number; setAsideUntil?: number } | undefined;
      return JSON.stringify([e.type, e.priority, e.pending, e.online, output?.status, output?.failure?.kind, outcome?.setAside, outcome?.setAsideUntil]);
    };
    // Budgets shorter than the storage timeout, so a timer the model did not pick (the budget or the
    // idle gap, whichever is shorter in the real queue) fires harmlessly within the advance.
    const budget = { high: 500, normal: 800, low: 3_000 };
    // Short backoffs under a long cap: a set-aside op waits from the cap (a half of it at least), far longer
    // than all the other timers of a path together, so it is due exactly when setAsideWake fires.
    const backoff = { baseMs: 10, capMs: 10_000_000 };
    const inputs: QueueInput[] = [
      { pending: 0, online: true, config, requestTimeoutMs, budget, ackAllowanceMs: 0, backoff },
      { pending: 0, online: false, config, requestTimeoutMs, budget, ackAllowanceMs: 0, backoff },
    ];
    const paths = inputs.flatMap((input) =>
      model
        .getShortestPaths({
          input,
          // (A failing stretch has few transitions: its states need no copy per way in.)
          serializeState: (s, event, prev) =>
            abstract(s as never) +
            (event && !failing(s as never) ? ` via ${eventKey(event as never)} from ${JSON.stringify((prev as Snap | undefined)?.value)}` : ''),
          filterEvents: offered as never,
          limit: 50_000,
        })
        .map((path) => ({ path, input })),
    );

    // One provided machine for all paths (coverage counts its state nodes); outbox and transport swapped per path.
    let outbox: OutboxUnderTest = createOutbox();
    let transport = createFakeTransport();
    const batch = batchMachine.provide({
      actors: {
        coalesceQueued: fromPromise(() => outbox.run.coalesceQueued()),
        claimBatch: fromPromise(({ input }: { input: Parameters<OutboxUnderTest['run']['claimBatch']>[0] }) => outbox.run.claimBatch(input)),
        recordResults: fromPromise(({ input }: { input: Parameters<OutboxUnderTest['run']['recordResults']>[0] }) => outbox.run.recordResults(input)),
        releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => outbox.run.releaseBatch(input)),
        uploadBatch: fromPromise(({ input, signal }) => transport.upload(input, signal)),
        // The server answers its check in every path: the model's lone op fails on its own (see the tests above for a server away).
        checkServer: fromPromise(() => transport.check()),
      },
    });
    // The clock and the batch numbers are the path's own (set before each path runs).
    let clock = new SimulatedClock();
    // The real outbox refuses a batch id twice, so the real queue numbers its batches.
    let batchNumber = 0;
    const machine = queueMachine.provide({
      ...queueEnvironment({ now: () => clock.now(), newBatchId: () => `b${++batchNumber}` }),
      actors: { batch, retryBackoff: retryBackoffMachine.provide(retryBackoffRandomness(() => 0.5)) },
    });
    const coverage = createCoverage(machine, `queue (${kind})`);
    await outbox.close();

    // The Dexie outbox is slow and memory-hungry under Jest (every Dexie zone switch adds to Jest's
    // records of the global Promise): it runs the greedy smallest set of paths that still takes every
    // step (abstract state, event, next abstract state) the full set takes; the fake outbox runs them all.
    const run = kind === 'dexie' ? coveringPaths(paths, (s) => abstract(s as never), (e) => eventKey(e as never)) : paths;
    for (const { path, input } of run) {
      // Claims wait for the model's step, so a batch ends only when the model says it does.
      outbox = createOutbox({ manual: ['claimBatch'] });
      transport = createFakeTransport();
      clock = new SimulatedClock();
      batchNumber = 0;
      let owed = 0;
      const settled: BatchOutput[] = [];
      const actor = createActor(machine, {
        clock,
        input,
        inspect: coverage.inspect,
      });
      actor.on('batch.settled', (e) => settled.push(e.output));
      actor.start();
      await outbox.quiet();
      const send = async (event: QueueEvent) => {
        actor.send(event);
        await outbox.quiet();
      };
      const advance = async (ms: number) => {
        clock.increment(ms);
        await outbox.quiet();
      };
      await path.test({
        states: {
          '*': async (state) => {
            const real = actor.getSnapshot();
            const m = state as unknown as Snap;
            expect(real.value).toEqual(m.value);
            expect(real.context.pending).toBe(m.context.pending);
            // (The attempt count is not part of the abstract state, so the model's snapshot may carry another one.)
            expect(real.context.inFlight === null).toBe(m.context.inFlight === null);
            for (const tag of ['busy', 'offline', 'error', 'auth'] as const) expect(real.hasTag(tag)).toBe(m.hasTag(tag));
            const { ops, batches } = await outbox.rows();
            const count = (status: OpRow['status']) => ops.filter((o) => o.status === status).length;
            // The batch actor, if any, waits on its claim: nothing of it is in the outbox or on the wire yet.
            const children = Object.keys(real.children).filter((id) => id === 'batch');
            expect(children).toEqual(real.context.inFlight ? ['batch'] : []);
            if (real.context.inFlight) {
              expect(real.children[children[0]!]!.getSnapshot().value).toBe('claiming');
              expect(batches.map((b) => b.id)).not.toContain(real.context.inFlight.batchId);
            }
            expect(count('inFlight')).toBe(0);
            // Every request sent belongs to one settled batch row and carried exactly its ops.
            expect(transport.open()).toHaveLength(0);
            expect(transport.requests).toHaveLength(real.context.requestsSent);
            expect(transport.requests.map((r) => r.batchId)).toEqual(batches.map((b) => b.id));
            for (const [i, b] of batches.entries()) {
              expect(['completed', 'partial', 'failed']).toContain(b.status);
              expect(transport.requests[i]!.operations.map((o) => o.id)).toEqual(b.opIds);
            }
            // The count the machine keeps is the outbox's truth whenever no batch is out.
            // Confirmed set-aside ops wait apart: not pending, and idle only with its wake armed. An op on
            // trial is pending, and there is one exactly while the next batch is its trial.
            const waiting = ops.filter((o) => o.status === 'queued' && o.setAside !== 'confirmed').length;
            if (!real.context.inFlight) expect(waiting).toBe(real.context.pending);
            if (real.matches({ schedule: 'idle' })) expect(waiting).toBe(0);
            expect(ops.some((o) => o.status === 'queued' && o.setAside === 'confirmed')).toBe(real.context.setAsideWakeAt !== null);
            expect(ops.some((o) => o.setAside === 'trial')).toBe(real.context.trialBatch);
            if (real.matches({ schedule: 'backoff' })) expect(real.context.nextRetryAt).not.toBeNull();
          },
        },
        events: {
          'op.enqueued': async ({ event }) => {
            // During a batch the write lands after the batch's answer is recorded (before that, the
            // outbox's count in the answer would include it as well as the queue's own count).
            if (actor.getSnapshot().context.inFlight) owed += 1;
            else await outbox.enqueue(1);
            await send(event as QueueEvent);
          },
          'outbox.changed': async ({ event }) => {
            await outbox.setQueued((event as unknown as { pending: number }).pending);
            await send(event as QueueEvent);
          },
          'sync.now': ({ event }) => send(event as QueueEvent),
          'network.changed': ({ event }) => send(event as QueueEvent),
          'auth.expired': ({ event }) => send(event as QueueEvent),
          'auth.refreshed': ({ event }) => send(event as QueueEvent),
          'page.hidden': ({ event }) => send(event as QueueEvent),
          'page.visible': ({ event }) => send(event as QueueEvent),
          'retry.rearm': ({ event }) => send(event as QueueEvent),
          ['xstate.done.actor.retry-backoff' as never]: () => advance(actor.getSnapshot().context.retryDelayMs ?? 0),
          ['xstate.done.actor.batch' as never]: async ({ event }: { event: { output: BatchOutput } }) => {
            const expected = event.output;
            const { batchId } = actor.getSnapshot().context.inFlight!;
            const before = await outbox.rows();
            const sentBefore = transport.requests.length;
            // The claim takes the oldest queued ops, as many as the model says.
            // A due set-aside op goes alone; one not due stays. The trial batch leaves the op on trial
            // out, unless nothing else could go.
            const { trialBatch, setAsideDue } = actor.getSnapshot().context;
            const queued = before.ops.filter((o) => o.status === 'queued');
            const inLine = queued.filter((o) => (trialBatch ? o.setAside === false : o.setAside !== 'confirmed'));
            const candidates =
              setAsideDue && !trialBatch
                ? queued.filter((o) => o.setAside === 'confirmed')
                : trialBatch && inLine.length === 0
                  ? queued.filter((o) => o.setAside !== 'confirmed')
                  : inLine;
            const claimedIds = candidates.slice(0, expected.opCount).map((o) => o.id);
            expect(claimedIds).toHaveLength(expected.opCount);
            outbox.held('claimBatch')[0]!.proceed();
            await outbox.quiet();
            const claimed = await outbox.rows();
            const untouched = (rows: OpRow[]) => rows.filter((o) => !claimedIds.includes(o.id));
            if (expected.opCount > 0) {
              // Sending: exactly the claimed ops inFlight under this batch, a 'syncing' row, one request with them.
              const inFlight = claimed.ops.filter((o) => o.status === 'inFlight');
              expect(inFlight.map((o) => o.id)).toEqual(claimedIds);
              expect(inFlight.every((o) => o.batchId === batchId)).toBe(true);
              expect(claimed.batches.find((b) => b.id === batchId)).toEqual({ id: batchId, status: 'syncing', opIds: claimedIds });
              expect(transport.requests).toHaveLength(sentBefore + 1);
              expect(transport.open()).toHaveLength(1);
              expect(transport.open()[0]!.batchId).toBe(batchId);
              expect(transport.open()[0]!.operations.map((o) => o.id)).toEqual(claimedIds);
            } else {
              expect(claimed.batches.map((b) => b.id)).not.toContain(batchId);
              expect(transport.requests).toHaveLength(sentBefore);
            }
            const request = transport.open()[0];
            if (expected.status === 'completed') request!.answer(ack(request!));
            if (expected.status === 'partial') request!.answer({ ok: true, results: okResults(request!.operations, { retryable: true }) });
            const failureKind = expected.failure?.kind;
            if (failureKind === 'network') request!.reject('fetch failed');
            if (failureKind === 'server' || failureKind === 'auth' || failureKind === 'fatal' || failureKind === 'rateLimited') {
              request!.answer(httpFailure(failureKind, failureKind === 'rateLimited' ? { retryAfterMs: 5_000 } : {}));
            }
            if (failureKind === 'timeout') await advance(requestTimeoutMs);
            await outbox.quiet();
            const real = settled.at(-1)!;
            expect(real.batchId).toBe(batchId);
            expect(real.status).toBe(expected.status);
            expect(real.failure?.kind).toBe(expected.failure?.kind);
            // Set-aside times are the real clock's: to come or due, as the model has them.
            const timeOf = (at: number) => (at <= clock.now() ? DUE : LATER);
            const realOutcome = real.outcome as { setAsideUntil?: number } | undefined;
            expect(realOutcome?.setAsideUntil === undefined ? real.outcome : { ...realOutcome, setAsideUntil: timeOf(realOutcome.setAsideUntil) }).toEqual(expected.outcome);
            const writeOwed = async () => {
              await outbox.enqueue(owed);
              owed = 0;
            };
            if (expected.opCount === 0) return writeOwed();
            // Settled: the ops the server took are gone, the others back in the queue (an attempt
            // spent only by the server's own retryable answer for the op) or dead, the batch row says how it went, nothing else changed.
            expect(request!.state).toBe(failureKind === 'timeout' ? 'aborted' : failureKind === 'network' ? 'rejected' : 'answered');
            const after = await outbox.rows();
            // An op on trial left out of the batch: confirmed if the server took some of it, else back in its place.
            const serverTook = expected.status === 'completed' || expected.status === 'partial';
            const trialAfter = (o: OpRow): OpRow => (o.setAside === 'trial' ? { ...o, setAside: serverTook ? 'confirmed' : false } : o);
            expect(untouched(after.ops)).toEqual(untouched(before.ops).map(trialAfter));
            const was = new Map(before.ops.map((o) => [o.id, o]));
            // An answer for a set-aside op ends its set-aside; a 5xx for a lone one sets it aside (on trial,
            // unless it was confirmed before). An op on trial that was claimed got its place back.
            const setsAside = expected.outcome !== undefined && 'setAside' in expected.outcome;
            const asideAfter: OpRow['setAside'] = setAsideDue && !trialBatch ? 'confirmed' : 'trial';
            const kept = (id: string) => (was.get(id)!.setAside === 'trial' ? false : was.get(id)!.setAside);
            const back = (id: string, spent: number, status: OpRow['status'], setAside = kept(id)): OpRow => ({
              ...was.get(id)!,
              status,
              batchId: null,
              retryCount: was.get(id)!.retryCount + spent,
              setAside,
            });
            const expectedOps =
              expected.status === 'completed'
                ? []
                : expected.status === 'partial'
                  ? [back(claimedIds[0]!, 1, 'queued', false)]
                  : claimedIds.map((id) => (failureKind === 'fatal' ? back(id, 0, 'dead', false) : back(id, 0, 'queued', setsAside ? asideAfter : undefined)));
            expect(after.ops.filter((o) => claimedIds.includes(o.id))).toEqual(expectedOps);
            expect(after.batches.find((b) => b.id === batchId)).toEqual({ id: batchId, status: expected.status, opIds: claimedIds });
            await writeOwed();
          },
          ...afterExecutors(
            machine,
            (delay) => {
              const c = actor.getSnapshot().context;
              if (delay === 'idleGap') return Math.max(0, c.lastEnqueuedAt + c.config.timeoutMs - clock.now());
              if (delay === 'latencyBudget') return Math.max(0, (c.dueAt ?? clock.now()) - clock.now());
              if (delay === 'setAsideWake') return Math.max(0, (c.setAsideWakeAt ?? clock.now()) - clock.now());
              throw new Error(`no executor for the delay ${String(delay)}`);
            },
            advance,
          ),
        },
      });
      actor.stop();
      await outbox.close();
    }
    const { line, missingStates, missingTransitions, unknown } = coverage.report();
    console.log(`${line} (${run.length} of ${paths.length} paths)`);
    expect(unknown).toEqual([]);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
    // The page's visibility doubles the abstract states, the failing stretch (halving, set-aside) adds a
    // third: several thousand paths, each run for real (on the Dexie outbox, minutes on a shared machine).
  }, 600_000);
});
