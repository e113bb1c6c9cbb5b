// A TCP proxy on 127.0.0.1 that holds every chunk for half the round trip in each
// direction, and a new connection for one round trip (the handshake a real network costs).
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type LatencyProxy = {
  url: string;
  /** Round trip added per request; change it between runs. */
  rttMs: number;
  /** Bytes the clients sent (requests, headers included) since the last reset. */
  bytesUp: number;
  bytesDown: number;
  connections: number;
  reset(): void;
  close(): Promise<void>;
};

type Pending = { at: number; chunk: Buffer };

// Forwards `from` to `to`, each chunk no earlier than `delay` after it arrived, in order.
function delayedPipe(from: net.Socket, to: net.Socket, delay: () => number, notBefore: number, count: (n: number) => void): void {
  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | null = null;
  let ended = false;
  let last = 0;
  const drain = () => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now + 0.25) {
      if (!to.destroyed) to.write(queue.shift()!.chunk);
      else queue.shift();
    }
    if (queue.length > 0) schedule();
    else if (ended && !to.destroyed) to.end();
  };
  const schedule = () => {
    if (timer || queue.length === 0) return;
    timer = setTimeout(drain, Math.max(0, queue[0].at - performance.now()));
  };
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    last = Math.max(performance.now() + delay(), notBefore, last);
    queue.push({ at: last, chunk });
    schedule();
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0 && !timer && !to.destroyed) to.end();
  });
}

/** Starts the proxy in front of `target` (an http://127.0.0.1:port URL). */
export async function startLatencyProxy(target: string, rttMs: number): Promise<LatencyProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const proxy: LatencyProxy = {
    url: '',
    rttMs,
    bytesUp: 0,
    bytesDown: 0,
    connections: 0,
    reset() {
      proxy.bytesUp = 0;
      proxy.bytesDown = 0;
      proxy.connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    proxy.connections++;
    const opened = performance.now();
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const half = () => proxy.rttMs / 2;
    // The request's first byte leaves after the handshake's round trip.
    delayedPipe(client, upstream, half, opened + proxy.rttMs + half(), (n) => (proxy.bytesUp += n));
    delayedPipe(upstream, client, half, 0, (n) => (proxy.bytesDown += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
