// The in-page inspector: every actor of this tab's sync system by its system id, its state and
// its last events, fed by the same inspection events the Stately inspector gets. Needs no network.
import { useSyncExternalStore } from 'react';
import type { ActorView, InspectionHub } from './inspection.ts';

const time = (at: number) => {
  const d = new Date(at);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};

export function ActorsPanel({ hub, isLeader }: { hub: InspectionHub; isLeader: boolean }) {
  const actors = useSyncExternalStore(hub.subscribe, hub.actors, hub.actors);
  return (
    <section className="panel" aria-labelledby="actors-heading">
      <h2 id="actors-heading">Actors</h2>
      {!isLeader && actors.length === 0 ? (
        <p className="muted">This tab runs no actors: the tab that uploads runs them (open its Actors panel).</p>
      ) : (
        <table className="actors" aria-labelledby="actors-heading">
          <thead>
            <tr>
              <th scope="col">Actor</th>
              <th scope="col">State</th>
              <th scope="col">Last events</th>
            </tr>
          </thead>
          <tbody>
            {actors.map((actor) => (
              <ActorRow key={actor.sessionId} actor={actor} />
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">Live from this tab's inspection events; a highlighted state has just changed.</p>
    </section>
  );
}

function ActorRow({ actor }: { actor: ActorView }) {
  return (
    <tr data-actor={actor.name} data-status={actor.status} data-session={actor.sessionId}>
      <th scope="row">
        <code>{actor.name}</code>
        {actor.status !== 'active' && <span className="muted"> ({actor.status})</span>}
      </th>
      {/* Keyed by the change time: a new cell replays the highlight animation on each transition. */}
      <td key={actor.changedAt} className="actor-state" data-testid="actor-state" data-changed-at={actor.changedAt}>
        <code>{actor.value}</code>
      </td>
      <td className="actor-events">
        {actor.events.length === 0 ? (
          <span className="muted">none yet</span>
        ) : (
          <ol>
            {actor.events.map((e, i) => (
              <li key={`${e.at}-${i}`}>
                <time>{time(e.at)}</time> <code>{e.type}</code>
              </li>
            ))}
          </ol>
        )}
      </td>
    </tr>
  );
}
