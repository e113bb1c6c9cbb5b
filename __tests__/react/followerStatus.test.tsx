/** @jest-environment jsdom */
// Two "tabs" of one user (two services on one Dexie database, one in-memory lock manager):
// the follower's SyncStatus shows the shared pending count and last sync, says another tab is
// syncing, and asks the leader to send; when the leader closes it takes over the actors.
import './jsdomPolyfills.ts';
import { BroadcastChannel as NodeBroadcastChannel } from 'node:worker_threads';
import { act, cleanup, render, waitFor, within, configure } from '@testing-library/react';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { createMemoryLocks, type LockManagerLike } from '../../src/leader/index.ts';
import { FOLLOWER_MESSAGE, SyncProvider, SyncStatus } from '../../src/react/index.ts';
import { BatchSyncService, type BatchSyncServiceOptions } from '../../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../../src/service/dataService.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { createFakeFunction, type FakeFunction } from './fakeFunction.ts';

// The UI follows live Dexie queries over a real outbox: on a shared, loaded machine an update can
// take more than Testing Library's 1 s default to show. A ceiling on waiting, not a timed claim.
configure({ asyncUtilTimeout: 15_000 });

// jsdom has no BroadcastChannel; Node's delivers between instances of one thread, as tabs' do.
const g = globalThis as Record<string, unknown>;
if (typeof g.BroadcastChannel !== 'function') g.BroadcastChannel = NodeBroadcastChannel;

// Windows far longer than any test: nothing leaves until Sync Now.
const HOLD_WINDOWS: BatchSyncServiceOptions['network'] = {
  config: { poor: { timeoutMs: 600_000 }, good: { timeoutMs: 600_000 }, excellent: { timeoutMs: 600_000, size: 1000 } },
  probeIntervalMs: 600_000,
};

type Tab = { db: VersesDb; data: DataService; service: BatchSyncService; view: HTMLElement };
const opened: Tab[] = [];
const userId = crypto.randomUUID();
let dbName: string;
let locks: LockManagerLike;
let server: FakeFunction;

beforeEach(() => {
  dbName = `react-tabs-${crypto.randomUUID()}`;
  locks = createMemoryLocks();
  server = createFakeFunction();
});

afterEach(async () => {
  cleanup();
  for (const tab of opened.splice(0)) {
    await tab.service.stop();
    tab.db.close();
  }
  await createVersesDb(dbName).delete();
});

/** Opens one tab of the user's database and renders its SyncStatus. */
async function openTab(): Promise<Tab> {
  const db = createVersesDb(dbName);
  const client = createSupabaseClient({ url: 'http://127.0.0.1:54321', anonKey: 'anon', accessToken: async () => 'token', fetch: server.fetch });
  const service = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    probeLatency: async () => 5,
    networkEvents: 'none',
    online: true,
    network: HOLD_WINDOWS,
    leader: { locks },
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: service.notifyEnqueued });
  await service.start();
  const { container } = render(
    <SyncProvider service={service} db={db} userId={userId} fallback={<p>Starting sync…</p>}>
      <SyncStatus />
    </SyncProvider>,
  );
  const tab = { db, data, service, view: container };
  opened.push(tab);
  return tab;
}

const syncButton = (tab: Tab) => within(tab.view).getByRole<HTMLButtonElement>('button', { name: /^(Sync Now|Syncing…)$/ });
const shows = (tab: Tab, text: string) => within(tab.view).findByText(text);

test('the follower shows the shared pending count and last sync, says another tab syncs, and its Sync Now makes the leader send', async () => {
  const leader = await openTab();
  await waitFor(() => expect(leader.service.isLeader).toBe(true));
  const follower = await openTab();
  expect(follower.service.isLeader).toBe(false);

  expect(await shows(leader, 'Network: excellent')).toBeTruthy();
  expect(within(leader.view).queryByText(FOLLOWER_MESSAGE)).toBeNull();
  // The follower's status region says who syncs; the button is described by that sentence.
  const status = await within(follower.view).findByRole('status');
  expect(await within(status).findByText(FOLLOWER_MESSAGE)).toBeTruthy();
  expect(within(follower.view).getByText('Network: measured by the syncing tab')).toBeTruthy();
  expect(syncButton(follower).getAttribute('aria-describedby')).toBe(within(follower.view).getByText(FOLLOWER_MESSAGE).id);
  expect(within(follower.view).queryByRole('alert')).toBeNull();

  await act(() => follower.data.addVerseCards([{ reference: 'John 3:16' }, { reference: 'John 3:17' }]));
  await act(() => leader.data.addVerseCard('John 3:18'));
  for (const tab of [leader, follower]) {
    expect(await shows(tab, '3 changes pending sync')).toBeTruthy();
    expect(within(tab.view).getByText('Last synced: never')).toBeTruthy();
  }
  expect(server.batches).toHaveLength(0);

  // Held answer: the follower sees the leader's batch in flight through the shared history.
  const gate = server.hold();
  await waitFor(() => expect(syncButton(follower).disabled).toBe(false));
  act(() => syncButton(follower).click());
  await waitFor(() => expect(server.batches).toHaveLength(1));
  await waitFor(() => expect(syncButton(follower).textContent).toBe('Syncing…'));
  expect(syncButton(follower).disabled).toBe(true);
  act(() => gate.release());

  for (const tab of [leader, follower]) {
    expect(await shows(tab, 'No changes pending sync')).toBeTruthy();
    expect(await shows(tab, 'Last synced: less than a minute ago')).toBeTruthy();
    await waitFor(() => expect(syncButton(tab).textContent).toBe('Sync Now'));
  }
  expect(server.batches[0].operations.map((op) => (op.payload as { reference: string }).reference).sort()).toEqual(['John 3:16', 'John 3:17', 'John 3:18']);
});

test('when the leader closes, the follower takes over: its SyncStatus picks up the actors and sends', async () => {
  const first = await openTab();
  await waitFor(() => expect(first.service.isLeader).toBe(true));
  const second = await openTab();
  expect(await shows(second, FOLLOWER_MESSAGE)).toBeTruthy();
  await act(() => second.data.addVerseCard('Psalm 23:1'));
  expect(await shows(second, '1 change pending sync')).toBeTruthy();

  await act(() => first.service.stop()); // the leader's tab closes
  await waitFor(() => expect(second.service.isLeader).toBe(true));
  expect(await shows(second, 'Network: excellent')).toBeTruthy();
  expect(within(second.view).queryByText(FOLLOWER_MESSAGE)).toBeNull();
  // The closed tab's view no longer has actors: it reads as a follower's.
  expect(await shows(first, FOLLOWER_MESSAGE)).toBeTruthy();

  await waitFor(() => expect(syncButton(second).disabled).toBe(false));
  act(() => syncButton(second).click());
  expect(await shows(second, 'No changes pending sync')).toBeTruthy();
  expect(await shows(second, 'Last synced: less than a minute ago')).toBeTruthy();
  expect(server.batches).toHaveLength(1);
  expect(server.batches[0].operations.map((op) => (op.payload as { reference: string }).reference)).toEqual(['Psalm 23:1']);
});
