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
