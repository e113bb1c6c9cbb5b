// `npm run stack`: the local Supabase-compatible stack, up until Ctrl-C.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { esvFromEnvironment, startStack } from '../src/stack/index.ts';
import { DATA_DIR, resolveJwtSecret } from '../src/stack/secret.ts';
import { stopOnSignals } from '../src/stack/signals.ts';

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '54321' },
      'db-port': { type: 'string', default: '54322' },
      runtime: { type: 'string', default: 'deno' },
      memory: { type: 'boolean', default: false },
    },
  });
  if (values.runtime !== 'deno' && values.runtime !== 'node') throw new Error('--runtime must be deno or node');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const stack = await startStack({
    databaseUrl,
    // Verse text: the real ESV with ESV_API_KEY, else the bundled ESV-compatible server on 127.0.0.1.
    esv: esvFromEnvironment(),
    dataDir: databaseUrl || values.memory ? undefined : path.join(DATA_DIR, 'pglite'),
    dbPort: Number(values['db-port']),
    port: Number(values.port),
    runtime: values.runtime,
    jwtSecret: await resolveJwtSecret(),
    log: (line) => console.log(line),
  });
  console.log(`
verses-sync local stack (${stack.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL server'}, function on ${stack.runtime})
  API URL:      ${stack.url}
  Function:     ${stack.functionUrl}
  anon key:     ${stack.anonKey}
  Database:     ${stack.database.kind === 'pglite' ? stack.database.url : '(DATABASE_URL)'}
  Verse text:   ${stack.esvServer ? `bundled ESV-compatible server ${stack.esvServer.url}` : stack.esv ? stack.esv.url : 'off'}
  Tokens:       npm run token -- --user <uuid>
Ctrl-C stops it.`);
  stopOnSignals(() => stack.stop());
}

main().catch((error) => {
  console.error(`stack failed to start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
