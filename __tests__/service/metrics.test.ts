// The metrics collector: enqueue-to-ack times from claimed and answered ops, bytes of the batches
// that carried ops, the queue's size over time, and the rates derived from the queue's counters.
import { LATENCY_SAMPLES, MetricsCollector, QUEUE_SIZE_SAMPLES } from '../../src/service/metrics.ts';

const counters = { batchesSent: 0, batchesFailed: 0, opsAcked: 0, requestsSent: 0 };

test('an idle collector reports a perfect rate and nothing measured', () => {
  expect(new MetricsCollector().read(counters)).toEqual({
    batchSuccessRate: 1,
    opsPerBatch: 0,
    enqueueToAckMs: { p50: 0, p95: 0, samples: 0 },
    queueSizeHistory: [],
    requestsSent: 0,
    bytesSent: 0,
    batchesSent: 0,
    batchesFailed: 0,
    opsAcked: 0,
  });
});

test('only acknowledged ops that were claimed give an enqueue-to-ack time', () => {
  const metrics = new MetricsCollector();
  metrics.claimed([
    { id: 'a', timestamp: 1_000 },
    { id: 'b', timestamp: 2_000 },
    { id: 'c', timestamp: 3_000 },
  ]);
  metrics.answered(
    [
      { id: 'a', success: true },
      { id: 'b', success: false },
      { id: 'never-claimed', success: true },
    ],
    5_000,
  );
  metrics.answered([{ id: 'c', success: true }], 4_000);
  // 'a' waited 4,000 ms, 'c' 1,000 ms; 'b' failed and the unclaimed one has no start.
  expect(metrics.read(counters).enqueueToAckMs).toEqual({ p50: 4_000, p95: 4_000, samples: 2 });
  // An op is timed once: answering it again adds nothing.
  metrics.answered([{ id: 'a', success: true }], 9_000);
  expect(metrics.read(counters).enqueueToAckMs.samples).toBe(2);
});

test('bytes count only batches that carried ops; rates come from the queue counters', () => {
  const metrics = new MetricsCollector();
  metrics.batchEnded({ opCount: 3, bytes: 300 });
  metrics.batchEnded({ opCount: 0, bytes: 50 });
  expect(metrics.read({ batchesSent: 3, batchesFailed: 1, opsAcked: 12, requestsSent: 5 })).toMatchObject({
    bytesSent: 300,
    batchSuccessRate: 0.75,
    opsPerBatch: 4,
    requestsSent: 5,
  });
});

test('the queue size history and the latency samples keep only the newest', () => {
  const metrics = new MetricsCollector();
  for (let i = 0; i < QUEUE_SIZE_SAMPLES + 10; i++) metrics.queueSized(i, i);
  const history = metrics.read(counters).queueSizeHistory;
  expect(history).toHaveLength(QUEUE_SIZE_SAMPLES);
  expect(history[0]).toEqual({ at: 10, pending: 10 });
  for (let i = 0; i < LATENCY_SAMPLES + 5; i++) {
    metrics.claimed([{ id: `op-${i}`, timestamp: 0 }]);
    metrics.answered([{ id: `op-${i}`, success: true }], i);
  }
  expect(metrics.read(counters).enqueueToAckMs.samples).toBe(LATENCY_SAMPLES);
});
