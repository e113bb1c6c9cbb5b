// An HTTP proxy on 127.0.0.1 that stands between a client and the stack and breaks
// requests on purpose, by a seeded random choice or by script, logging what it did
// so a failing run can be replayed from its seed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind =
  | 'pass' // forward untouched
  | 'dropRequest' // close the connection before the server sees the request
  | 'dropResponse' // let the server apply it, then close without an answer
  | 'error500' // answer 500 without forwarding
  | 'rateLimit' // answer 429 with Retry-After without forwarding
  | 'delay' // forward after a pause
  | 'hang' // never answer (the client's timeout must end it)
  | 'reset'; // destroy the socket mid-request

export const FAULT_KINDS: readonly FaultKind[] = ['dropRequest', 'dropResponse', 'error500', 'rateLimit', 'delay', 'hang', 'reset'];

export type FaultLogEntry = { n: number; at: number; method: string; path: string; fault: FaultKind };

export type FaultProxyOptions = {
  /** Where requests go, e.g. the stack's gateway URL. */
  target: string;
  /** Seed of the random choice; the same seed and request order give the same faults. */
  seed?: number;
  /** Share of requests (0..1) that get a fault when no script is set. */
  rate?: number;
  /** Which faults the random choice draws from (default all). */
  kinds?: readonly FaultKind[];
  delayMs?: number;
  retryAfterSeconds?: number;
  port?: number;
};

export type FaultProxy = {
  url: string;
  log: FaultLogEntry[];
  /** The next requests' fates, in order; random choice resumes when the script runs out. */
  script(faults: FaultKind[]): void;
  /** Change the fault rate (0 stops faults). */
  setRate(rate: number): void;
  /** While on, every request is answered 500 or dropped (the server is down); a script still wins. */
  setOutage(on: boolean): void;
  /** While set, every request whose body `match`es is answered 500 (one change the server chokes on); null heals it. */
  failWhen(match: ((body: string) => boolean) | null): void;
  counts(): Record<FaultKind, number>;
  close(): Promise<void>;
};

/** mulberry32: small, seedable, good enough to pick faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts the proxy; point supabase-js at its `url` instead of the stack's. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed ?? 1);
  let rate = options.rate ?? 0.3;
  let outage = false;
  let poison: ((body: string) => boolean) | null = null;
  const kinds = options.kinds ?? FAULT_KINDS;
  const queue: FaultKind[] = [];
  const log: FaultLogEntry[] = [];
  const hung = new Set<http.ServerResponse>();
  let n = 0;

  const choose = (): FaultKind => {
    if (queue.length > 0) return queue.shift()!;
    // Always draw both numbers so the sequence depends on the seed alone, not on the rate.
    const roll = random();
    const pick = kinds[Math.floor(random() * kinds.length)];
    if (outage) return roll < 0.5 ? 'error500' : 'dropRequest';
    return roll < rate ? pick : 'pass';
  };

  const forward = async (req: http.IncomingMessage, body: Buffer): Promise<Response> => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (name === 'host' || name === 'content-length' || name === 'connection' || value === undefined) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    headers.set('accept-encoding', 'identity');
    return fetch(`${options.target}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(body),
    });
  };

  const reply = async (res: http.ServerResponse, upstream: Response) => {
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(name)) headers[name] = value;
    });
    res.writeHead(upstream.status, headers);
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = req.method === 'OPTIONS' ? 'pass' : poison?.(body.toString('utf8')) ? 'error500' : choose();
      log.push({ n: ++n, at: Date.now(), method: req.method ?? '', path: req.url ?? '', fault });
      const json = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
        // Injected answers carry CORS headers like the function's, so a browser sees the status.
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Access-Control-Allow-Origin': '*',
          'Access-Control-Expose-Headers': 'retry-after',
          ...extra,
        });
        res.end(JSON.stringify(payload));
      };
      const run = async () => {
        switch (fault) {
          case 'dropRequest':
          case 'reset':
            req.socket.destroy();
            return;
          case 'dropResponse':
            await (await forward(req, body)).arrayBuffer();
            req.socket.destroy();
            return;
          case 'error500':
            return json(500, { error: { code: 'SERVER_ERROR', message: 'injected by the fault proxy' } });
          case 'rateLimit':
            return json(429, { error: { code: 'RATE_LIMITED', message: 'injected by the fault proxy' } }, { 'Retry-After': String(options.retryAfterSeconds ?? 1) });
          case 'hang':
            hung.add(res);
            res.on('close', () => hung.delete(res));
            return;
          case 'delay':
            await new Promise((r) => setTimeout(r, options.delayMs ?? 300));
            return reply(res, await forward(req, body));
          default:
            return reply(res, await forward(req, body));
        }
      };
      run().catch(() => {
        if (!res.headersSent) json(502, { error: { code: 'UNAVAILABLE', message: 'the fault proxy could not reach the stack' } });
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    script: (faults) => queue.push(...faults),
    setRate: (r) => {
      rate = r;
    },
    setOutage: (on) => {
      outage = on;
    },
    failWhen: (match) => {
      poison = match;
    },
    counts() {
      const counts = Object.fromEntries(['pass', ...FAULT_KINDS].map((k) => [k, 0])) as Record<FaultKind, number>;
      for (const entry of log) counts[entry.fault]++;
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
