// The machines' effects, given for real: the Dexie outbox, the supabase-js transport, the latency
// probe, the session refresh and the browser's network and page events. The machines stay pure.
import type { SupabaseClient } from '@supabase/supabase-js';
import { fromCallback, fromPromise } from 'xstate';
import { batchMachine } from '../../machines/batch.machine.ts';
import { networkQualityMachine } from '../../machines/networkQuality.machine.ts';
import { queueEnvironment, queueMachine } from '../../machines/queue.machine.ts';
import { retryBackoffMachine, retryBackoffRandomness } from '../../machines/retryBackoff.machine.ts';
import { syncMachine } from '../../machines/sync.machine.ts';
import type { ClaimBatchInput, RecordResultsInput, ReleaseBatchInput, UploadBatchInput } from '../../machines/types.ts';
import type { VersesDb } from '../db/index.ts';
import { browserNetworkEvents, type NetworkEventSources } from '../network/browser.ts';
import { createLatencyProbe } from '../network/probe.ts';
import { claimBatch, coalesceQueued, recordResults, releaseBatch, type HistoryBounds } from '../outbox/index.ts';
import { browserPageEvents, type PageEventSources } from '../transport/pageEvents.ts';
import { createTransport } from '../transport/transport.ts';
import type { MetricsCollector } from './metrics.ts';

/** A batch this small is answered in about one round trip, so its time is a network estimate. */
const SAMPLE_MAX_OPS = 20;

export type EffectOptions = {
  db: VersesDb;
  client: SupabaseClient;
  getUserId: () => string | undefined;
  refreshSession?: () => Promise<boolean>;
  /** A probe given here is the only network estimate: batches are then not sampled. */
  probeLatency?: () => Promise<number>;
  networkEvents?: NetworkEventSources | 'none';
  pageEvents?: PageEventSources | 'none';
  requestTimeoutMs?: number;
  coalesce?: boolean;
  history?: Partial<HistoryBounds>;
  /** Where the queue reads the time, draws its jitter and gets batch ids (default: the real ones). */
  queue?: { now?: () => number; random?: () => number; newBatchId?: () => string };
};

/** What the effects tell the service as they run. */
export type EffectHooks = {
  metrics: MetricsCollector;
  /** A batch's round trip, for the network estimate. */
  latencySampled(latencyMs: number): void;
};

/** The root machine with every effect provided. */
export function provideSyncMachine(options: EffectOptions, hooks: EffectHooks) {
  const { db, getUserId, history } = options;
  const transport = createTransport({ client: options.client, timeoutMs: options.requestTimeoutMs });
  const probe = options.probeLatency ?? createLatencyProbe(options.client);
  const sampleBatches = options.probeLatency === undefined;
  const now = options.queue?.now ?? Date.now;
  const batch = batchMachine.provide({
    actors: {
      coalesceQueued: fromPromise(async () => (options.coalesce === false ? { removed: 0 } : coalesceQueued(db))),
      claimBatch: fromPromise(async ({ input }: { input: ClaimBatchInput }) => {
        // Told what it claimed rather than reading the batch back: that read would hold up local writes.
        return claimBatch(db, input, { userId: getUserId(), onClaimed: (ops) => hooks.metrics.claimed(ops) });
      }),
      checkServer: fromPromise(({ signal }) => transport.check(signal)),
      uploadBatch: fromPromise(async ({ input, signal }: { input: UploadBatchInput; signal: AbortSignal }) => {
        // Timed on the queue's clock, the one every timer of the service reads (a simulated one in tests).
        const started = now();
        const result = await transport.upload(input, signal);
        // The network estimate comes from the batches themselves, so no request is made only to measure.
        const answered = result.ok || result.failure.status !== undefined;
        if (sampleBatches && answered && !input.keepalive && input.operations.length <= SAMPLE_MAX_OPS) {
          hooks.latencySampled(Math.round(now() - started));
        }
        return result;
      }),
      recordResults: fromPromise(async ({ input }: { input: RecordResultsInput }) => {
        const outcome = await recordResults(db, input, { history });
        hooks.metrics.answered(input.results);
        return outcome;
      }),
      releaseBatch: fromPromise(({ input }: { input: ReleaseBatchInput }) => releaseBatch(db, input, { history })),
    },
  });
  return syncMachine.provide({
    actors: {
      queue: queueMachine.provide({
        ...queueEnvironment({ now, newBatchId: options.queue?.newBatchId ?? (() => crypto.randomUUID()) }),
        actors: { batch, retryBackoff: retryBackoffMachine.provide(retryBackoffRandomness(options.queue?.random ?? Math.random)) },
      }),
      networkQuality: networkQualityMachine.provide({ actors: { probeLatency: fromPromise(() => probe()) } }),
      refreshSession: fromPromise(() => (options.refreshSession ? options.refreshSession() : Promise.resolve(false))),
      networkEvents: options.networkEvents === 'none' ? fromCallback(() => undefined) : browserNetworkEvents(options.networkEvents),
      pageEvents: options.pageEvents === 'none' ? fromCallback(() => undefined) : browserPageEvents(options.pageEvents),
    },
  });
}
