// The local stack: Postgres (real or PGlite), the migrations, the verse-operations
// function (Deno or Node) behind a Supabase-shaped gateway, and dev tokens.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createHandler } from '../../supabase/functions/verse-operations/handler.ts';
import { createBatchStore } from '../../supabase/functions/verse-operations/store.ts';
import { startDatabase, type Database } from './database.ts';
import { startDenoFunction } from './deno.ts';
import { startEsvServer, type EsvServer, type EsvServerOptions } from './esv/server.ts';
import type { EsvConfig } from '../../supabase/functions/verse-operations/esv.ts';
import { startGateway } from './gateway.ts';
import { proxyTo, type WebHandler } from './http.ts';
import { migrate } from './migrate.ts';
import { signAccessToken, signAnonKey, type TokenOptions } from './tokens.ts';

export type StackOptions = {
  /** A real Postgres server; PGlite in-process without it. */
  databaseUrl?: string;
  /** On a real server, use a fresh database dropped at stop (for tests). */
  isolateDatabase?: boolean;
  /** PGlite's data folder; memory when absent. */
  dataDir?: string;
  /** Port PGlite is served on (0: any). */
  dbPort?: number;
  /** Port of the gateway (0: any). */
  port?: number;
  /** Who runs the function: real Deno (as deployed) or Node (same handler, faster start). */
  runtime?: 'deno' | 'node';
  /** HS256 secret; a random one when absent. */
  jwtSecret?: string;
  /** Wraps the function, e.g. with a fault or latency proxy. */
  wrapFunction?: (handler: WebHandler) => WebHandler;
  /** Answers every request that is not a function (e.g. the demo page and its dev endpoints). */
  fallback?: WebHandler;
  log?: (line: string) => void;
  /**
   * Verse text for CREATE_VERSE without customText: 'local' runs the bundled ESV-compatible
   * server (World English Bible sample) on 127.0.0.1; { url, apiKey } names a real ESV API;
   * 'off' (the default) keeps the catalogue without text.
   */
  esv?: 'off' | 'local' | { url: string; apiKey?: string };
  /** ESV texts the catalogue keeps (default 500, the ESV's condition). */
  esvStorageCap?: number;
  /** Options of the local ESV-compatible server. */
  esvServer?: EsvServerOptions;
};

export type Stack = {
  /** What supabase-js takes as its URL. */
  url: string;
  functionUrl: string;
  anonKey: string;
  jwtSecret: string;
  runtime: 'deno' | 'node';
  database: Database;
  /** A superuser connection for checks and set-up; bypasses RLS. */
  sql: postgres.Sql;
  /** The local ESV-compatible server, when `esv: 'local'`. */
  esvServer?: EsvServer;
  /** What the function was given to reach the ESV. */
  esv?: EsvConfig;
  /** The Deno child's process id (runtime 'deno'). */
  functionPid?: number;
  tokenFor(userId: string, options?: Omit<TokenOptions, 'userId' | 'secret'>): Promise<string>;
  stop(): Promise<void>;
};

/**
 * The ESV the stack's callers (npm start, npm run stack) should use: the real ESV API when
 * ESV_API_KEY is set (ESV_API_URL overrides its base URL), else the bundled local server.
 */
export function esvFromEnvironment(env: Record<string, string | undefined> = process.env): NonNullable<StackOptions['esv']> {
  const apiKey = env.ESV_API_KEY || undefined;
  if (apiKey) return { url: env.ESV_API_URL || 'https://api.esv.org', apiKey };
  return env.ESV_API_URL ? { url: env.ESV_API_URL } : 'local';
}

/** Starts everything verses-sync needs on this machine; stop() tears it down. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const runtime = options.runtime ?? 'node';
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('base64url');
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((e) => log(`stop: ${(e as Error).message}`));
  };
  try {
    const database = await startDatabase({
      url: options.databaseUrl,
      isolate: options.isolateDatabase,
      dataDir: options.dataDir,
      port: options.dbPort,
    });
    stops.push(() => database.stop());
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    stops.push(() => sql.end({ timeout: 5 }));
    const applied = await migrate(sql);
    log(`database (${database.kind}) ready; ${applied.length} migration(s) applied`);

    let esvServer: EsvServer | undefined;
    let esv: EsvConfig | undefined;
    if (options.esv === 'local') {
      // A key per run, so the function's Authorization header is exercised as with the real ESV.
      const apiKey = randomBytes(16).toString('hex');
      esvServer = await startEsvServer({ ...options.esvServer, apiKey });
      stops.push(() => esvServer!.close());
      esv = { url: esvServer.url, apiKey, storageCap: options.esvStorageCap };
      log(`ESV-compatible server (bundled WEB text) on ${esvServer.url}`);
    } else if (options.esv && options.esv !== 'off') {
      esv = { url: options.esv.url, apiKey: options.esv.apiKey, storageCap: options.esvStorageCap };
    }
    const esvEnv: Record<string, string> = esv
      ? {
          ESV_API_URL: esv.url,
          ...(esv.apiKey ? { ESV_API_KEY: esv.apiKey } : {}),
          ...(esv.storageCap !== undefined ? { ESV_STORAGE_CAP: String(esv.storageCap) } : {}),
        }
      : {};

    // PGlite runs one session at a time: keep the function's pool small there.
    const pool = database.kind === 'pglite' ? 2 : 8;
    const { multiplexedSession } = database;
    let handler: WebHandler;
    let functionPid: number | undefined;
    if (runtime === 'deno') {
      const fn = await startDenoFunction({
        name: 'verse-operations',
        env: {
          SUPABASE_DB_URL: database.url,
          SUPABASE_JWT_SECRET: jwtSecret,
          VERSE_OPERATIONS_DB_POOL: String(pool),
          ...(multiplexedSession ? { VERSE_OPERATIONS_DB_MULTIPLEXED: '1' } : {}),
          ...esvEnv,
        },
        log,
      });
      stops.push(() => fn.stop());
      functionPid = fn.pid;
      handler = proxyTo(fn.origin);
    } else {
      const store = createBatchStore(database.url, { maxConnections: pool, multiplexedSession });
      stops.push(() => store.close());
      handler = createHandler({ store, jwtSecret, log, esv, load: { maxConcurrent: pool, maxWaiting: pool * 16 } });
    }
    const gateway = await startGateway({
      port: options.port,
      functions: { 'verse-operations': options.wrapFunction ? options.wrapFunction(handler) : handler },
      fallback: options.fallback,
    });
    stops.push(() => gateway.close());
    return {
      url: gateway.url,
      functionUrl: `${gateway.url}/functions/v1/verse-operations`,
      anonKey: await signAnonKey(jwtSecret),
      jwtSecret,
      runtime,
      database,
      sql,
      esvServer,
      esv,
      functionPid,
      tokenFor: (userId, tokenOptions) => signAccessToken({ ...tokenOptions, userId, secret: jwtSecret }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
