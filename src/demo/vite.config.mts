// Vite builds the demo page (`npm start` serves it on the local stack's origin).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  // Vite 8 transforms TSX itself (oxc); the automatic runtime needs no React import per file.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: path.resolve(here, '..', '..', '.data', 'demo'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2_000,
  },
});
