// `npm run bench` still runs end to end: a tiny configuration, in a child process (the bench
// renders its chart with ES-module-only vega, which Jest does not load). Checks the JSON's
// keys and that they are numbers; never its speed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

const KEYS: Record<string, string[]> = {
  import1000: ['rttMs'],
  'import1000.requests': ['perOp', 'grouped', 'versesSync'],
  'import1000.msToSynced': ['perOp', 'grouped', 'versesSync'],
  localWrite: ['idleP99Ms', 'drainingP99Ms', 'floorP99Ms'],
  server: ['opsPerSec', 'rawInsertOpsPerSec', 'denoOpsPerSec'],
  'server.split': ['totalMs', 'jwtMs', 'jsonParseMs', 'checkMs', 'rpcMs', 'answerMs', 'httpMs'],
  enqueue: ['perOpUs1k', 'perOpUs100k', 'heapMb100k'],
  'pacedSession.versesSync': ['requests', 'opsPerRequest', 'opsAcked'],
  'pacedSession.perOp': ['requests', 'opsPerRequest', 'opsAcked'],
  // The browser section (Chromium, real IndexedDB) and the peers beside verses-sync.
  localWriteBrowser: ['floorP99Ms', 'idleP99Ms', 'drainingP99Ms', 'idleP50Ms', 'drainingMaxMs'],
  'localWriteBrowser.batchCost': ['opsPerBatch', 'batches', 'writeMs', 'coalesceMs', 'claimMs', 'settleMs'],
  enqueueBrowser: ['ratioMin', 'ratioMax'],
  'peers.localWrite.replicache': ['p50Ms', 'p99Ms'],
  'peers.localWrite.tanstack': ['p50Ms', 'p99Ms'],
  'peers.import.versesSync': ['requests', 'opsAcked', 'msToAcked'],
  'peers.import.replicache': ['requests', 'opsAcked', 'msToAcked'],
  'peers.import.tanstack': ['requests', 'opsAcked', 'msToAcked'],
  'peers.paced.versesSync': ['requests', 'opsAcked', 'msToAcked'],
  'peers.paced.replicache': ['requests', 'opsAcked', 'msToAcked'],
  'peers.paced.tanstack': ['requests', 'opsAcked', 'msToAcked'],
};

test('the bench writes every figure as a number', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'verses-bench-'));
  const file = path.join(dir, 'tiny.json');
  try {
    await new Promise<void>((resolve, reject) => {
      const env = { ...process.env, NODE_OPTIONS: '' };
      execFile(path.join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--tiny', '--json', file], { cwd: root, env, timeout: 400_000 }, (error, _stdout, stderr) =>
        error ? reject(new Error(`bench failed: ${error.message}\n${stderr.slice(-2000)}`)) : resolve(),
      );
    });
    const figures = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    // Every op of every system's import and session was acknowledged, and the peers' versions are printed.
    const peers = figures.peers as { versions: Record<string, string>; import: Record<string, { ops: number; opsAcked: number }>; paced: Record<string, { ops: number; opsAcked: number }> };
    for (const run of [...Object.values(peers.import), ...Object.values(peers.paced)]) expect(run.opsAcked).toBe(run.ops);
    expect(Object.keys(peers.versions).sort()).toEqual(['@tanstack/db', '@tanstack/offline-transactions', 'replicache', 'verses-sync']);
    for (const [where, keys] of Object.entries(KEYS)) {
      const node = where.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], figures) as Record<string, unknown>;
      for (const key of keys) {
        expect({ at: `${where}.${key}`, type: typeof node?.[key] }).toEqual({ at: `${where}.${key}`, type: 'number' });
        expect(Number.isFinite(node[key])).toBe(true);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 420_000);
