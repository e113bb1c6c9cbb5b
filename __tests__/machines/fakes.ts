// Test doubles and helpers shared by the machine tests: a transport, a latency probe, coverage.
import { createMachine, fromPromise, type AnyStateMachine, type InspectionEvent } from 'xstate';
import type { OperationResult, ServerCheck, TransportFailure, UploadBatchInput, UploadResult, WireOperation } from '../../machines/types.ts';
import { seededRandom } from '../../src/stack/faultProxy.ts';

/** Lets every resolved promise and its continuations run (fake actors answer in microtasks). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export type SentRequest = {
  batchId: string;
  operations: WireOperation[];
  keepalive: boolean;
  state: 'open' | 'answered' | 'rejected' | 'aborted';
  answer(result: UploadResult): void;
  reject(message: string): void;
};

export type TransportOptions = {
  /** Answers each request at once; return undefined to leave it open for the test. */
  respond?: (input: UploadBatchInput, index: number) => UploadResult | undefined;
  /** Answers each check that the server is there (default: it is). */
  check?: (index: number) => ServerCheck;
};

/** A transport that logs every request; stopping the actor aborts it through `signal`. */
export function createFakeTransport(options: TransportOptions = {}) {
  const requests: SentRequest[] = [];
  const upload = (input: UploadBatchInput, signal: AbortSignal) =>
    new Promise<UploadResult>((resolve, reject) => {
      const request: SentRequest = {
        batchId: input.batchId,
        operations: input.operations,
        keepalive: input.keepalive === true,
        state: 'open',
        answer: (result) => {
          if (request.state !== 'open') return;
          request.state = 'answered';
          resolve(result);
        },
        reject: (message) => {
          if (request.state !== 'open') return;
          request.state = 'rejected';
          reject(new Error(message));
        },
      };
      signal.addEventListener('abort', () => {
        if (request.state === 'open') request.state = 'aborted';
      });
      requests.push(request);
      const auto = options.respond?.(input, requests.length - 1);
      if (auto) queueMicrotask(() => request.answer(auto));
    });
  const checks: ServerCheck[] = [];
  const check = async (): Promise<ServerCheck> => {
    const answer = options.check?.(checks.length) ?? { ok: true };
    checks.push(answer);
    return answer;
  };
  return {
    upload,
    uploadBatch: fromPromise<UploadResult, UploadBatchInput>(({ input, signal }) => upload(input, signal)),
    check,
    checkServer: fromPromise<ServerCheck>(() => check()),
    /** Every check that the server is there, with its answer. */
    checks,
    requests,
    open: () => requests.filter((r) => r.state === 'open'),
  };
}

export const okResults = (operations: WireOperation[], failFirst?: { retryable: boolean }): OperationResult[] =>
  operations.map((op, i) =>
    i === 0 && failFirst
      ? { id: op.id, success: false, error: { code: 'X', message: 'failed', retryable: failFirst.retryable } }
      : { id: op.id, success: true },
  );

export const httpFailure = (kind: TransportFailure['kind'], extra: Partial<TransportFailure> = {}): UploadResult => ({
  ok: false,
  failure: { kind, message: `request failed: ${kind}`, ...extra },
});

/** A latency probe the test answers call by call. */
export function createFakeProbe() {
  const calls: Array<{ state: 'open' | 'done' | 'aborted'; resolve(ms: number): void; reject(message: string): void }> = [];
  const probe = (signal?: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      const call = {
        state: 'open' as 'open' | 'done' | 'aborted',
        resolve: (ms: number) => {
          call.state = 'done';
          resolve(ms);
        },
        reject: (message: string) => {
          call.state = 'done';
          reject(new Error(message));
        },
      };
      signal?.addEventListener('abort', () => {
        if (call.state === 'open') call.state = 'aborted';
      });
      calls.push(call);
    });
  return { probe, probeLatency: fromPromise<number>(({ signal }) => probe(signal)), calls, open: () => calls.filter((c) => c.state === 'open') };
}

/** Seeded PRNG, so jitter tests are reproducible (the fault proxy's mulberry32). */
export const seeded = seededRandom;

type AnyNode = AnyStateMachine['root'];
type AnyTransition = ReturnType<AnyNode['transitions']['get']> extends Array<infer T> | undefined ? T : never;

const allNodes = (node: AnyNode): AnyNode[] => [node, ...Object.values(node.states).flatMap((child) => allNodes(child as AnyNode))];

/** Every state node (but the root) and every transition (on, invoke done/error, after, always) of a machine. */
export function machineShape(machine: AnyStateMachine) {
  const nodes = allNodes(machine.root);
  const states = nodes.filter((n) => n !== machine.root).map((n) => n.id);
  const transitions: AnyTransition[] = nodes.flatMap((n) => [...[...n.transitions.values()].flat(), ...(n.always ?? [])]);
  return { states, transitions };
}

const describeTransition = (t: AnyTransition) =>
  `${t.source.id} --${t.eventType}${t.guard ? ` [${JSON.stringify(typeof t.guard === 'function' ? 'fn' : t.guard)}]` : ''}--> ${
    t.target?.map((n: AnyNode) => n.id).join(',') ?? '(stay)'
  }`;

/**
 * Records, from the real actors' inspection events, which states were entered and which transitions
 * were taken, so a model-based test can report and assert coverage of the whole machine.
 */
export function createCoverage(machine: AnyStateMachine, name: string) {
  const shape = machineShape(machine);
  const seenStates = new Set<string>();
  const seenTransitions = new Set<AnyTransition>();
  const known = new Set(shape.transitions);
  const unknown: string[] = [];
  const mark = (snapshot: unknown) => {
    for (const node of (snapshot as { _nodes?: AnyNode[] })._nodes ?? []) if (node !== machine.root) seenStates.add(node.id);
  };
  const inspect = (event: InspectionEvent) => {
    if ((event.actorRef as unknown as { logic?: unknown }).logic !== machine) return;
    if (event.type === '@xstate.snapshot') mark(event.snapshot);
    if (event.type === '@xstate.microstep') {
      mark(event.snapshot);
      for (const t of (event as unknown as { _transitions: AnyTransition[] })._transitions) {
        if (known.has(t)) seenTransitions.add(t);
        else unknown.push(describeTransition(t));
      }
    }
  };
  return {
    inspect,
    report() {
      const missingStates = shape.states.filter((s) => !seenStates.has(s));
      const missingTransitions = shape.transitions.filter((t) => !seenTransitions.has(t)).map(describeTransition);
      const line =
        `${name}: states ${shape.states.length - missingStates.length}/${shape.states.length}, ` +
        `transitions ${shape.transitions.length - missingTransitions.length}/${shape.transitions.length}`;
      return { line, missingStates, missingTransitions, unknown };
    },
  };
}

/** Executors for every delayed transition of a machine: advancing the clock by the delay fires it. */
export function afterExecutors(
  machine: AnyStateMachine,
  delayMs: (delay: string | number) => number,
  advance: (ms: number) => Promise<void>,
): Record<string, () => Promise<void>> {
  const executors: Record<string, () => Promise<void>> = {};
  for (const node of allNodes(machine.root)) {
    for (const t of node.after) {
      executors[t.eventType] = () => advance(delayMs(t.delay as string | number));
    }
  }
  return executors;
}

type StateConfig = {
  id?: string;
  on?: Record<string, unknown>;
  after?: Record<string, unknown>;
  invoke?: unknown;
  states?: Record<string, StateConfig>;
  [key: string]: unknown;
};

/**
 * The same statechart with its effects turned into plain events, for `createTestModel` (which refuses
 * `invoke` and `after`): an invoke's onDone/onError become 'xstate.done.actor.<id>' /
 * 'xstate.error.actor.<id>' transitions and `after` becomes 'xstate.after.<delay>.<stateId>', exactly the
 * events the real actor receives. `rename` turns a wildcard descriptor into the one event the model sends.
 */
export function toTestMachine<T extends AnyStateMachine>(machine: T, rename: Record<string, string> = {}): T {
  const strip = (config: StateConfig, id: string): StateConfig => {
    const { invoke, after, states, on, ...rest } = config;
    const nextOn: Record<string, unknown> = {};
    for (const [descriptor, transition] of Object.entries(on ?? {})) nextOn[rename[descriptor] ?? descriptor] = transition;
    const invokes = (Array.isArray(invoke) ? invoke : invoke ? [invoke] : []) as Array<{ id: string; onDone?: unknown; onError?: unknown }>;
    for (const inv of invokes) {
      if (inv.onDone) nextOn[`xstate.done.actor.${inv.id}`] = inv.onDone;
      if (inv.onError) nextOn[`xstate.error.actor.${inv.id}`] = inv.onError;
    }
    for (const [delay, transition] of Object.entries(after ?? {})) nextOn[`xstate.after.${delay}.${id}`] = transition;
    const stripped: StateConfig = { ...rest, on: nextOn };
    if (states) {
      stripped.states = Object.fromEntries(
        Object.entries(states).map(([key, child]) => [key, strip(child, child.id ?? `${id}.${key}`)]),
      );
    }
    return stripped;
  };
  const config = machine.config as unknown as StateConfig;
  return createMachine(strip(config, config.id ?? '(machine)') as never, machine.implementations as never) as unknown as T;
}
