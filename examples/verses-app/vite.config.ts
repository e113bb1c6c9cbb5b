import { defineConfig } from 'vite';

export default defineConfig({
  // Vite 8 transforms TSX itself; the automatic runtime needs no React import per file.
  oxc: { jsx: { runtime: 'automatic' } },
  build: { chunkSizeWarningLimit: 2_000 },
});
