/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// jose ships ES modules only; let swc turn it into CommonJS like our own code.
const esmOnly = ['jose'];

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  // Tests that need a real PostgreSQL server (pgTAP, pg_prove) run when DATABASE_URL names one.
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.DATABASE_URL ? [] : ['<rootDir>/__tests__/server/'])],
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
};

export default config;
