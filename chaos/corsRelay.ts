// One relay per chaos client between its browser and the fault proxy. The proxy's
// injected answers (500, 429) carry no CORS headers, which a browser would turn into
// a bare network error; the relay adds them so the page sees the status and
// Retry-After as an app would. A connection the proxy drops is dropped here too.
// Being per client, it also tells the runner whose request is on the wire.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, x-region',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': 'retry-after',
};

export type CorsRelay = {
  url: string;
  /** Called when a POST has been handed to the proxy. */
  onPost(listener: () => void): () => void;
  close(): Promise<void>;
};

/** Starts a relay on 127.0.0.1 that forwards everything to `target` (the fault proxy). */
export async function startCorsRelay(target: string): Promise<CorsRelay> {
  const upstream = new URL(target);
  const listeners = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host };
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const merged: http.OutgoingHttpHeaders = { ...answer.headers };
        for (const [name, value] of Object.entries(CORS)) if (merged[name] === undefined) merged[name] = value;
        res.writeHead(answer.statusCode ?? 502, merged);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('aborted', () => res.destroy());
      },
    );
    // The proxy dropped or reset the connection: the browser must see the same.
    out.on('error', () => req.socket.destroy());
    // The browser gave up (its timeout): stop waiting on a hung request.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
    if (req.method === 'POST') req.on('end', () => listeners.forEach((l) => l()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    onPost(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
