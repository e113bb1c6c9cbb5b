// One signed-in browser tab: the user's Dexie database (shared by every tab of that user), the
// supabase-js client on this origin, the sync service and the data service, plus the dev-only
// network controls. One tab per user uploads (Web Locks); the others write and nudge it.
import type { InspectionEvent } from 'xstate';
import type { Quality } from '../../machines/types.ts';
import { createVersesDb, type VersesDb } from '../db/index.ts';
import { createLatencyProbe } from '../network/probe.ts';
import { BatchSyncService } from '../service/BatchSyncService.ts';
import { createDataService, type DataService } from '../service/dataService.ts';
import { createSupabaseClient } from '../transport/supabaseClient.ts';
import type { DevSession } from './session.ts';

/** Round trips that classify as each quality (thresholds: excellent ≤ 100 ms, good ≤ 500 ms). */
export const FORCED_RTT: Record<Quality, number> = { excellent: 30, good: 250, poor: 900 };

export type NetworkMode = 'auto' | 'offline' | Quality;

// The panel's choice is the browser's, per user: the uploading tab makes it, every tab of the
// user shows it (a follower's panel is read-only), a reload keeps it, and a tab that takes over
// uploading applies it.
const networkKey = (userId: string) => `verses-sync-demo:network:${userId}`;
const NETWORK_MODES: readonly NetworkMode[] = ['auto', 'offline', 'poor', 'good', 'excellent'];

function rememberedNetwork(userId: string): NetworkMode {
  const stored = localStorage.getItem(networkKey(userId)) as NetworkMode | null;
  return stored && NETWORK_MODES.includes(stored) ? stored : 'auto';
}

const forcedQuality = (mode: NetworkMode): Quality | null => (mode === 'auto' || mode === 'offline' ? null : mode);

export type DemoDevice = {
  db: VersesDb;
  data: DataService;
  service: BatchSyncService;
  userId: string;
  /** What the dev panel forces now ('auto' unless the uploading tab chose otherwise, reloads included). */
  readonly network: NetworkMode;
  /** Forces the network as the dev panel says (the uploading tab only); 'auto' gives it back to the browser and the probe. */
  setNetwork(mode: NetworkMode): void;
  /** Calls `listener` when the choice changes here or in another tab; returns the unsubscribe. */
  onNetworkChange(listener: (mode: NetworkMode) => void): () => void;
  close(): Promise<void>;
};

// A new device must not start on a database the previous one is still stopping on.
let closing: Promise<void> = Promise.resolve();

/** Opens the device of `session`'s user and starts syncing. */
export async function openDemoDevice(options: {
  session: DevSession;
  anonKey: string;
  inspect?: (event: InspectionEvent) => void;
}): Promise<DemoDevice> {
  await closing;
  const { session } = options;
  const userId = session.user.id;
  const db = createVersesDb(`verses-sync-demo-${userId}`);
  const client = createSupabaseClient({ url: window.location.origin, anonKey: options.anonKey, accessToken: () => session.accessToken() });
  const probe = createLatencyProbe(client);
  const remembered = rememberedNetwork(userId);
  let forced = forcedQuality(remembered);
  const service = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    refreshSession: () => session.refresh(),
    // While the panel forces a quality, every probe agrees with it, also one that was already
    // out when the choice was made (the start-up probe, on a busy machine).
    probeLatency: async () => {
      if (forced) return FORCED_RTT[forced];
      const ms = await probe();
      return forced ? FORCED_RTT[forced] : ms;
    },
    inspect: options.inspect,
    ...(remembered === 'offline' ? { online: false } : {}),
    // Lock and BroadcastChannel named after the database: one uploader per user per browser.
    leader: {},
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: service.notifyEnqueued });
  let network: NetworkMode = remembered;
  const networkListeners = new Set<(mode: NetworkMode) => void>();
  // The choice reaches the actors only in the uploading tab.
  const apply = (mode: NetworkMode) => {
    if (!service.isLeader) return;
    if (mode === 'offline') {
      service.setOnline(false);
      return;
    }
    service.setOnline(mode === 'auto' ? navigator.onLine : true);
    if (forced) service.updateConnection({ rtt: FORCED_RTT[forced], effectiveType: '4g', saveData: false });
    else service.actor.send({ type: 'probe.now' });
  };
  const adopt = (mode: NetworkMode) => {
    network = mode;
    if (mode !== 'offline') forced = forcedQuality(mode);
    for (const listener of [...networkListeners]) listener(mode);
  };
  // Another tab of this user changed the choice: show it here (and apply it, should this tab upload).
  const onStorage = (event: StorageEvent) => {
    if (event.key !== networkKey(userId)) return;
    adopt(rememberedNetwork(userId));
    apply(network);
  };
  window.addEventListener('storage', onStorage);
  // Also in 'auto': the actors restore the snapshot the previous leader saved, which may hold
  // that tab's forced 'offline', and nothing else would tell them the browser is online.
  const stopListening = service.onLeadershipChange((isLeader) => {
    if (!isLeader) return;
    adopt(rememberedNetwork(userId));
    apply(network);
  });
  await service.start();
  const device: DemoDevice = {
    db,
    data,
    service,
    userId,
    get network() {
      return network;
    },
    setNetwork(mode) {
      localStorage.setItem(networkKey(userId), mode);
      adopt(mode);
      apply(mode);
    },
    onNetworkChange(listener) {
      networkListeners.add(listener);
      return () => networkListeners.delete(listener);
    },
    close() {
      stopListening();
      window.removeEventListener('storage', onStorage);
      closing = closing.then(async () => {
        await service.stop();
        db.close();
      });
      return closing;
    },
  };
  if (remembered !== 'auto') device.setNetwork(remembered);
  return device;
}
