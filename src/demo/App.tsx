// The demo page: dev sign-in, the app's writes and every card, the sync panel, network and fault
// controls, the activity (chart, batch log, notices) and the actors, in-page or in the Stately inspector.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { InspectorHandle } from '../dev/inspector.ts';
import { SyncProvider, SyncStatus, useSyncContext } from '../react/index.ts';
import { ActivityChart, BatchLog, NoticeLog } from './Activity.tsx';
import { ActorsPanel } from './ActorsPanel.tsx';
import { CardList } from './CardList.tsx';
import { openDemoDevice, type DemoDevice } from './device.ts';
import { createInspectionHub, type InspectionHub } from './inspection.ts';
import { NetworkPanel } from './NetworkPanel.tsx';
import { createDevSession, rememberUser, rememberedUserId, type DevConfig, type DevUser } from './session.ts';
import { AddVerses, ProfileForm } from './VerseActions.tsx';

const wantsInspector = () => new URLSearchParams(window.location.search).get('inspect') === '1';

function setInspectParam(on: boolean) {
  const url = new URL(window.location.href);
  if (on) url.searchParams.set('inspect', '1');
  else url.searchParams.delete('inspect');
  window.history.replaceState(null, '', url);
}

// The Stately inspector is one more listener on the hub: ticking or unticking it never touches the service.
function useStatelyInspector(hub: InspectionHub): [boolean, (on: boolean) => void, string | null] {
  const [on, setOn] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const attached = useRef<{ handle: InspectorHandle; detach: () => void } | null>(null);
  const attempt = useRef(0);
  const close = () => {
    attached.current?.detach();
    attached.current?.handle.stop();
    attached.current = null;
  };
  const toggle = (next: boolean) => {
    const mine = ++attempt.current;
    setError(null);
    close();
    setOn(next);
    setInspectParam(next);
    if (!next) return;
    // Loaded only when asked for: the inspector and its dependencies stay out of the main bundle.
    import('../dev/inspector.ts')
      .then(({ startInspector }) => startInspector())
      .then(
        (handle) => {
          if (mine !== attempt.current) return handle.stop(); // unticked meanwhile
          attached.current = { handle, detach: hub.attach(handle.inspect) };
        },
        (e: unknown) => {
          if (mine !== attempt.current) return;
          setOn(false);
          setInspectParam(false);
          setError(`${(e as Error).message}`);
        },
      );
  };
  useEffect(() => {
    if (wantsInspector()) toggle(true);
    return close;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return [on, toggle, error];
}

function useDevice(config: DevConfig, user: DevUser | null, hub: InspectionHub) {
  const [device, setDevice] = useState<DemoDevice | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!user) return;
    let live = true;
    let opened: DemoDevice | null = null;
    setError(null);
    openDemoDevice({ session: createDevSession(user), anonKey: config.anonKey, inspect: hub.inspect }).then(
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
  }, [config, user, hub]);
  return { device, error };
}

function Actors({ hub }: { hub: InspectionHub }) {
  const { isLeader } = useSyncContext();
  return <ActorsPanel hub={hub} isLeader={isLeader} />;
}

export function App({ config }: { config: DevConfig }) {
  const [user, setUser] = useState<DevUser | null>(() => config.users.find((u) => u.id === rememberedUserId()) ?? null);
  const hub = useMemo(() => createInspectionHub(), []);
  const [inspecting, toggleInspector, inspectorError] = useStatelyInspector(hub);
  const { device, error } = useDevice(config, user, hub);
  const signIn = (next: DevUser | null) => {
    rememberUser(next?.id ?? null);
    setUser(next);
  };

  return (
    <main>
      <header className="row">
        <h1>verses-sync demo</h1>
        <label className="inspector-toggle">
          <input type="checkbox" checked={inspecting} onChange={(e) => toggleInspector(e.target.checked)} /> Stately inspector (pop-up, needs internet)
        </label>
      </header>
      {inspectorError && (
        <p role="alert" className="message message-error">
          {inspectorError}
        </p>
      )}
      <section className="panel" aria-labelledby="signin-heading">
        <h2 id="signin-heading">Dev sign-in</h2>
        {user ? (
          <p className="row">
            Signed in as <strong data-testid="signed-in-user">{user.name}</strong>
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
      {error && (
        <p role="alert" className="message message-error">
          Sync could not start: {error}
        </p>
      )}
      {user && !device && !error && <p>Opening the local database…</p>}
      {device && (
        <SyncProvider key={device.userId} service={device.service} db={device.db} userId={device.userId}>
          <div className="grid">
            <div>
              <SyncStatus />
              <section className="panel" aria-labelledby="verses-heading">
                <h2 id="verses-heading">Verses</h2>
                <AddVerses device={device} />
                <ProfileForm device={device} />
                <CardList device={device} />
              </section>
            </div>
            <div>
              <NetworkPanel device={device} />
              <Actors hub={hub} />
              <section className="panel" aria-labelledby="activity-heading">
                <h2 id="activity-heading">Activity</h2>
                <ActivityChart device={device} />
                <BatchLog device={device} />
                <NoticeLog device={device} />
              </section>
            </div>
          </div>
        </SyncProvider>
      )}
    </main>
  );
}
