/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// jose ships ES modules only; let swc turn it into CommonJS like our own code.
const esmOnly = ['jose'];

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  // Every test file is found with or without DATABASE_URL: one that needs a real server says
  // so when it cannot run and is counted as skipped (__tests__/helpers/server.ts).
  testPathIgnorePatterns: ['/node_modules/'],
  // The browser is picked (and, when it is the packaged one, unpacked) once, before the workers start.
  globalSetup: '<rootDir>/__tests__/setup/browser.ts',
  setupFiles: ['fake-indexeddb/auto', '<rootDir>/__tests__/setup/quietSupabase.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { target: 'es2022', transform: { react: { runtime: 'automatic' } } }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker that ends a file holding more than this is replaced before its next file: the Dexie
  // model-based test leaves a large heap, and a file run after it in the same worker once failed
  // with "Jest worker ran out of memory".
  workerIdleMemoryLimit: '1GB',
};

export default config;
