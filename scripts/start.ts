// `npm start`: the local stack (PGlite in .data/pglite, the function under Deno) with the demo
// page and its dev endpoints on the gateway's origin: one URL, up until Ctrl-C; data is kept.
import { parseArgs } from 'node:util';
import { startDemo } from '../src/dev/demoServer.ts';
import { DEV_USERS } from '../src/dev/devEndpoints.ts';
import { showStartLog, STACK_FLAGS, stackOptionsFromFlags, startBanner } from '../src/stack/cli.ts';
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
  console.log(values['no-build'] ? 'starting the local stack…' : 'building the demo page and starting the local stack…');
  const demo = await startDemo({
    ...options,
    build: !values['no-build'],
    log: (line) => {
      if (showStartLog(line, values.verbose)) console.log(line);
    },
  });
  console.log(`\n${startBanner({ url: demo.url, stack: demo.stack, devUsers: DEV_USERS, emphasis: process.stdout.isTTY })}`);
  stopOnSignals(() => demo.stop());
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
