// `npm start`: the local stack (PGlite in .data/pglite, the function under Deno) with the demo
// page and its dev endpoints on the gateway's origin: one URL, up until Ctrl-C; data is kept.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDemo } from '../src/dev/demoServer.ts';
import { esvFromEnvironment } from '../src/stack/index.ts';
import { DEV_USERS } from '../src/dev/devEndpoints.ts';
import { DATA_DIR, resolveJwtSecret } from '../src/stack/secret.ts';
import { stopOnSignals } from '../src/stack/signals.ts';

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '54321' },
      'db-port': { type: 'string', default: '54322' },
      runtime: { type: 'string', default: 'deno' },
      memory: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (values.runtime !== 'deno' && values.runtime !== 'node') throw new Error('--runtime must be deno or node');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  console.log('building the demo page and starting the local stack…');
  const demo = await startDemo({
    databaseUrl,
    // Verse text: the real ESV with ESV_API_KEY, else the bundled ESV-compatible server on 127.0.0.1.
    esv: esvFromEnvironment(),
    dataDir: databaseUrl || values.memory ? undefined : path.join(DATA_DIR, 'pglite'),
    dbPort: Number(values['db-port']),
    port: Number(values.port),
    runtime: values.runtime,
    jwtSecret: await resolveJwtSecret(),
    build: !values['no-build'],
    log: (line) => {
      if (values.verbose || !line.startsWith('[deno')) console.log(line);
    },
  });
  const { stack } = demo;
  console.log(`
verses-sync demo (${stack.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL server'}, function on ${stack.runtime})

  Open:         ${demo.url}

  Function:     ${stack.functionUrl}
  anon key:     ${stack.anonKey}
  Database:     ${stack.database.kind === 'pglite' ? stack.database.url : '(DATABASE_URL)'}
  Verse text:   ${stack.esvServer ? `bundled ESV-compatible server (World English Bible sample) ${stack.esvServer.url}` : stack.esv ? stack.esv.url : 'off'}
  Dev users:    ${DEV_USERS.map((u) => `${u.name} ${u.id}`).join(', ')}
  Inspector:    ${demo.url}?inspect=1 (or the "Stately inspector" box on the page)
Ctrl-C stops it; the data stays in .data/.`);
  stopOnSignals(() => demo.stop());
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
