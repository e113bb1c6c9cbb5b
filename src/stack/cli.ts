// What `npm start` and `npm run stack` share: their stack flags, the stack options those flags and
// the environment give (DATABASE_URL, ESV_API_KEY, SUPABASE_JWT_SECRET), and the summary lines.
import path from 'node:path';
import { esvFromEnvironment, type Stack, type StackOptions } from './index.ts';
import { DATA_DIR, resolveJwtSecret } from './secret.ts';

export const STACK_FLAGS = {
  port: { type: 'string', default: '54321' },
  'db-port': { type: 'string', default: '54322' },
  runtime: { type: 'string', default: 'deno' },
  memory: { type: 'boolean', default: false },
} as const;

export type StackFlags = { port: string; 'db-port': string; runtime: string; memory: boolean };

/** The stack's options from its flags and the environment; PGlite keeps its data in .data/pglite. */
export async function stackOptionsFromFlags(values: StackFlags): Promise<StackOptions> {
  if (values.runtime !== 'deno' && values.runtime !== 'node') throw new Error('--runtime must be deno or node');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  return {
    databaseUrl,
    // Verse text: the real ESV with ESV_API_KEY, else the bundled ESV-compatible server on 127.0.0.1.
    esv: esvFromEnvironment(),
    dataDir: databaseUrl || values.memory ? undefined : path.join(DATA_DIR, 'pglite'),
    dbPort: Number(values['db-port']),
    port: Number(values.port),
    runtime: values.runtime,
    jwtSecret: await resolveJwtSecret(),
  };
}

/** The summary's lines about the database and verse text. */
export function describeStack(stack: Stack): { kind: string; database: string; verseText: string } {
  return {
    kind: `${stack.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL server'}, function on ${stack.runtime}`,
    database: stack.database.kind === 'pglite' ? stack.database.url : '(DATABASE_URL)',
    verseText: stack.esvServer ? `bundled ESV-compatible server (World English Bible sample) ${stack.esvServer.url}` : stack.esv ? stack.esv.url : 'off',
  };
}

/**
 * Whether `npm start` shows a line of the stack's or the page build's log: all of them with
 * --verbose; otherwise only a failure while stopping, so the URL to open stands alone.
 */
export function showStartLog(line: string, verbose: boolean): boolean {
  return verbose || line.startsWith('stop: ');
}

export type StartBannerInfo = { url: string; stack: Stack; devUsers: ReadonlyArray<{ name: string; id: string }>; emphasis?: boolean };

/** What `npm start` prints once up: the URL to open first, as its one prominent line, then the details. */
export function startBanner({ url, stack, devUsers, emphasis = false }: StartBannerInfo): string {
  const about = describeStack(stack);
  const open = emphasis ? `\x1b[1m➜  Open ${url}\x1b[0m` : `➜  Open ${url}`;
  return [
    `verses-sync demo is up (${about.kind})`,
    '',
    `  ${open}`,
    '',
    `  Dev users:    ${devUsers.map((u) => `${u.name} ${u.id}`).join(', ')}`,
    `  Inspector:    ${url}?inspect=1 (or the "Stately inspector" box on the page)`,
    `  Function:     ${stack.functionUrl}`,
    `  anon key:     ${stack.anonKey}`,
    `  Database:     ${about.database}`,
    `  Verse text:   ${about.verseText}`,
    'Ctrl-C stops it; the data stays in .data/. --verbose shows the build and the function logs.',
  ].join('\n');
}
