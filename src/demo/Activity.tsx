// Live view of the queue: a chart of queue size and batches sent, and a log of recent batches.
import { CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'react';
import { Line } from 'react-chartjs-2';
import type { BatchOutput } from '../../machines/batch.machine.ts';
import { useSyncContext, useSyncStatus } from '../react/index.ts';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, Legend, Tooltip);

const SAMPLES = 90;
// batches: null while another tab uploads (its counters live in that tab).
type Sample = { at: number; pending: number; batches: number | null };

export function ActivityChart() {
  const { service } = useSyncContext();
  const { pending } = useSyncStatus();
  const pendingRef = useRef(pending);
  pendingRef.current = pending;
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    const timer = setInterval(() => {
      const sample = { at: Date.now(), pending: pendingRef.current, batches: service.isLeader ? service.getMetrics().batchesSent : null };
      setSamples((previous) => [...previous.slice(-(SAMPLES - 1)), sample]);
    }, 1_000);
    return () => clearInterval(timer);
  }, [service]);
  const labels = samples.map((s) => new Date(s.at).toLocaleTimeString([], { minute: '2-digit', second: '2-digit' }));
  return (
    <figure className="chart">
      <Line
        aria-label="Queue size and batches sent over the last 90 seconds"
        role="img"
        options={{
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            y: { beginAtZero: true, title: { display: true, text: 'queued ops' } },
            y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'batches sent' } },
          },
        }}
        data={{
          labels,
          datasets: [
            { label: 'Queue size', data: samples.map((s) => s.pending), borderColor: '#c2410c', backgroundColor: '#c2410c', yAxisID: 'y', pointRadius: 0 },
            { label: 'Batches sent', data: samples.map((s) => s.batches), borderColor: '#1d4ed8', backgroundColor: '#1d4ed8', yAxisID: 'y1', pointRadius: 0, stepped: true },
          ],
        }}
      />
      <figcaption>Queue size and batches sent (last {SAMPLES} s)</figcaption>
    </figure>
  );
}

type LoggedBatch = { batchId: string; at: number; status: string; opCount: number; bytes: number; durationMs: number | null; note: string };

export function BatchLog() {
  const { queue } = useSyncContext();
  const [rows, setRows] = useState<LoggedBatch[]>([]);
  useEffect(() => {
    if (!queue) return;
    // A batch starts when the queue puts it in flight and ends when it settles.
    const started = new Map<string, number>();
    const track = (snapshot: { context: { inFlight: { batchId: string } | null } }) => {
      const id = snapshot.context.inFlight?.batchId;
      if (id && !started.has(id)) started.set(id, performance.now());
    };
    // A batch may already be in flight (sent at start, e.g. after a reload): time it from now.
    track(queue.getSnapshot());
    const snapshots = queue.subscribe(track);
    const settled = queue.on('batch.settled', (event: { output: BatchOutput }) => {
      const { output } = event;
      const t0 = started.get(output.batchId);
      started.delete(output.batchId);
      if (output.status === 'empty') return;
      const note = output.failure ? `${output.failure.kind}: ${output.failure.message}` : output.outcome && 'dead' in output.outcome && output.outcome.dead > 0 ? `${output.outcome.dead} dead` : '';
      const row: LoggedBatch = {
        batchId: output.batchId,
        at: Date.now(),
        status: output.status,
        opCount: output.opCount,
        bytes: output.bytes,
        durationMs: t0 === undefined ? null : Math.round(performance.now() - t0),
        note,
      };
      setRows((previous) => [row, ...previous].slice(0, 20));
    });
    return () => {
      snapshots.unsubscribe();
      settled.unsubscribe();
    };
  }, [queue]);
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
              {queue ? 'No batch sent yet' : 'Another tab of this user sends the batches'}
            </td>
          </tr>
        )}
        {rows.map((row) => (
          <tr key={row.batchId} data-status={row.status}>
            <td>{new Date(row.at).toLocaleTimeString()}</td>
            <td>{row.opCount}</td>
            <td>{row.status}</td>
            <td>{row.durationMs === null ? '–' : `${row.durationMs} ms`}</td>
            <td>{row.bytes.toLocaleString()}</td>
            <td>{row.note}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
