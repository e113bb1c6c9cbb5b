// The server's own ceiling, without the clients' cost: a few closed loops post requests of each
// path's shape straight to the function as fast as it answers. Divided by the requests a user
// makes per second (from the steps), it says how many users the server alone would carry.
import { randomUUID } from 'node:crypto';
import { startMonitor, type ServerSample } from './monitor.ts';
import type { StepEnv } from './step.ts';
import type { PathName } from './users.ts';

export type CeilingResult = {
  shape: PathName;
  opsPerRequest: number;
  loops: number;
  seconds: number;
  requestsPerSec: number;
  opsPerSec: number;
  p95Ms: number;
  shed429: number;
  failed: number;
  server: ServerSample;
};

type Loop = { token: string; cardId: string };

function headers(env: StepEnv, token: string) {
  return { Authorization: `Bearer ${token}`, apikey: env.anonKey, 'Content-Type': 'application/json' };
}

async function openLoop(env: StepEnv): Promise<Loop> {
  const userId = randomUUID();
  const token = await env.tokenFor(userId);
  const cardId = randomUUID();
  const res = await fetch(`${env.url}/functions/v1/verse-operations`, {
    method: 'POST',
    headers: headers(env, token),
    body: JSON.stringify({
      action: 'apply_batch',
      batchId: randomUUID(),
      operations: [{ id: randomUUID(), seq: 0, type: 'CREATE_VERSE', payload: { verseCardId: cardId, reference: 'John 3:16', translation: 'ESV' }, localRecordId: cardId }],
    }),
  });
  if (res.status !== 200) throw new Error(`ceiling: creating a card answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return { token, cardId };
}

function body(shape: PathName, ops: number, cardId: string): string {
  const reviewDate = new Date().toISOString();
  if (shape === 'perOp') {
    const id = randomUUID();
    return JSON.stringify({ action: 'batch_record_reviews', batchId: randomUUID(), operations: [{ id, localRecordId: id, reviewId: id, verseCardId: cardId, correct: true, reviewDate }] });
  }
  return JSON.stringify({
    action: 'apply_batch',
    batchId: randomUUID(),
    operations: Array.from({ length: ops }, (_, seq) => {
      const id = randomUUID();
      return { id, seq, type: 'RECORD_REVIEW', payload: { reviewId: id, verseCardId: cardId, correct: true, reviewDate }, localRecordId: id };
    }),
  });
}

/** Runs `loops` closed loops of one shape for `seconds`; every request must be answered 200 or 429. */
export async function measureCeiling(env: StepEnv, shape: PathName, opsPerRequest: number, loops: number, seconds: number): Promise<CeilingResult> {
  const open = await Promise.all(Array.from({ length: loops }, () => openLoop(env)));
  const latencies: number[] = [];
  let ok = 0;
  let shed = 0;
  let failed = 0;
  const monitor = startMonitor(env.sql, env.functionPid);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    open.map(async (loop) => {
      while (performance.now() < until) {
        const sent = performance.now();
        try {
          const res = await fetch(`${env.url}/functions/v1/verse-operations`, { method: 'POST', headers: headers(env, loop.token), body: body(shape, opsPerRequest, loop.cardId) });
          await res.arrayBuffer();
          if (res.status === 200) {
            ok++;
            latencies.push(performance.now() - sent);
          } else if (res.status === 429) {
            shed++;
            await new Promise((r) => setTimeout(r, 1000));
          } else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const server = await monitor.stop();
  latencies.sort((a, b) => a - b);
  return {
    shape,
    opsPerRequest: shape === 'perOp' ? 1 : opsPerRequest,
    loops,
    seconds: elapsed,
    requestsPerSec: ok / elapsed,
    opsPerSec: (ok * (shape === 'perOp' ? 1 : opsPerRequest)) / elapsed,
    p95Ms: latencies[Math.floor(0.95 * (latencies.length - 1))] ?? 0,
    shed429: shed,
    failed,
    server,
  };
}
