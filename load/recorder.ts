// Everything a step observes on the client side: when each op was written locally, when
// its acknowledgement arrived, and every request with its answer (the request timeline).
export type RequestRecord = {
  user: number;
  /** ms since the step started */
  sentAt: number;
  endedAt: number;
  /** HTTP status; 0 when the request never got an answer (network error or abort). */
  status: number;
  ops: number;
  retryAfterMs?: number;
  /** Why a request got no answer (status 0). */
  error?: string;
};

export type OpRecord = { user: number; localRecordId: string; kind: string; enqueuedAt: number; ackedAt?: number; failed?: string };

/** ms on a clock every process of the machine shares (the epoch, with performance.now()'s resolution). */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

export class Recorder {
  private started = sharedNow();
  readonly requests: RequestRecord[] = [];
  private readonly ops = new Map<string, OpRecord>();
  // An ack can beat the writer's own bookkeeping by a microtask; it waits here for it.
  private readonly early = new Map<string, number>();
  /** Acks for ops this recorder never saw written (should stay 0; a non-zero value is a bug here). */
  get unmatchedAcks(): number {
    return this.early.size;
  }

  /**
   * Starts the step's clock (set-up before it is not timed) and forgets earlier requests. `at`
   * (on sharedNow's clock) lets recorders in several processes share one start.
   */
  restart(at = sharedNow()): void {
    this.started = at;
    this.requests.length = 0;
  }

  now(): number {
    return sharedNow() - this.started;
  }

  enqueued(user: number, localRecordId: string, kind: string, at = this.now()): void {
    const key = `${user}:${localRecordId}`;
    const ackedAt = this.early.get(key);
    this.early.delete(key);
    this.ops.set(key, { user, localRecordId, kind, enqueuedAt: at, ...(ackedAt !== undefined ? { ackedAt: Math.max(at, ackedAt) } : {}) });
  }

  acked(user: number, localRecordId: string, at = this.now()): void {
    const key = `${user}:${localRecordId}`;
    const op = this.ops.get(key);
    if (!op) this.early.set(key, at);
    else if (op.ackedAt === undefined) op.ackedAt = at;
  }

  failed(user: number, localRecordId: string, reason: string): void {
    const op = this.ops.get(`${user}:${localRecordId}`);
    if (op && op.ackedAt === undefined) op.failed ??= reason;
  }

  private closed = false;

  /** Ends the step: requests still running are cut by the users' shutdown, not the server. */
  close(): void {
    this.closed = true;
  }

  request(record: RequestRecord): void {
    if (this.closed) return;
    this.requests.push(record);
  }

  get opCount(): number {
    return this.ops.size;
  }

  /** Ops neither acknowledged nor given up on. */
  get outstanding(): number {
    let n = 0;
    for (const op of this.ops.values()) if (op.ackedAt === undefined && op.failed === undefined) n++;
    return n;
  }

  allOps(): OpRecord[] {
    return [...this.ops.values()];
  }
}
