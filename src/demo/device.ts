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

// The panel's choice lives as long as the tab: a reload keeps what the developer forced.
const NETWORK_KEY = 'verses-sync-demo:network';
const NETWORK_MODES: readonly NetworkMode[] = ['auto', 'offline', 'poor', 'good', 'excellent'];

function rememberedNetwork(): NetworkMode {
  const stored = sessionStorage.getItem(NETWORK_KEY) as NetworkMode | null;
  return stored && NETWORK_MODES.includes(stored) ? stored : 'auto';
}

export type DemoDevice = {
  db: VersesDb;
  data: DataService;
  service: BatchSyncService;
  userId: string;
  /** What the dev panel forces now ('auto' unless this tab chose otherwise, reloads included). */
  readonly network: NetworkMode;
  /** Forces the network as the dev panel says; 'auto' gives it back to the browser and the probe. */
  setNetwork(mode: NetworkMode): void;
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
  const remembered = rememberedNetwork();
  let forced: Quality | null = remembered === 'auto' || remembered === 'offline' ? null : remembered;
  const service = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    refreshSession: () => session.refresh(),
    // While the panel forces a quality, every probe agrees with it.
    probeLatency: async () => (forced ? FORCED_RTT[forced] : probe()),
    inspect: options.inspect,
    ...(remembered === 'offline' ? { online: false } : {}),
    // Lock and BroadcastChannel named after the database: one uploader per user per browser.
    leader: {},
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: service.notifyEnqueued });
  let network: NetworkMode = remembered;
  // The panel's choice reaches the actors only in the uploading tab; a follower keeps it
  // and applies it when it takes over.
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
  // Also in 'auto': the actors restore the snapshot the previous leader saved, which may hold
  // that tab's forced 'offline', and nothing else would tell them the browser is online.
  const stopListening = service.onLeadershipChange((isLeader) => {
    if (isLeader) apply(network);
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
      network = mode;
      sessionStorage.setItem(NETWORK_KEY, mode);
      if (mode !== 'offline') forced = mode === 'auto' ? null : mode;
      apply(mode);
    },
    close() {
      stopListening();
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
