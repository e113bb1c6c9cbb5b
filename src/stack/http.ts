// Node's http server speaking the web Request/Response a Deno.serve handler expects.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type WebHandler = (req: Request) => Promise<Response>;

function toWebRequest(req: http.IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
    else if (value !== undefined) headers.set(name, value);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  } as RequestInit);
}

async function sendWebResponse(res: http.ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  }
  res.end();
}

export type NodeServer = { port: number; url: string; close(): Promise<void> };

/** Serves a web handler on 127.0.0.1; port 0 picks a free one. */
export async function serveWebHandler(handler: WebHandler, port = 0, host = '127.0.0.1'): Promise<NodeServer> {
  const server = http.createServer((req, res) => {
    handler(toWebRequest(req))
      .then((response) => sendWebResponse(res, response))
      .catch((error) => {
        console.error('verses-sync stack: handler failed', error);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'SERVER_ERROR', message: 'unexpected error in the local stack' } }));
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler that forwards every request to another origin, keeping path and query. */
export function proxyTo(origin: string): WebHandler {
  return async (req) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.set('accept-encoding', 'identity');
    headers.delete('host');
    const upstream = await fetch(`${origin}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      duplex: 'half',
      redirect: 'manual',
    } as RequestInit);
    const out = new Headers(upstream.headers);
    out.delete('content-encoding');
    out.delete('content-length');
    out.delete('transfer-encoding');
    return new Response(upstream.body, { status: upstream.status, headers: out });
  };
}
