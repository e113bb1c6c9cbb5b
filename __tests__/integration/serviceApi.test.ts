// The seed's public API of BatchSyncService, and a reload that resumes from the persisted snapshot.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { createVersesDb, loadActorSnapshot, loadActorSnapshotVersion, saveActorSnapshot } from '../../src/db/index.ts';
import { createLatencyProbe } from '../../src/network/probe.ts';
import { BatchSyncService, type SyncState } from '../../src/service/BatchSyncService.ts';
import { createDataService } from '../../src/service/dataService.ts';
import { SNAPSHOT_VERSION } from '../../src/service/snapshots.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';
import { eventually, useDevices, type TestDevice } from '../helpers/client.ts';
import { useStack } from '../helpers/stack.ts';

const stack = useStack();
const device = useDevices(stack);
// Windows long enough that nothing leaves until the test says so.
const SLOW = { network: { config: { poor: { timeoutMs: 60_000 }, good: { timeoutMs: 60_000 }, excellent: { timeoutMs: 60_000, size: 1000 } }, probeIntervalMs: 60_000 } };

test('subscribe reports pending, syncing and lastSync as they change', async () => {
  const d = await device({ service: SLOW });
  const states: SyncState[] = [];
  const unsubscribe = d.sync.subscribe((s) => states.push(s));
  expect(states[0]).toMatchObject({ pending: 0, syncing: false, online: true, deadLetters: 0 });
  await d.data.addVerseCards([{ reference: 'Ruth 1:16' }, { reference: 'Ruth 1:17' }, { reference: 'Ruth 1:18' }]);
  await eventually(() => expect(states.at(-1)?.pending).toBe(3));
  const result = await d.sync.forceSyncAll();
  expect(result).toEqual({ success: 3, failed: 0 });
  await eventually(() => expect(states.at(-1)).toMatchObject({ pending: 0, syncing: false, lastSync: expect.any(Date) }));
  expect(states.some((s) => s.syncing)).toBe(true);
  unsubscribe();
});

test('processBatch sends one batch now and tells how it ended', async () => {
  const d = await device({ service: SLOW });
  expect(await d.sync.processBatch()).toBeNull();
  await d.data.addVerseCard('Esther 4:14');
  await d.data.updateProfile({ displayName: 'Esther' });
  await eventually(() => expect(d.sync.getState().pending).toBe(2));
  const output = await d.sync.processBatch();
  expect(output).toMatchObject({ status: 'completed', opCount: 2 });
  const metrics = d.sync.getMetrics();
  expect(metrics).toMatchObject({ batchesSent: 1, opsAcked: 2, requestsSent: 1, batchSuccessRate: 1, opsPerBatch: 2 });
  expect(metrics.bytesSent).toBeGreaterThan(100);
  expect(metrics.enqueueToAckMs.samples).toBe(2);
  expect(metrics.queueSizeHistory.some((h) => h.pending === 2)).toBe(true);
});

test('forceSyncAll counts dead letters as failed', async () => {
  const d = await device({ service: SLOW });
  await d.data.addVerseCard('Job 19:25');
  await d.sync.queueOperation({ type: 'DELETE_VERSE', payload: { verseCardId: randomUUID() } });
  expect(await d.sync.forceSyncAll()).toEqual({ success: 1, failed: 1 });
  await eventually(() => expect(d.sync.getState().deadLetters).toBe(1));
});

test('a reload restores the persisted snapshot: last sync time and counters survive', async () => {
  const dbName = `reload-${randomUUID()}`;
  const userId = randomUUID();
  const first = await device({ dbName, userId });
  await first.data.addVerseCard('Daniel 3:17');
  await eventually(() => expect(first.sync.getState()).toMatchObject({ pending: 0, lastSync: expect.any(Date) }));
  const lastSync = first.sync.getState().lastSync!;
  const before = first.sync.getMetrics();
  await first.close();

  const second = await device({ dbName, userId });
  expect(await loadActorSnapshot(second.db, 'sync')).toBeDefined();
  expect(second.sync.getState().lastSync?.getTime()).toBe(lastSync.getTime());
  expect(second.sync.getMetrics()).toMatchObject({ batchesSent: before.batchesSent, opsAcked: before.opsAcked });
  // And the restored actors still work.
  await second.data.addVerseCard('Daniel 3:18');
  await eventually(async () => expect(await second.db.syncOperations.count()).toBe(0));
  const [{ n }] = await stack().sql`select count(*)::int as n from verse_cards where user_id = ${userId}`;
  expect(n).toBe(2);
});

test('a snapshot of another version is dropped with a log line: the device starts fresh and still sends what was queued', async () => {
  const dbName = `reload-version-${randomUUID()}`;
  const userId = randomUUID();
  const first = await device({ dbName, userId });
  await first.data.addVerseCard('Micah 6:8');
  await eventually(() => expect(first.sync.getState()).toMatchObject({ pending: 0, lastSync: expect.any(Date) }));
  first.sync.setOnline(false);
  await eventually(() => expect(first.sync.getState().online).toBe(false));
  await first.data.addVerseCard('Micah 7:18');
  await first.close();
  const peek = createVersesDb(dbName);
  expect(await loadActorSnapshotVersion(peek, 'sync')).toBe(SNAPSHOT_VERSION);
  // What an older build would have left: a snapshot whose states this build does not have.
  await saveActorSnapshot(peek, 'sync', { status: 'active', value: 'no-such-state', context: { quality: 'good' }, children: {} }, { version: SNAPSHOT_VERSION - 1 });
  peek.close();

  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const second = await device({ dbName, userId });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/saved sync state was written by another version.*starts fresh/));
    // Fresh: the counters and the last sync of the first run are gone; the queued change is not.
    expect(second.sync.getMetrics()).toMatchObject({ batchesSent: 0, opsAcked: 0 });
    await eventually(async () => {
      const [{ n }] = await stack().sql`select count(*)::int as n from verse_cards where user_id = ${userId}`;
      expect(n).toBe(2);
    });
    await eventually(() => expect(second.sync.getState()).toMatchObject({ pending: 0, syncing: false }));
    await second.close();
    const after = createVersesDb(dbName);
    expect(await loadActorSnapshotVersion(after, 'sync')).toBe(SNAPSHOT_VERSION);
    after.close();
  } finally {
    warn.mockRestore();
  }
});

test('a snapshot of this version that xstate cannot resume is dropped with a log line, never a crash', async () => {
  const dbName = `reload-broken-${randomUUID()}`;
  const userId = randomUUID();
  const peek = createVersesDb(dbName);
  await saveActorSnapshot(peek, 'sync', { status: 'active', value: 'no-such-state', context: {}, children: {} }, { version: SNAPSHOT_VERSION });
  peek.close();
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const d = await device({ dbName, userId });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/could not be resumed; sync starts fresh/));
    await d.data.addVerseCard('Habakkuk 3:17');
    await eventually(async () => {
      const [{ n }] = await stack().sql`select count(*)::int as n from verse_cards where user_id = ${userId}`;
      expect(n).toBe(1);
    });
  } finally {
    warn.mockRestore();
    error.mockRestore();
  }
});

test('a snapshot saved offline does not keep a reopened device offline: it goes by the network now', async () => {
  const dbName = `reload-offline-${randomUUID()}`;
  const userId = randomUUID();
  const first = await device({ dbName, userId });
  first.sync.setOnline(false);
  await eventually(() => expect(first.sync.getState().online).toBe(false));
  await first.data.addVerseCard('Acts 2:42');
  await first.close(); // saves the snapshot: offline, one op queued
  const peek = createVersesDb(dbName);
  expect(JSON.stringify(await loadActorSnapshot(peek, 'sync'))).toContain('"online":false');
  peek.close();

  const second = await device({ dbName, userId }); // online now (no browser here: the input says online)
  await eventually(async () => {
    const [{ n }] = await stack().sql`select count(*)::int as n from verse_cards where user_id = ${userId}`;
    expect(n).toBe(1);
  });
  expect(second.sync.getState().online).toBe(true);
  await eventually(async () => expect(await second.db.syncOperations.count()).toBe(0));
});

test('the latency probe measures a round trip to the function and fails without a server', async () => {
  const client = createSupabaseClient({ url: stack().url, anonKey: stack().anonKey, accessToken: async () => null, webSocket: WebSocket });
  const ms = await createLatencyProbe(client)();
  expect(ms).toBeGreaterThanOrEqual(0);
  const nowhere = createSupabaseClient({ url: 'http://127.0.0.1:9', anonKey: stack().anonKey, accessToken: async () => null, webSocket: WebSocket });
  await expect(createLatencyProbe(nowhere)()).rejects.toThrow(/latency probe failed/);
});

test('with default options nothing is sent only to measure: no request before a change waits, and the first batch measures the network', async () => {
  const userId = randomUUID();
  const token = await stack().tokenFor(userId);
  const requests: string[] = [];
  const counting: typeof fetch = (input, init) => {
    requests.push(init?.method ?? 'GET');
    return fetch(input, init);
  };
  const client = createSupabaseClient({ url: stack().url, anonKey: stack().anonKey, accessToken: async () => token, webSocket: WebSocket, fetch: counting });
  const db = createVersesDb(`defaults-${randomUUID()}`);
  // Default network, queue and probe; only the browser's events are absent in Node.
  const sync = new BatchSyncService({ db, client, getUserId: () => userId, networkEvents: 'none', pageEvents: 'none', online: true });
  const data = createDataService({ db, getUserId: () => userId, onEnqueued: sync.notifyEnqueued });
  await sync.start();
  try {
    await new Promise((r) => setTimeout(r, 1_500));
    expect(requests).toEqual([]);
    expect(sync.getState()).toMatchObject({ online: true, quality: 'good', qualityMeasured: false });
    await data.addVerseCard('Micah 6:8');
    expect(await sync.forceSyncAll()).toEqual({ success: 1, failed: 0 });
    expect(requests).toEqual(['POST']);
    await eventually(() => expect(sync.getState().qualityMeasured).toBe(true));
  } finally {
    await sync.stop();
    db.close();
  }
});
