// The browser's view of the network as actor logic: online/offline events and the
// Network Information API, sent to the root sync actor, which hands them to networkQuality.
import { fromCallback } from 'xstate';
import type { ConnectionInfo } from '../../machines/networkQuality.machine.ts';

type ConnectionLike = EventTarget & ConnectionInfo;
export type NetworkEventSources = {
  window: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  navigator: { onLine?: boolean; connection?: ConnectionLike };
};

export type NetworkEvent = { type: 'network.online' } | { type: 'network.offline' } | ({ type: 'network.info' } & ConnectionInfo);

/** Reads the connection estimate, leaving out what the browser does not report. */
export function connectionInfo(connection: ConnectionInfo): ConnectionInfo {
  const info: ConnectionInfo = {};
  if (typeof connection.rtt === 'number') info.rtt = connection.rtt;
  if (typeof connection.effectiveType === 'string') info.effectiveType = connection.effectiveType;
  if (typeof connection.saveData === 'boolean') info.saveData = connection.saveData;
  return info;
}

/** Actor logic that listens to `sources` (the browser's window and navigator by default). */
export function browserNetworkEvents(sources?: NetworkEventSources) {
  return fromCallback(({ sendBack }) => {
    const src = sources ?? (typeof window === 'undefined' ? undefined : { window, navigator: navigator as NetworkEventSources['navigator'] });
    if (!src) return undefined;
    const send = (event: NetworkEvent) => sendBack(event as never);
    const online = () => send({ type: 'network.online' });
    const offline = () => send({ type: 'network.offline' });
    const connection = src.navigator.connection;
    const change = () => connection && send({ type: 'network.info', ...connectionInfo(connection) });
    src.window.addEventListener('online', online);
    src.window.addEventListener('offline', offline);
    connection?.addEventListener('change', change);
    if (src.navigator.onLine === false) offline();
    change();
    return () => {
      src.window.removeEventListener('online', online);
      src.window.removeEventListener('offline', offline);
      connection?.removeEventListener('change', change);
    };
  });
}
