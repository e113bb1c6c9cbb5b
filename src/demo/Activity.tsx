// What sync has done, read from Dexie so a reload or a toggle keeps it: a chart of the queue
// size and the ops acknowledged, the log of recent batches (the outbox's own batch history) and
// the notices of what sync settled by itself.
import { CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef } from 'react';
import { Line } from 'react-chartjs-2';
import type { SyncBatch } from '../db/index.ts';
import { useSyncContext, useSyncStatus } from '../react/index.ts';
import type { DemoDevice } from './device.ts';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, Legend, Tooltip);

/** Seconds of queue size the chart keeps (one sample a second, written by the uploading tab). */
export const SAMPLES = 90;
const LOG_ROWS = 20;
/** The demo's own row in the outbox's meta table: the chart's samples, so a reload keeps the curve. */
export const QUEUE_SAMPLES_KEY = 'demo.queueSamples';

type Sample = { at: number; pending: number };

// One writer per user: the uploading tab samples the queue (every tab's count is the same Dexie count).
function useQueueSampler(device: DemoDevice) {
  const { isLeader } = useSyncContext();
  const { pending } = useSyncStatus();
  const pendingRef = useRef(pending);
  pendingRef.current = pending;
  useEffect(() => {
    if (!isLeader) return;
    const { db } = device;
    const timer = setInterval(() => {
      const sample: Sample = { at: Date.now(), pending: pendingRef.current };
      void db
        .transaction('rw', db.meta, async () => {
          const row = await db.meta.get(QUEUE_SAMPLES_KEY);
          const kept = ((row?.value as Sample[] | undefined) ?? []).filter((s) => s.at > sample.at - SAMPLES * 1000);
          await db.meta.put({ key: QUEUE_SAMPLES_KEY, value: [...kept, sample] });
        })
        .catch(() => undefined); // a sample lost while the database closes (sign-out) is only a dot on a chart
    }, 1_000);
    return () => clearInterval(timer);
  }, [device, isLeader]);
}

const second = (at: number) => Math.floor(at / 1000);

export function ActivityChart({ device }: { device: DemoDevice }) {
  const { db } = device;
  useQueueSampler(device);
  const samples = useLiveQuery(async () => ((await db.meta.get(QUEUE_SAMPLES_KEY))?.value as Sample[] | undefined) ?? [], [db], []);
  const from = samples[0]?.at ?? Date.now();
  const acked = useLiveQuery(async () => (await db.syncBatches.where('createdAt').aboveOrEqual(new Date(from - 1000).toISOString()).toArray()).filter((b) => b.syncedAt), [db, from], []);
  // Ops the server acknowledged, per second of the chart (from the batch history, so both tabs agree).
  const ackedAt = new Map<number, number>();
  for (const b of acked) ackedAt.set(second(Date.parse(b.syncedAt!)), (ackedAt.get(second(Date.parse(b.syncedAt!))) ?? 0) + b.successCount);
  const labels = samples.map((s) => new Date(s.at).toLocaleTimeString([], { minute: '2-digit', second: '2-digit' }));
  return (
    <figure className="chart" data-samples={samples.length} data-since={samples[0]?.at}>
      <Line
        aria-label={`Queue size and operations acknowledged over the last ${SAMPLES} seconds`}
        role="img"
        options={{
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            y: { beginAtZero: true, title: { display: true, text: 'queued ops' } },
            y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'ops acknowledged' } },
          },
        }}
        data={{
          labels,
          datasets: [
            { label: 'Queue size', data: samples.map((s) => s.pending), borderColor: '#c2410c', backgroundColor: '#c2410c', yAxisID: 'y', pointRadius: 0 },
            { label: 'Ops acknowledged', data: samples.map((s) => ackedAt.get(second(s.at)) ?? 0), borderColor: '#1d4ed8', backgroundColor: '#1d4ed8', yAxisID: 'y1', pointRadius: 0, stepped: true },
          ],
        }}
      />
      <figcaption>Queue size and operations acknowledged (last {SAMPLES} s, kept across reloads)</figcaption>
    </figure>
  );
}

const STATUS_WORDS: Record<SyncBatch['status'], string> = { pending: 'claimed', syncing: 'sending', completed: 'completed', partial: 'partial', failed: 'failed' };

export function BatchLog({ device }: { device: DemoDevice }) {
  const { db, userId } = device;
  const rows = useLiveQuery(async () => (await db.syncBatches.orderBy('createdAt').reverse().limit(LOG_ROWS * 2).toArray()).filter((b) => !b.userId || b.userId === userId).slice(0, LOG_ROWS), [db, userId], []);
  return (
    <table className="batch-log">
      <caption>Recent batches</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Ops</th>
          <th scope="col">Status</th>
          <th scope="col">Duration</th>
          <th scope="col">Bytes</th>
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={6} className="muted">
              No batch sent yet
            </td>
          </tr>
        )}
        {rows.map((row) => (
          <tr key={row.id} data-status={row.status}>
            <td>{new Date(row.createdAt).toLocaleTimeString([], { hour12: false })}</td>
            <td>{row.opCount}</td>
            <td>{STATUS_WORDS[row.status]}</td>
            <td>{row.syncedAt ? `${Math.max(0, Date.parse(row.syncedAt) - Date.parse(row.createdAt)).toLocaleString()} ms` : '–'}</td>
            <td>{row.bytes.toLocaleString()}</td>
            <td>{row.errorMessage ?? (row.failureCount > 0 ? `${row.failureCount} refused` : '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What sync settled on its own (a card deleted on another device), newest first. */
export function NoticeLog({ device }: { device: DemoDevice }) {
  const { db } = device;
  const notices = useLiveQuery(async () => (await db.notices.orderBy('at').reverse().limit(LOG_ROWS).toArray()), [db], []);
  if (notices.length === 0) return null;
  return (
    <section aria-label="Notices">
      <h3>Settled by the server</h3>
      <ul className="notices">
        {notices.map((n) => (
          <li key={n.id}>
            <time dateTime={n.at}>{new Date(n.at).toLocaleTimeString([], { hour12: false })}</time> {n.message}
          </li>
        ))}
      </ul>
    </section>
  );
}
