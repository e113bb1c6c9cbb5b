import { createActor, fromPromise, SimulatedClock, toPromise, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { batchMachine, type BatchInput } from '../../machines/batch.machine.ts';
import type { OperationResult, ReleaseBatchInput, ServerCheck, UploadResult } from '../../machines/types.ts';
import { createDexieOutbox } from './dexieOutbox.ts';
import { createFakeOutbox, predictRecord, type OutboxOptions, type OutboxUnderTest } from './fakeOutbox.ts';
import { afterExecutors, createCoverage, createFakeTransport, httpFailure, okResults, settle, toTestMachine } from './fakes.ts';
import { isRetryable, type OpRow, type OutboxActorName, type OutboxFactory, type OutboxRows } from './outboxUnderTest.ts';

const input: BatchInput = { batchId: 'b1', maxOps: 3, maxBytes: 1_000_000, requestTimeoutMs: 30_000, storageTimeoutMs: 15_000 };

async function start(queued: number, outboxOptions: OutboxOptions = {}, respond?: Parameters<typeof createFakeTransport>[0], overrides: Partial<BatchInput> = {}) {
  const outbox = createFakeOutbox(outboxOptions);
  await outbox.enqueue(queued);
  const transport = createFakeTransport(respond);
  const released: ReleaseBatchInput[] = [];
  const machine = batchMachine.provide({
    actors: {
      ...outbox.actors,
      releaseBatch: fromPromise(({ input: i }: { input: ReleaseBatchInput }) => {
        released.push(i);
        return outbox.run.releaseBatch(i);
      }),
      uploadBatch: transport.uploadBatch,
      checkServer: transport.checkServer,
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input: { ...input, ...overrides }, clock }).start();
  await settle();
  return { actor, outbox, transport, clock, released };
}

describe('batch machine', () => {
  test('claims, sends one request, records: completed', async () => {
    const { actor, outbox, transport } = await start(2, {}, { respond: (i) => ({ ok: true, results: okResults(i.operations) }) });
    const output = await toPromise(actor);
    expect(transport.requests).toHaveLength(1);
    expect(output).toMatchObject({ batchId: 'b1', status: 'completed', opCount: 2, bytes: 200 });
    expect(output.outcome).toEqual({ status: 'completed', succeeded: 2, requeued: 0, held: 0, dead: 0, pending: 0 });
    expect(await outbox.counts()).toEqual({ queued: 0, inFlight: 0, dead: 0 });
  });

  test('claims at most maxOps', async () => {
    const { actor, transport } = await start(5, {}, { respond: (i) => ({ ok: true, results: okResults(i.operations) }) });
    const output = await toPromise(actor);
    expect(transport.requests[0]!.operations).toHaveLength(3);
    expect(output.outcome).toMatchObject({ pending: 2 });
  });

  test('nothing queued ends empty without a request', async () => {
    const { actor, transport } = await start(0);
    expect(await toPromise(actor)).toEqual({ batchId: 'b1', status: 'empty', opCount: 0, bytes: 0 });
    expect(transport.requests).toHaveLength(0);
  });

  test('one failed op makes it partial; the op goes back to the queue', async () => {
    const { actor, outbox } = await start(3, {}, { respond: (i) => ({ ok: true, results: okResults(i.operations, { retryable: true }) }) });
    const output = await toPromise(actor);
    expect(output.status).toBe('partial');
    expect(output.outcome).toEqual({ status: 'partial', succeeded: 2, requeued: 1, held: 0, dead: 0, pending: 1 });
    expect(await outbox.counts()).toEqual({ queued: 1, inFlight: 0, dead: 0 });
  });

  test('a hung upload times out: request aborted, ops released, failure kind timeout', async () => {
    const { actor, outbox, transport, clock } = await start(2);
    expect(actor.getSnapshot().value).toBe('sending');
    expect(actor.getSnapshot().hasTag('busy')).toBe(true);
    clock.increment(29_999);
    expect(actor.getSnapshot().value).toBe('sending');
    clock.increment(1);
    await settle();
    const output = await toPromise(actor);
    expect(transport.requests[0]!.state).toBe('aborted');
    expect(output.status).toBe('failed');
    expect(output.failure?.kind).toBe('timeout');
    expect(output.outcome).toEqual({ requeued: 2, dead: 0, pending: 2 });
    expect(await outbox.counts()).toEqual({ queued: 2, inFlight: 0, dead: 0 });
  });

  test('a 401 or a 503 releases the ops with the failure, which never spends their retries', async () => {
    const auth = await start(2, {}, { respond: () => httpFailure('auth', { status: 401 }) });
    expect((await toPromise(auth.actor)).failure?.kind).toBe('auth');
    expect(auth.released).toEqual([{ batchId: 'b1', failure: { kind: 'auth', message: 'request failed: auth', status: 401 } }]);
    const server = await start(2, {}, { respond: () => httpFailure('server', { status: 503 }) });
    await toPromise(server.actor);
    expect(server.released[0]!.failure.kind).toBe('server');
    expect(await server.outbox.counts()).toEqual({ queued: 2, inFlight: 0, dead: 0 });
  });

  test('a rejected upload is a network failure; fatal dead-letters the ops', async () => {
    const net = await start(1);
    net.transport.open()[0]!.reject('fetch failed');
    expect((await toPromise(net.actor)).failure).toEqual({ kind: 'network', message: 'fetch failed' });
    const fatal = await start(2, {}, { respond: () => httpFailure('fatal', { status: 413 }) });
    expect((await toPromise(fatal.actor)).outcome).toEqual({ requeued: 0, dead: 2, pending: 0 });
  });

  describe('before the attempt that would set a lone op aside, a check that the server answers', () => {
    const streak = { setAside: { baseMs: 60_000, streakReached: true } };
    const failsAlone = { respond: () => httpFailure('server', { status: 500 }) };

    test('no answer: nothing is claimed or sent, the batch fails as the network, and the op stays queued', async () => {
      const down = await start(1, {}, { ...failsAlone, check: () => ({ ok: false, failure: { kind: 'network', message: 'network error: connection refused' } }) }, streak);
      const output = await toPromise(down.actor);
      expect(down.transport.checks).toHaveLength(1);
      expect(down.transport.requests).toHaveLength(0);
      expect(down.released).toEqual([]);
      expect(output).toEqual({
        batchId: 'b1',
        status: 'failed',
        opCount: 0,
        bytes: 0,
        failure: { kind: 'network', message: 'the server is not answering (network error: connection refused)' },
        serverCheck: 'away',
      });
      expect((await down.outbox.rows()).ops.map((o) => [o.status, o.setAside])).toEqual([['queued', false]]);
    });

    test('a 5xx to the check: the server is away, not the op; nothing is set aside', async () => {
      const away = await start(1, {}, { ...failsAlone, check: () => ({ ok: false, failure: { kind: 'server', status: 500, message: 'HTTP 500 from verse-operations' } }) }, streak);
      const output = await toPromise(away.actor);
      expect(output).toMatchObject({ status: 'failed', opCount: 0, failure: { kind: 'server', status: 500 }, serverCheck: 'away' });
      expect(away.transport.requests).toHaveLength(0);
      expect((await away.outbox.rows()).ops.map((o) => o.setAside)).toEqual([false]);
    });

    test('a 401 to the check is the server answering: the batch fails as auth (the queue renews the session), nothing claimed', async () => {
      const expired = await start(1, {}, { ...failsAlone, check: () => ({ ok: false, failure: { kind: 'auth', status: 401, code: 'TOKEN_EXPIRED', message: 'the session expired' } }) }, streak);
      const output = await toPromise(expired.actor);
      expect(output).toEqual({
        batchId: 'b1',
        status: 'failed',
        opCount: 0,
        bytes: 0,
        failure: { kind: 'auth', status: 401, code: 'TOKEN_EXPIRED', message: 'the session expired' },
        serverCheck: 'answered',
      });
      expect(expired.transport.requests).toHaveLength(0);
    });

    test('answered: the op goes alone, and its 5xx sets it aside on trial', async () => {
      const up = await start(1, {}, failsAlone, streak);
      const output = await toPromise(up.actor);
      expect(up.transport.checks).toEqual([{ ok: true }]);
      expect(up.transport.requests).toHaveLength(1);
      expect(output).toMatchObject({ serverCheck: 'answered', outcome: { requeued: 1, setAside: 1 } });
      expect((await up.outbox.rows()).ops.map((o) => o.setAside)).toEqual(['trial']);
    });

    test('only then: a batch short of the streak, or the trial batch, sends without a check', async () => {
      const early = await start(1, {}, failsAlone, { setAside: { baseMs: 60_000, streakReached: false } });
      await toPromise(early.actor);
      const trial = await start(2, {}, { respond: (i) => ({ ok: true, results: okResults(i.operations) }) }, { ...streak, trial: true });
      await toPromise(trial.actor);
      expect([early.transport.checks, trial.transport.checks]).toEqual([[], []]);
      expect([early.transport.requests.length, trial.transport.requests.length]).toEqual([1, 1]);
    });

    test('a check with no answer within the request timeout fails as a timeout, with nothing claimed', async () => {
      const outbox = createFakeOutbox();
      await outbox.enqueue(1);
      let aborted = false;
      const hung = fromPromise<ServerCheck>(({ signal }) => new Promise<ServerCheck>(() => signal.addEventListener('abort', () => (aborted = true))));
      const machine = batchMachine.provide({ actors: { ...outbox.actors, checkServer: hung } });
      const clock = new SimulatedClock();
      const actor = createActor(machine, { input: { ...input, ...streak }, clock }).start();
      await settle();
      expect(actor.getSnapshot().value).toBe('checking');
      clock.increment(input.requestTimeoutMs!);
      const output = await toPromise(actor);
      expect(aborted).toBe(true);
      expect(output).toMatchObject({ status: 'failed', opCount: 0, failure: { kind: 'timeout' }, serverCheck: 'away' });
      expect((await outbox.rows()).ops.map((o) => o.status)).toEqual(['queued']);
    });
  });

  test('claim, record or release rejecting still ends failed with a retryable failure', async () => {
    const claim = await start(2, { manual: ['claimBatch'] });
    claim.outbox.held('claimBatch')[0]!.fail('disk full');
    expect((await toPromise(claim.actor)).failure).toEqual({ kind: 'server', message: 'claimBatch failed: disk full' });

    const record = await start(2, { manual: ['recordResults'] }, { respond: (i) => ({ ok: true, results: okResults(i.operations) }) });
    await settle();
    record.outbox.held('recordResults')[0]!.fail('quota exceeded');
    const out = await toPromise(record.actor);
    expect(out.status).toBe('failed');
    expect(out.failure).toEqual({ kind: 'server', message: 'recordResults failed: quota exceeded' });
    expect(out.outcome).toEqual({ requeued: 2, dead: 0, pending: 2 });
  });

  test("default actors reject with \"provide '<name>' via .provide()\"", async () => {
    const actor = createActor(batchMachine, { input }).start();
    const output = await toPromise(actor);
    expect(output.failure?.message).toBe("coalesceQueued failed: provide 'coalesceQueued' via .provide()");
  });
});

type BatchSnap = SnapshotFrom<typeof batchMachine>;

/**
 * What the outbox must hold in the model's state, given the ops queued at the start: untouched until a
 * claim, the claimed ones inFlight under the batch id with a 'syncing' row until recorded or released,
 * then gone (acknowledged), queued again (an attempt spent only when the server answered a retryable
 * error for that op; a failed request or a missing result spends none), or dead.
 */
function expectedRows(model: BatchSnap, initial: OpRow[]): OutboxRows {
  const { claimed, outcome, results, failure } = model.context;
  if (model.matches('empty')) return { ops: [], batches: [] };
  if (!claimed) return { ops: initial, batches: [] };
  const opIds = initial.map((o) => o.id);
  if (!outcome) {
    return {
      ops: initial.map((o) => ({ ...o, status: 'inFlight', batchId: input.batchId })),
      batches: [{ id: input.batchId, status: 'syncing', opIds }],
    };
  }
  const back = (o: OpRow, spent: number, status: OpRow['status']): OpRow[] => [{ ...o, status, batchId: null, retryCount: o.retryCount + spent }];
  if ('status' in outcome) {
    // Recorded: the answer's results match the claimed ops by position.
    const ops = initial.flatMap((o, i) => {
      const result = results[i];
      if (result?.success) return [];
      return back(o, result?.error ? 1 : 0, isRetryable(result) ? 'queued' : 'dead');
    });
    return { ops, batches: [{ id: input.batchId, status: outcome.status, opIds }] };
  }
  const ops = initial.flatMap((o) =>
    failure?.kind === 'fatal' ? back(o, 0, 'dead') : back(o, 0, 'queued'),
  );
  return { ops, batches: [{ id: input.batchId, status: 'failed', opIds }] };
}

const outboxes: Array<[string, OutboxFactory]> = [
  ['fake', createFakeOutbox],
  ['dexie', createDexieOutbox],
];

describe.each(outboxes)('batch model-based (%s outbox)', (kind, createOutbox) => {
  test('every state and transition is reached by the generated paths; each state checked against the outbox and the requests', async () => {
    const twoOps = [1, 2].map((n) => ({ id: `m${n}`, seq: n, type: 'UPDATE_PROFILE', payload: { dailyGoal: n, updatedAt: '2026-11-24T00:00:00.000Z' } }));
    const uploads: UploadResult[] = [
      { ok: true, results: okResults(twoOps as never) },
      { ok: true, results: okResults(twoOps as never, { retryable: true }) },
      { ok: true, results: twoOps.map((o) => ({ id: o.id, success: false, error: { code: 'X', message: 'later', retryable: true } })) },
      httpFailure('server', { status: 503 }),
      httpFailure('auth', { status: 401 }),
      httpFailure('rateLimited', { status: 429, retryAfterMs: 5_000 }),
      httpFailure('fatal', { status: 413 }),
    ];
    const model = createTestModel(toTestMachine(batchMachine), {
      events: (state) => {
        const s = state as unknown as BatchSnap;
        const n = s.context.claimed?.operations.length ?? 0;
        const failureKind = s.context.failure?.kind;
        return [
          { type: 'xstate.done.actor.coalesceQueued', output: { removed: 0 } },
          { type: 'xstate.done.actor.checkServer', output: { ok: true } },
          { type: 'xstate.done.actor.checkServer', output: { ok: false, failure: { kind: 'server', status: 500, message: 'HTTP 500' } } },
          { type: 'xstate.error.actor.checkServer', error: 'fetch failed' },
          { type: 'xstate.error.actor.coalesceQueued', error: 'locked' },
          { type: 'xstate.done.actor.claimBatch', output: null },
          { type: 'xstate.done.actor.claimBatch', output: { batchId: 'b1', operations: twoOps, bytes: 200 } },
          { type: 'xstate.error.actor.claimBatch', error: 'disk full' },
          ...uploads.map((output) => ({ type: 'xstate.done.actor.uploadBatch', output })),
          { type: 'xstate.error.actor.uploadBatch', error: 'fetch failed' },
          { type: 'xstate.done.actor.recordResults', output: predictRecord(s.context.results, 0) },
          { type: 'xstate.error.actor.recordResults', error: 'quota' },
          {
            type: 'xstate.done.actor.releaseBatch',
            output: failureKind === 'fatal' ? { requeued: 0, dead: n, pending: 0 } : { requeued: n, dead: 0, pending: n },
          },
          { type: 'xstate.error.actor.releaseBatch', error: 'locked' },
        ] as never;
      },
    });
    const abstract = (s: BatchSnap) =>
      JSON.stringify([s.value, s.context.claimed?.operations.length ?? 0, s.context.results.map((r) => r.success), s.context.failure?.kind ?? null]);
    // Two starts: an ordinary batch, and the one that would set a lone op aside (it checks the server first).
    const checkInput: BatchInput = { ...input, setAside: { baseMs: 60_000, streakReached: true } };
    const paths = [input, checkInput].flatMap((start) =>
      model
        .getShortestPaths({
          input: start,
          serializeState: (s, event, prev) => abstract(s as never) + (event ? ` via ${JSON.stringify(event)} from ${abstract(prev as never)}` : ''),
        })
        .map((path) => ({ path, start })),
    );

    let outbox: OutboxUnderTest = createOutbox();
    let transport = createFakeTransport();
    const machine = batchMachine.provide({
      actors: {
        coalesceQueued: fromPromise(() => outbox.run.coalesceQueued()),
        claimBatch: fromPromise(({ input: i }: { input: Parameters<OutboxUnderTest['run']['claimBatch']>[0] }) => outbox.run.claimBatch(i)),
        recordResults: fromPromise(({ input: i }: { input: Parameters<OutboxUnderTest['run']['recordResults']>[0] }) => outbox.run.recordResults(i)),
        releaseBatch: fromPromise(({ input: i }: { input: ReleaseBatchInput }) => outbox.run.releaseBatch(i)),
        uploadBatch: fromPromise(({ input: i, signal }) => transport.upload(i, signal)),
        checkServer: fromPromise<ServerCheck>(
          ({ signal }) =>
            new Promise((resolve, reject) => {
              const check = { state: 'open' as 'open' | 'done' | 'aborted', resolve, reject };
              signal.addEventListener('abort', () => (check.state = check.state === 'open' ? 'aborted' : check.state));
              checks.push(check);
            }),
        ),
      },
    });
    type HeldCheck = { state: 'open' | 'done' | 'aborted'; resolve(answer: ServerCheck): void; reject(error: Error): void };
    let checks: HeldCheck[] = [];
    const openCheck = () => {
      const check = checks.find((c) => c.state === 'open')!;
      check.state = 'done';
      return check;
    };
    const coverage = createCoverage(machine, `batch (${kind})`);
    await outbox.close();
    for (const { path, start } of paths) {
      checks = [];
      outbox = createOutbox({ manual: ['coalesceQueued', 'claimBatch', 'recordResults', 'releaseBatch'] });
      await outbox.enqueue(2);
      const initial = (await outbox.rows()).ops;
      expect(initial.map((o) => o.status)).toEqual(['queued', 'queued']);
      transport = createFakeTransport();
      const clock = new SimulatedClock();
      const actor = createActor(machine, { input: start, clock, inspect: coverage.inspect }).start();
      await outbox.quiet();
      const proceed = async (name: OutboxActorName) => {
        outbox.held(name)[0]!.proceed();
        await outbox.quiet();
      };
      const fail = async (name: OutboxActorName, message: string) => {
        outbox.held(name)[0]!.fail(message);
        await outbox.quiet();
      };
      await path.test({
        states: {
          '*': async (state) => {
            const real = actor.getSnapshot();
            const model = state as unknown as BatchSnap;
            expect(real.value).toEqual(model.value);
            expect(real.context.failure?.kind).toBe(model.context.failure?.kind);
            expect(real.hasTag('busy')).toBe(real.status === 'active');
            // The outbox, row by row: ops, their status, batch id and attempts, and the batch row.
            expect(await outbox.rows()).toEqual(expectedRows(model, initial));
            // One request at most, carrying exactly the claimed ops in seq order, open only while sending.
            expect(transport.open()).toHaveLength(real.matches('sending') ? 1 : 0);
            expect(transport.requests).toHaveLength(model.context.claimed ? 1 : 0);
            // One check at most, and only for the attempt that would set a lone op aside, open only while checking.
            expect(checks.filter((c) => c.state === 'open')).toHaveLength(real.matches('checking') ? 1 : 0);
            expect(checks.length).toBeLessThanOrEqual(start.setAside?.streakReached ? 1 : 0);
            for (const request of transport.requests) {
              expect(request.batchId).toBe(input.batchId);
              expect(request.operations.map((o) => o.id)).toEqual(initial.map((o) => o.id));
            }
            if (real.status === 'done') {
              expect(real.output!.status).toBe(model.output!.status);
              expect(real.output!.outcome).toEqual(model.output!.outcome);
            }
          },
        },
        events: {
          ['xstate.done.actor.coalesceQueued' as never]: () => proceed('coalesceQueued'),
          ['xstate.error.actor.coalesceQueued' as never]: () => fail('coalesceQueued', 'locked'),
          ['xstate.done.actor.checkServer' as never]: async ({ event }: { event: { output: ServerCheck } }) => {
            openCheck().resolve(event.output);
            await outbox.quiet();
          },
          ['xstate.error.actor.checkServer' as never]: async () => {
            openCheck().reject(new Error('fetch failed'));
            await outbox.quiet();
          },
          ['xstate.done.actor.claimBatch' as never]: async ({ event }: { event: { output: unknown } }) => {
            if (event.output === null) await outbox.setQueued(0);
            await proceed('claimBatch');
          },
          ['xstate.error.actor.claimBatch' as never]: () => fail('claimBatch', 'disk full'),
          ['xstate.done.actor.uploadBatch' as never]: async ({ event }: { event: { output: UploadResult } }) => {
            const request = transport.open()[0]!;
            const result = event.output;
            // The same answer, for the real ops of the request (matched by position).
            request.answer(
              result.ok
                ? { ok: true, results: result.results.map((r: OperationResult, i) => ({ ...r, id: request.operations[i]!.id })) }
                : result,
            );
            await outbox.quiet();
          },
          ['xstate.error.actor.uploadBatch' as never]: async () => {
            transport.open()[0]!.reject('fetch failed');
            await outbox.quiet();
          },
          ['xstate.done.actor.recordResults' as never]: () => proceed('recordResults'),
          ['xstate.error.actor.recordResults' as never]: () => fail('recordResults', 'quota'),
          ['xstate.done.actor.releaseBatch' as never]: () => proceed('releaseBatch'),
          ['xstate.error.actor.releaseBatch' as never]: () => fail('releaseBatch', 'locked'),
          ...afterExecutors(
            machine,
            (delay) => (delay === 'requestTimeout' ? start.requestTimeoutMs! : start.storageTimeoutMs!),
            async (ms) => {
              clock.increment(ms);
              await outbox.quiet();
            },
          ),
        },
      });
      actor.stop();
      await outbox.close();
    }
    const { line, missingStates, missingTransitions, unknown } = coverage.report();
    console.log(`${line} (${paths.length} paths)`);
    expect(unknown).toEqual([]);
    expect(missingStates).toEqual([]);
    expect(missingTransitions).toEqual([]);
  });
});
