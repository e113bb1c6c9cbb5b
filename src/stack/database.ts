// Postgres for the local stack: a real server when a URL is given, else PGlite
// in this process, served over the wire so Deno and psql can reach it too.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export type Database = {
  kind: 'server' | 'pglite';
  /** A superuser URL for this database. */
  url: string;
  /**
   * Connections share one session (PGlite's socket server): a store must wrap each call in an
   * explicit transaction (the function's StoreOptions.multiplexedSession).
   */
  multiplexedSession: boolean;
  stop(): Promise<void>;
};

export type DatabaseOptions = {
  /** A real server; without it PGlite runs in-process. */
  url?: string;
  /** On a real server, work in a fresh database that stop() drops (tests run side by side). */
  isolate?: boolean;
  /** PGlite's data folder; memory when absent. */
  dataDir?: string;
  /** The port PGlite is served on; 0 picks a free one. */
  port?: number;
  /** Connections PGlite's socket server accepts at once (it multiplexes them onto one session). */
  maxConnections?: number;
};

/** Starts (or attaches to) the database of the local stack. */
export async function startDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return options.isolate ? createIsolatedDatabase(options.url) : attach(options.url);
  return startPglite(options);
}

function attach(url: string): Database {
  return { kind: 'server', url, multiplexedSession: false, stop: async () => {} };
}

async function createIsolatedDatabase(serverUrl: string): Promise<Database> {
  const name = `vs_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'server',
    url: url.toString(),
    multiplexedSession: false,
    async stop() {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

async function startPglite(options: DatabaseOptions): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(options.dataDir ?? 'memory://');
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 16,
  });
  await server.start();
  const address = server.getServerConn();
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    kind: 'pglite',
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    multiplexedSession: true,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
