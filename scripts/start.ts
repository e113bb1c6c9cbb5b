// `npm start`: the local stack (PGlite in .data/pglite, the function under Deno) with the demo
// page and its dev endpoints on the gateway's origin: one URL, up until Ctrl-C; data is kept.
import { parseArgs } from 'node:util';
import { startDemo } from '../src/dev/demoServer.ts';
import { DEV_USERS } from '../src/dev/devEndpoints.ts';
import { describeStack, STACK_FLAGS, stackOptionsFromFlags } from '../src/stack/cli.ts';
import { stopOnSignals } from '../src/stack/signals.ts';

async function main() {
  const { values } = parseArgs({
    options: {
      ...STACK_FLAGS,
      'no-build': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const options = await stackOptionsFromFlags(values);
  console.log('building the demo page and starting the local stack…');
  const demo = await startDemo({
    ...options,
    build: !values['no-build'],
    log: (line) => {
      if (values.verbose || !line.startsWith('[deno')) console.log(line);
    },
  });
  const { stack } = demo;
  const about = describeStack(stack);
  console.log(`
verses-sync demo (${about.kind})

  Open:         ${demo.url}

  Function:     ${stack.functionUrl}
  anon key:     ${stack.anonKey}
  Database:     ${about.database}
  Verse text:   ${about.verseText}
  Dev users:    ${DEV_USERS.map((u) => `${u.name} ${u.id}`).join(', ')}
  Inspector:    ${demo.url}?inspect=1 (or the "Stately inspector" box on the page)
Ctrl-C stops it; the data stays in .data/.`);
  stopOnSignals(() => demo.stop());
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
