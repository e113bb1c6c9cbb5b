// Serves the built demo page: files from one folder, index.html for every other path.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { WebHandler } from '../stack/http.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/** A handler for GET/HEAD of files under `root`; never leaves it. */
export function serveStatic(root: string): WebHandler {
  const base = path.resolve(root);
  const send = async (file: string, method: string, cache: string) => {
    const body = await readFile(file);
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    return new Response(method === 'HEAD' ? null : body, { status: 200, headers: { 'Content-Type': type, 'Cache-Control': cache } });
  };
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return new Response(JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'the demo page is GET only' } }), { status: 405 });
    }
    const { pathname } = new URL(req.url);
    const file = path.resolve(base, `.${decodeURIComponent(pathname)}`);
    if (file.startsWith(base + path.sep)) {
      const found = await stat(file).catch(() => null);
      // Hashed assets never change; everything else is revalidated.
      if (found?.isFile()) return send(file, req.method, pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    return send(path.join(base, 'index.html'), req.method, 'no-cache');
  };
}
