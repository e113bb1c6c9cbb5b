// The README and docs/ stand on their own: every link points at a file of this repository.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/stack/migrate.ts';

const pages = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown link targets of a page, code spans and fences left out. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)[^)]*\)|<a\s[^>]*href="([^"]+)"|<img\s[^>]*src="([^"]+)"/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

test.each(pages)('%s links only inside the repository', (page) => {
  const text = readFileSync(path.join(REPO_ROOT, page), 'utf8');
  const outside = linksOf(text).filter((target) => {
    if (target.startsWith('#')) return false;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return true;
    const file = path.resolve(path.dirname(path.join(REPO_ROOT, page)), target.split('#')[0]);
    return !file.startsWith(REPO_ROOT + path.sep) || !existsSync(file);
  });
  expect(outside).toEqual([]);
  expect(text).not.toMatch(/\.\.\/shared/);
});

test('a link that leaves the repository is caught', () => {
  expect(linksOf('see [design](../shared/DESIGN.md) and [site](https://example.org)')).toEqual(['../shared/DESIGN.md', 'https://example.org']);
});
