// What the sync service reports about itself (getMetrics): the queue's own counters, plus what
// only the service sees — how long each op took from enqueue to acknowledgement, the bytes sent,
// and the queue's size over time.
import type { BatchOutput } from '../../machines/batch.machine.ts';
import type { QueueContext } from '../../machines/queue.machine.ts';

export type SyncMetrics = {
  batchSuccessRate: number;
  opsPerBatch: number;
  enqueueToAckMs: { p50: number; p95: number; samples: number };
  queueSizeHistory: Array<{ at: number; pending: number }>;
  requestsSent: number;
  bytesSent: number;
  batchesSent: number;
  batchesFailed: number;
  opsAcked: number;
};

/** The queue's counters the metrics are derived from. */
export type QueueCounters = Pick<QueueContext, 'batchesSent' | 'batchesFailed' | 'opsAcked' | 'requestsSent'>;

/** How many queue sizes and enqueue-to-ack times are kept (the oldest go first). */
export const QUEUE_SIZE_SAMPLES = 500;
export const LATENCY_SAMPLES = 2000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Collects the service's own measurements; `read` combines them with the queue's counters. */
export class MetricsCollector {
  private readonly enqueuedAt = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly queueSizes: Array<{ at: number; pending: number }> = [];
  private bytesSent = 0;

  /** A batch was claimed with these ops (`timestamp`: when each was enqueued, epoch ms). */
  claimed(ops: ReadonlyArray<{ id: string; timestamp: number }>): void {
    for (const op of ops) this.enqueuedAt.set(op.id, op.timestamp);
  }

  /** The server answered these ops at `now`; the acknowledged ones give an enqueue-to-ack time. */
  answered(results: ReadonlyArray<{ id: string; success: boolean }>, now: number = Date.now()): void {
    for (const result of results) {
      const at = this.enqueuedAt.get(result.id);
      if (result.success && at !== undefined) {
        this.latencies.push(now - at);
        if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
      }
      this.enqueuedAt.delete(result.id);
    }
  }

  /** A batch ended; one that carried ops counts its bytes as sent. */
  batchEnded(output: Pick<BatchOutput, 'opCount' | 'bytes'>): void {
    if (output.opCount > 0) this.bytesSent += output.bytes;
  }

  /** The outbox was counted: `pending` ops wait at `at`. */
  queueSized(pending: number, at: number = Date.now()): void {
    this.queueSizes.push({ at, pending });
    if (this.queueSizes.length > QUEUE_SIZE_SAMPLES) this.queueSizes.shift();
  }

  read(counters: QueueCounters): SyncMetrics {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const attempts = counters.batchesSent + counters.batchesFailed;
    return {
      batchSuccessRate: attempts === 0 ? 1 : counters.batchesSent / attempts,
      opsPerBatch: counters.batchesSent === 0 ? 0 : counters.opsAcked / counters.batchesSent,
      enqueueToAckMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), samples: sorted.length },
      queueSizeHistory: [...this.queueSizes],
      requestsSent: counters.requestsSent,
      bytesSent: this.bytesSent,
      batchesSent: counters.batchesSent,
      batchesFailed: counters.batchesFailed,
      opsAcked: counters.opsAcked,
    };
  }
}
