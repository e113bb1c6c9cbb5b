// `npm run build`: the package in dist/ as ES modules with .d.ts, straight from tsc
// (tsconfig.build.json). tsc rewrites `.ts` import specifiers in the emitted JavaScript
// (rewriteRelativeImportExtensions) but leaves them in the declarations, so they are rewritten here.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../src/stack/migrate.ts';

const DIST = path.join(REPO_ROOT, 'dist');
const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)\.tsx?(['"])/g;

async function declarations(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.d.ts')).map((e) => path.join(e.parentPath, e.name));
}

async function build(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  execFileSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', path.join(REPO_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const files = await declarations(DIST);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const rewritten = text.replace(RELATIVE_TS, '$1$2.js$3');
    if (rewritten !== text) await writeFile(file, rewritten);
  }
  // The repository itself is CommonJS-scoped (its tools read __dirname); the package's output is ES modules.
  await writeFile(path.join(DIST, 'package.json'), `${JSON.stringify({ type: 'module', sideEffects: false }, null, 2)}\n`);
  console.log(`dist/: ES modules and ${files.length} declaration files`);
}

build().catch((error) => {
  console.error(error);
  process.exit(1);
});
