// `npm run diagrams`: rewrites docs/statecharts.md and the README's statechart pictures from the
// machine definitions. Run it after changing a machine; the statechart test says so too.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readmeStatecharts, spliceReadme, statechartsDocument, STATECHARTS_FILE } from '../src/dev/statecharts.ts';
import { REPO_ROOT } from '../src/stack/migrate.ts';

async function main(): Promise<void> {
  const doc = path.join(REPO_ROOT, STATECHARTS_FILE);
  await mkdir(path.dirname(doc), { recursive: true });
  await writeFile(doc, statechartsDocument());
  const readmePath = path.join(REPO_ROOT, 'README.md');
  await writeFile(readmePath, spliceReadme(await readFile(readmePath, 'utf8'), readmeStatecharts()));
  console.log(`wrote ${STATECHARTS_FILE} and the README's statecharts`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
