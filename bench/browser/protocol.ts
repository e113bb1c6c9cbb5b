// What the browser bench's page offers the runner (bench/browser.ts), shared by both sides.
import type { Action } from '../../load/session.ts';

export type System = 'versesSync' | 'replicache' | 'tanstack';

export type Samples = { samples: number[] };

export type SyncRun = {
  system: System;
  /** Ops (cards, reviews, profile edits) the run wrote. */
  ops: number;
  /** Ops the system's server answered as applied. */
  opsAcked: number;
  /** Every request the system sent (POSTs and GETs; preflights are the browser's and not counted). */
  requests: number;
  /** Requests that carried ops. */
  opRequests: number;
  /** From the first write to the moment the last op was acknowledged. */
  msToAcked: number;
};

/** Milliseconds per batch (the write: per single addVerseCard), one sample per batch. */
export type BatchCosts = { writeMs: number[]; coalesceMs: number[]; claimMs: number[]; settleMs: number[] };

export type BenchApi = {
  /** The same card, verse and outbox-op rows addVerseCard writes, by bare Dexie in one transaction. */
  floor(writes: number, warmup: number): Promise<Samples>;
  /** addVerseCard with BatchSyncService running on excellent, nothing queued. */
  idle(writes: number, warmup: number): Promise<Samples>;
  /** addVerseCard while `backlog` ops queued offline drain. */
  draining(backlog: number, writes: number, warmup: number): Promise<Samples & { backlogLeftAtEnd: number; drainedDuringWrites: number }>;
  /**
   * One batch's outbox work, alone (no service, nothing else running): per batch of `opsPerBatch`,
   * the writes that fill it, the coalesce check, the claim and the settle with the server's usual
   * answer, each timed; `batches` batches. What a local write can find running when it arrives.
   */
  batchCosts(batches: number, opsPerBatch: number): Promise<BatchCosts>;
  /** Mean µs of `sample` single addVerseCard writes at each queue length (service offline). */
  enqueue(levels: number[], sample: number, rounds: number, settleMs: number): Promise<Array<Array<{ queued: number; perOpUs: number; floorPerOpUs: number; p50Us: number; floorP50Us: number }>>>;
  /** The peer's own local write of the same card and verse, online and otherwise idle. */
  peerWrites(system: Exclude<System, 'versesSync'>, writes: number, warmup: number): Promise<Samples>;
  /** A bulk import of `refs` in one call, timed until every op is acknowledged. */
  importRun(system: System, refs: string[]): Promise<SyncRun>;
  /** A paced session in real time (actions at their `at`), timed until every op is acknowledged. */
  pacedRun(system: System, actions: Action[]): Promise<SyncRun>;
};
