// The demo page: dev sign-in, the app's writes, the sync panel, network and fault controls,
// a live chart and batch log, and the Stately inspector on demand.
import { useEffect, useState } from 'react';
import type { InspectorHandle } from '../dev/inspector.ts';
import { SyncProvider, SyncStatus } from '../react/index.ts';
import { ActivityChart, BatchLog } from './Activity.tsx';
import { openDemoDevice, type DemoDevice } from './device.ts';
import { NetworkPanel } from './NetworkPanel.tsx';
import { createDevSession, rememberUser, rememberedUserId, type DevConfig, type DevUser } from './session.ts';
import { VerseActions } from './VerseActions.tsx';

const wantsInspector = () => new URLSearchParams(window.location.search).get('inspect') === '1';

function setInspectParam(on: boolean) {
  const url = new URL(window.location.href);
  if (on) url.searchParams.set('inspect', '1');
  else url.searchParams.delete('inspect');
  window.history.replaceState(null, '', url);
}

function useInspector(): [InspectorHandle | null, (on: boolean) => void, string | null] {
  const [inspector, setInspector] = useState<InspectorHandle | null>(null);
  const [error, setError] = useState<string | null>(null);
  const toggle = (on: boolean) => {
    setInspectParam(on);
    setError(null);
    if (!on) {
      inspector?.stop();
      setInspector(null);
      return;
    }
    // Loaded only when asked for: the inspector and its dependencies stay out of the main bundle.
    import('../dev/inspector.ts')
      .then(({ startInspector }) => startInspector())
      .then(setInspector, (e: unknown) => setError(`The inspector did not open: ${(e as Error).message}. Allow pop-ups for this page.`));
  };
  useEffect(() => {
    if (wantsInspector()) toggle(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return [inspector, toggle, error];
}

function useDevice(config: DevConfig, user: DevUser | null, inspector: InspectorHandle | null) {
  const [device, setDevice] = useState<DemoDevice | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!user) return;
    let live = true;
    let opened: DemoDevice | null = null;
    setError(null);
    openDemoDevice({ session: createDevSession(user), anonKey: config.anonKey, inspect: inspector?.inspect }).then(
      (d) => {
        opened = d;
        if (live) setDevice(d);
        else void d.close();
      },
      (e: unknown) => live && setError((e as Error).message),
    );
    return () => {
      live = false;
      setDevice(null);
      if (opened) void opened.close();
    };
  }, [config, user, inspector]);
  return { device, error };
}

export function App({ config }: { config: DevConfig }) {
  const [user, setUser] = useState<DevUser | null>(() => config.users.find((u) => u.id === rememberedUserId()) ?? null);
  const [inspector, toggleInspector, inspectorError] = useInspector();
  const { device, error } = useDevice(config, user, inspector);
  const signIn = (next: DevUser | null) => {
    rememberUser(next?.id ?? null);
    setUser(next);
  };

  return (
    <main>
      <header className="row">
        <h1>verses-sync demo</h1>
        <label className="inspector-toggle">
          <input type="checkbox" checked={inspector !== null} onChange={(e) => toggleInspector(e.target.checked)} /> Stately inspector
        </label>
      </header>
      {inspectorError && <p role="alert">{inspectorError}</p>}
      <section className="panel" aria-labelledby="signin-heading">
        <h2 id="signin-heading">Dev sign-in</h2>
        {user ? (
          <p className="row">
            Signed in as <strong data-testid="signed-in-user">{user.name}</strong> <code>{user.id}</code>
            <button type="button" onClick={() => signIn(null)}>
              Sign out
            </button>
          </p>
        ) : (
          <p className="row">
            {config.users.map((u) => (
              <button key={u.id} type="button" onClick={() => signIn(u)}>
                Sign in as {u.name}
              </button>
            ))}
          </p>
        )}
      </section>
      {error && <p role="alert">Sync could not start: {error}</p>}
      {user && !device && !error && <p>Opening the local database…</p>}
      {device && (
        <SyncProvider key={device.userId} service={device.service} db={device.db} userId={device.userId}>
          <div className="grid">
            <div>
              <SyncStatus />
              <VerseActions device={device} />
            </div>
            <div>
              <NetworkPanel device={device} />
              <section className="panel" aria-labelledby="activity-heading">
                <h2 id="activity-heading">Activity</h2>
                <ActivityChart />
                <BatchLog />
              </section>
            </div>
          </div>
        </SyncProvider>
      )}
    </main>
  );
}
