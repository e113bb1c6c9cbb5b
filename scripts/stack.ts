// `npm run stack`: the local Supabase-compatible stack, up until Ctrl-C.
import { parseArgs } from 'node:util';
import { describeStack, STACK_FLAGS, stackOptionsFromFlags } from '../src/stack/cli.ts';
import { startStack } from '../src/stack/index.ts';
import { stopOnSignals } from '../src/stack/signals.ts';

async function main() {
  const { values } = parseArgs({
    options: STACK_FLAGS,
  });
  const stack = await startStack({
    ...(await stackOptionsFromFlags(values)),
    log: (line) => console.log(line),
  });
  const about = describeStack(stack);
  console.log(`
verses-sync local stack (${about.kind})
  API URL:      ${stack.url}
  Function:     ${stack.functionUrl}
  anon key:     ${stack.anonKey}
  Database:     ${about.database}
  Verse text:   ${about.verseText}
  Tokens:       npm run token -- --user <uuid>
Ctrl-C stops it.`);
  stopOnSignals(() => stack.stop());
}

main().catch((error) => {
  console.error(`stack failed to start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
