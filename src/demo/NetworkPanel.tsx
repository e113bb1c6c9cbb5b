// Dev controls: force the network (offline, poor, good, excellent) and make the server fail.
import { useEffect, useState } from 'react';
import { useSyncContext } from '../react/index.ts';
import { plural } from './words.ts';
import type { DemoDevice, NetworkMode } from './device.ts';

/** Shown in a tab that does not upload: only the uploading tab's actors see the network. */
export const FOLLOWER_NETWORK_MESSAGE = 'The tab that uploads decides the network: switch to it to force Offline, Poor, Good or Excellent. Its choice is shown here.';

const MODES: Array<{ mode: NetworkMode; label: string }> = [
  { mode: 'auto', label: 'Auto' },
  { mode: 'offline', label: 'Offline' },
  { mode: 'poor', label: 'Poor' },
  { mode: 'good', label: 'Good' },
  { mode: 'excellent', label: 'Excellent' },
];

type Fate = 'error500' | 'rateLimit429' | 'slow';
const FAULTS: Array<{ fate: Fate; label: string }> = [
  { fate: 'error500', label: 'HTTP 500' },
  { fate: 'rateLimit429', label: 'HTTP 429' },
  { fate: 'slow', label: 'Slow (3 s)' },
];

type Stats = { batchRequests: number; otherRequests: number; inFlight: number; faultsInjected: number; queued: Array<{ fate: Fate; remaining: number }> };

export function NetworkPanel({ device }: { device: DemoDevice }) {
  const [mode, setMode] = useState<NetworkMode>(device.network);
  const [count, setCount] = useState(1);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { isLeader } = useSyncContext();
  useEffect(() => device.onNetworkChange(setMode), [device]);

  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const res = await fetch('/dev/stats');
        if (live && res.ok) setStats((await res.json()) as Stats);
      } catch {
        // The stack is down or the browser is offline: keep the last numbers.
      }
    };
    void poll();
    const timer = setInterval(poll, 1_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  const choose = (next: NetworkMode) => device.setNetwork(next);
  const inject = async (fate: Fate) => {
    setError(null);
    const res = await fetch('/dev/faults', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fate, count }) });
    if (!res.ok) setError(((await res.json()) as { error: { message: string } }).error.message);
    else setStats((await res.json()) as Stats);
  };

  return (
    <section className="panel" aria-labelledby="network-heading">
      <h2 id="network-heading">Network and server</h2>
      <div role="radiogroup" aria-label="Network" className="row" aria-disabled={!isLeader} aria-describedby={isLeader ? undefined : 'network-follower'}>
        {MODES.map(({ mode: m, label }) => (
          <button key={m} type="button" role="radio" aria-checked={mode === m} onClick={() => choose(m)} disabled={!isLeader}>
            {label}
          </button>
        ))}
      </div>
      {!isLeader && (
        <p className="muted" id="network-follower" data-testid="network-follower">
          {FOLLOWER_NETWORK_MESSAGE}
        </p>
      )}
      <div className="row" role="group" aria-label="Server faults">
        <label>
          Next <input type="number" min={1} max={100} value={count} onChange={(e) => setCount(Number(e.target.value))} aria-label="Requests to fault" />{' '}
          {count === 1 ? 'batch request' : 'batch requests'}:
        </label>
        {FAULTS.map(({ fate, label }) => (
          <button key={fate} type="button" onClick={() => void inject(fate)}>
            {label}
          </button>
        ))}
      </div>
      {error && <p role="alert" className="message message-error">{error}</p>}
      {stats && (
        <p className="muted" data-testid="function-stats">
          Function: {plural(stats.batchRequests, 'batch request')}, {plural(stats.otherRequests, 'probe')}, {stats.inFlight} in flight, {plural(stats.faultsInjected, 'fault')} injected
          {stats.queued.length > 0 && ` (queued: ${stats.queued.map((q) => `${q.fate}×${q.remaining}`).join(', ')})`}
        </p>
      )}
    </section>
  );
}
