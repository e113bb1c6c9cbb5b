/** @jest-environment jsdom */
// SyncStatus against a real BatchSyncService (real machines, real Dexie outbox on
// fake-indexeddb, real supabase-js transport) whose fetch is a fake verse-operations function.
import './jsdomPolyfills.ts';
import { act, cleanup, render, screen, waitFor, within, configure } from '@testing-library/react';
import { BATCH_SEQ_META_KEY, createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { OFFLINE_MESSAGE, SyncProvider, SyncStatus } from '../../src/react/index.ts';
import { BatchSyncService, type BatchSyncServiceOptions } from '../../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../../src/service/dataService.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { createFakeFunction, type FakeFunction } from './fakeFunction.ts';

// The UI follows live Dexie queries over a real outbox: on a shared, loaded machine an update can
// take more than Testing Library's 1 s default to show (once more than 5 s in a loaded CI run).
// A ceiling on waiting, not a timed claim.
configure({ asyncUtilTimeout: 15_000 });

// Windows far longer than any test: nothing leaves until Sync Now (or a test says otherwise).
const HOLD_WINDOWS: BatchSyncServiceOptions['network'] = {
  config: { poor: { timeoutMs: 600_000 }, good: { timeoutMs: 600_000 }, excellent: { timeoutMs: 600_000, size: 1000 } },
  probeIntervalMs: 600_000,
};

type Device = { db: VersesDb; data: DataService; service: BatchSyncService; server: FakeFunction; userId: string };
const opened: Device[] = [];

async function openDevice(overrides: Partial<BatchSyncServiceOptions> = {}, start = true): Promise<Device> {
  const userId = crypto.randomUUID();
  const db = createVersesDb(`react-${crypto.randomUUID()}`);
  const server = createFakeFunction();
  const client = createSupabaseClient({ url: 'http://127.0.0.1:54321', anonKey: 'anon', accessToken: async () => 'token', fetch: server.fetch });
  const service = new BatchSyncService({
    db,
    client,
    getUserId: () => userId,
    probeLatency: async () => 5,
    networkEvents: 'none',
    online: true,
    network: HOLD_WINDOWS,
    queue: { backoff: { baseMs: 20, capMs: 50, maxAttempts: 5 } },
    ...overrides,
  });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: service.notifyEnqueued });
  if (start) await service.start();
  const device = { db, data, service, server, userId };
  opened.push(device);
  return device;
}

function renderStatus(d: Device) {
  return render(
    <SyncProvider service={d.service} db={d.db} userId={d.userId} fallback={<p>Starting sync…</p>}>
      <SyncStatus />
    </SyncProvider>,
  );
}

const syncButton = () => screen.getByRole<HTMLButtonElement>('button', { name: /^(Sync Now|Syncing…)$/ });
// No jest-dom here: plain reads of the DOM.
const enabled = (button: HTMLButtonElement) => !button.disabled;

afterEach(async () => {
  cleanup();
  for (const d of opened.splice(0)) {
    await d.service.stop();
    d.db.close();
    await d.db.delete();
  }
});

test('offline: the banner, the pending count and a disabled Sync Now; back online the button sends a request', async () => {
  const d = await openDevice({ online: false });
  renderStatus(d);
  expect((await screen.findByRole('alert')).textContent).toContain(OFFLINE_MESSAGE);
  expect(screen.getByText('Network: offline')).toBeTruthy();
  expect(screen.getByText('No changes pending sync')).toBeTruthy();
  expect(screen.getByText('Last synced: never')).toBeTruthy();

  await act(() => d.data.addVerseCards([{ reference: 'John 3:16' }, { reference: 'John 3:17' }, { reference: 'John 3:18' }]));
  expect(await screen.findByText('3 changes pending sync')).toBeTruthy();
  expect(enabled(syncButton())).toBe(false);

  act(() => d.service.setOnline(true));
  await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
  expect(await screen.findByText('Network: excellent')).toBeTruthy();
  // The window is held open: nothing goes out until the user asks.
  expect(screen.getByText('3 changes pending sync')).toBeTruthy();
  expect(d.server.batches).toHaveLength(0);
  await waitFor(() => expect(enabled(syncButton())).toBe(true));

  act(() => syncButton().click());
  expect(await screen.findByText('No changes pending sync')).toBeTruthy();
  expect(await screen.findByText('Last synced: less than a minute ago')).toBeTruthy();
  expect(d.server.batches).toHaveLength(1);
  expect(d.server.batches[0].operations.map((op) => op.payload)).toEqual([
    expect.objectContaining({ reference: 'John 3:16' }),
    expect.objectContaining({ reference: 'John 3:17' }),
    expect.objectContaining({ reference: 'John 3:18' }),
  ]);
});

test('while a batch is in flight the button says Syncing… and is disabled', async () => {
  const d = await openDevice();
  renderStatus(d);
  await act(() => d.data.addVerseCard('Psalm 23:1'));
  expect(await screen.findByText('1 change pending sync')).toBeTruthy();
  const gate = d.server.hold();
  act(() => syncButton().click());
  await waitFor(() => expect(syncButton().textContent).toContain('Syncing…'));
  expect(enabled(syncButton())).toBe(false);
  expect(syncButton().getAttribute('aria-busy')).toBe('true');
  await waitFor(() => expect(d.server.batches).toHaveLength(1));
  act(() => gate.release());
  await waitFor(() => expect(syncButton().textContent).toContain('Sync Now'));
  expect(enabled(syncButton())).toBe(true);
  expect(await screen.findByText('No changes pending sync')).toBeTruthy();
});

test('pending counts the changes in flight too, and says how many are being sent', async () => {
  const d = await openDevice();
  renderStatus(d);
  await act(() => d.data.addVerseCards([{ reference: 'John 3:16' }, { reference: 'John 3:17' }]));
  expect(await screen.findByText('2 changes pending sync')).toBeTruthy();
  const gate = d.server.hold();
  act(() => syncButton().click());
  await waitFor(() => expect(d.server.batches).toHaveLength(1));
  await act(() => d.data.addVerseCard('John 3:18'));
  // Two in the request the server holds, one queued behind it: none of them is synced yet.
  expect(await screen.findByText('3 changes pending sync · sending 2')).toBeTruthy();
  act(() => gate.release());
  await waitFor(() => expect(screen.queryByText(/sending/)).toBeNull());
});

test('while the server fails the status says since when and counts down to the retry every second; the error goes once it answers', async () => {
  // A long first wait (random 0.99 of an 8 s ceiling) so the countdown has seconds to show.
  const d = await openDevice({ queue: { backoff: { baseMs: 8_000, capMs: 60_000, maxAttempts: 10 }, random: () => 0.99 } });
  d.server.failWith(503);
  renderStatus(d);
  await act(() => d.data.addVerseCard('John 3:16', undefined, { priority: 'immediate' }));
  const error = await screen.findByText(/^Not synced since \d\d:\d\d:\d\d: The server had a problem \(HTTP 503, UNAVAILABLE\) – retrying in 8 s$/);
  const first = Number(/in (\d+) s/.exec(error.textContent!)![1]);
  // The same line a second or two later, without any other change: it counts down by itself.
  await screen.findByText(new RegExp(`retrying in ${first - 2} s$`), undefined, { timeout: 4_000 });
  expect(d.server.batches).toHaveLength(1);
  expect(screen.getByText(/1 change pending sync/)).toBeTruthy();
  d.server.failWith(null);
  act(() => syncButton().click());
  expect(await screen.findByText('No changes pending sync')).toBeTruthy();
  await waitFor(() => expect(screen.queryByText(/Not synced since/)).toBeNull());
});

test('last synced reads as a distance from the shared history: a batch recorded two minutes ago shows "2 minutes ago"', async () => {
  const d = await openDevice();
  // What another tab (or this one before a reload) recorded: the newest completed batch.
  const at = (ms: number) => new Date(Date.now() - ms).toISOString();
  await d.db.syncBatches.bulkAdd([
    { id: 'older', seq: 1, status: 'completed', opIds: [], opCount: 1, bytes: 10, createdAt: at(600_000), syncedAt: at(600_000), successCount: 1, failureCount: 0 },
    { id: 'newer', seq: 2, status: 'partial', opIds: [], opCount: 2, bytes: 20, createdAt: at(121_000), syncedAt: at(120_000), successCount: 1, failureCount: 1 },
    { id: 'failed', seq: 3, status: 'failed', opIds: [], opCount: 1, bytes: 10, createdAt: at(5_000), syncedAt: at(5_000), successCount: 0, failureCount: 1 },
  ]);
  await d.db.meta.put({ key: BATCH_SEQ_META_KEY, value: 3 }); // claims continue after these
  renderStatus(d);
  expect(await screen.findByText('Last synced: 2 minutes ago')).toBeTruthy();
  await act(() => d.data.addVerseCard('Romans 8:28'));
  expect(await screen.findByText('1 change pending sync')).toBeTruthy();
  await waitFor(() => expect(enabled(syncButton())).toBe(true));
  act(() => syncButton().click());
  expect(await screen.findByText('Last synced: less than a minute ago')).toBeTruthy();
});

test('the network-quality badge follows the connection', async () => {
  const d = await openDevice();
  renderStatus(d);
  expect(await screen.findByText('Network: excellent')).toBeTruthy();
  act(() => d.service.updateConnection({ rtt: 300 }));
  expect(await screen.findByText('Network: good')).toBeTruthy();
  act(() => d.service.updateConnection({ rtt: 2_000 }));
  expect(await screen.findByText('Network: poor')).toBeTruthy();
  expect(screen.getByText('Network: poor').getAttribute('data-quality')).toBe('poor');
  act(() => d.service.setOnline(false));
  expect(await screen.findByText('Network: offline')).toBeTruthy();
  expect(screen.getByRole('alert').textContent).toContain(OFFLINE_MESSAGE);
});

test('with the default estimate the badge says the quality is assumed until the first batch measures it', async () => {
  // No probe given: the service's default, where the batches' own round trips measure.
  const d = await openDevice({ probeLatency: undefined });
  renderStatus(d);
  expect(await screen.findByText('Network: good')).toBeTruthy();
  expect(screen.getByText(/assumed until a sync measures it/)).toBeTruthy();
  await act(() => d.data.addVerseCard('Romans 12:2'));
  await waitFor(() => expect(enabled(syncButton())).toBe(true));
  act(() => syncButton().click());
  expect(await screen.findByText('Network: excellent')).toBeTruthy();
  expect(screen.queryByText(/assumed until a sync measures it/)).toBeNull();
});

test('dead letters list the server reason; Retry sends the operation again, Discard drops it', async () => {
  const d = await openDevice();
  d.server.refuse((op) =>
    String((op.payload as { reference?: string }).reference).startsWith('Isaiah 99')
      ? { code: 'VALIDATION_FAILED', message: 'reference is not a verse' }
      : undefined,
  );
  renderStatus(d);
  await act(() => d.data.addVerseCards([{ reference: 'Isaiah 99:1' }, { reference: 'Isaiah 99:2' }, { reference: 'Micah 6:8' }]));
  expect(await screen.findByText('3 changes pending sync')).toBeTruthy();
  await waitFor(() => expect(enabled(syncButton())).toBe(true));
  act(() => syncButton().click());

  const list = await screen.findByRole('list', { name: 'Changes the server refused (2)' });
  const items = within(list).getAllByRole('listitem');
  expect(items.map((li) => li.textContent)).toEqual([
    expect.stringContaining('Add verse Isaiah 99:1 – reference is not a verse (VALIDATION_FAILED)'),
    expect.stringContaining('Add verse Isaiah 99:2 – reference is not a verse (VALIDATION_FAILED)'),
  ]);
  expect(await screen.findByText('No changes pending sync')).toBeTruthy();
  expect(d.server.batches).toHaveLength(1);

  // The server learns the verse; the user retries the first one.
  d.server.refuse((op) => ((op.payload as { reference?: string }).reference === 'Isaiah 99:2' ? { code: 'VALIDATION_FAILED', message: 'reference is not a verse' } : undefined));
  act(() => screen.getByRole('button', { name: 'Retry: Add verse Isaiah 99:1' }).click());
  await waitFor(() => expect(d.server.batches).toHaveLength(2));
  expect(d.server.batches[1].operations.map((op) => (op.payload as { reference: string }).reference)).toEqual(['Isaiah 99:1']);
  expect(await screen.findByRole('list', { name: 'Changes the server refused (1)' })).toBeTruthy();

  act(() => screen.getByRole('button', { name: 'Discard: Add verse Isaiah 99:2' }).click());
  await waitFor(() => expect(screen.queryByRole('list', { name: /Changes the server refused/ })).toBeNull());
  expect(await d.db.syncOperations.count()).toBe(0);
  expect(d.server.batches).toHaveLength(2);
});

test('SyncProvider starts a service that was not started yet and shows its fallback meanwhile', async () => {
  const d = await openDevice({}, false);
  renderStatus(d);
  expect(screen.getByText('Starting sync…')).toBeTruthy();
  expect(await screen.findByText('No changes pending sync')).toBeTruthy();
  expect(d.service.actor.getSnapshot().status).toBe('active');
});
