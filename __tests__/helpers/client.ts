// A whole client device for integration tests: Dexie on fake-indexeddb, dataService,
// BatchSyncService and a supabase-js client, against a test stack.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { createVersesDb, type VersesDb } from '../../src/db/index.ts';
import { BatchSyncService, type BatchSyncServiceOptions } from '../../src/service/BatchSyncService.ts';
import { createDataService, type DataService } from '../../src/service/dataService.ts';
import type { Stack } from '../../src/stack/index.ts';
import { createSupabaseClient } from '../../src/transport/supabaseClient.ts';

// Short windows so integration tests run in real time without waiting seconds.
export const FAST_NETWORK: BatchSyncServiceOptions['network'] = {
  config: {
    poor: { timeoutMs: 60 },
    good: { timeoutMs: 40 },
    excellent: { timeoutMs: 20 },
  },
  probeIntervalMs: 60_000,
};

export type TestDevice = {
  db: VersesDb;
  data: DataService;
  sync: BatchSyncService;
  userId: string;
  setToken(token: string): void;
  /** A new BatchSyncService on the same local database, as after a page reload. */
  restart(overrides?: Partial<BatchSyncServiceOptions>): Promise<void>;
  close(): Promise<void>;
};

/** Opens a device for `userId` (a fresh database unless `dbName` names one). */
export async function openDevice(
  stack: Stack,
  options: { userId?: string; dbName?: string; token?: string; service?: Partial<BatchSyncServiceOptions>; /** e.g. a fault proxy in front of the stack */ url?: string } = {},
): Promise<TestDevice> {
  const userId = options.userId ?? randomUUID();
  let token = options.token ?? (await stack.tokenFor(userId));
  const db = createVersesDb(options.dbName ?? `device-${randomUUID()}`);
  const client = createSupabaseClient({ url: options.url ?? stack.url, anonKey: stack.anonKey, accessToken: async () => token, webSocket: WebSocket });
  const make = (overrides: Partial<BatchSyncServiceOptions> = {}) =>
    new BatchSyncService({
      db,
      client,
      getUserId: () => userId,
      probeLatency: async () => 5,
      network: FAST_NETWORK,
      requestTimeoutMs: 5_000,
      queue: { backoff: { baseMs: 50, capMs: 400, maxAttempts: 10 } },
      ...options.service,
      ...overrides,
    });
  const device: TestDevice = {
    db,
    userId,
    sync: make(),
    data: undefined as unknown as DataService,
    setToken: (t) => {
      token = t;
    },
    async restart(overrides) {
      await device.sync.stop();
      device.sync = make(overrides);
      await device.sync.start();
    },
    async close() {
      await device.sync.stop();
      db.close();
    },
  };
  device.data = createDataService({ db, getUserId: () => userId, onEnqueued: (e) => device.sync.notifyEnqueued(e) });
  await device.sync.start();
  return device;
}

/** Devices for the tests of a file, each closed after its test. */
export function useDevices(stack: () => Stack): (options?: Parameters<typeof openDevice>[1]) => Promise<TestDevice> {
  const open: TestDevice[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  return async (options) => {
    const d = await openDevice(stack(), options);
    open.push(d);
    return d;
  };
}

/** Polls until `check` holds (or throws its last failure after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
