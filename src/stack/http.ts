// Node's http server speaking the web Request/Response a Deno.serve handler expects. It
// survives any request: a Host it cannot parse, a body the handler stops reading, a header
// block too large for Node's parser; each gets a JSON answer and the server keeps serving.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type WebHandler = (req: Request) => Promise<Response>;

// A handler that stops reading (a 413) gets the rest discarded, not the socket destroyed, so
// its answer reaches the client; past this many bytes the connection is closed instead.
const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

// Reads what is left of a body the handler will not read and throws it away, so the client
// finishes sending and reads the answer (a socket closed under a sending client is a reset).
function discardRest(req: http.IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > MAX_DISCARDED_BYTES) req.socket.destroy();
  });
  req.resume();
}

// The request body as a web stream that pauses Node's stream when the reader is slow and,
// when the reader cancels, discards the rest instead of resetting the connection.
function bodyOf(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (!open) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => {
          if (open) controller.close();
          open = false;
        });
        req.once('error', (error) => {
          if (open) controller.error(error);
          open = false;
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
        discardRest(req);
      },
    },
    { highWaterMark: 4 },
  );
}

// The URL comes from the address the server listens on, never from the Host header, which
// the client controls (`Host: [` would make it unparsable); the header itself is passed on.
function toWebRequest(req: http.IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    try {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
      else if (value !== undefined) headers.set(name, value);
    } catch {
      // A header value the fetch API refuses is dropped, not fatal.
    }
  }
  const path = req.url?.startsWith('/') ? req.url : '/';
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(new URL(path, origin), {
    method: req.method,
    headers,
    body: hasBody ? bodyOf(req) : undefined,
    duplex: 'half',
  } as RequestInit);
}

async function sendWebResponse(req: http.IncomingMessage, res: http.ServerResponse, response: Response): Promise<void> {
  // Answered before the body was read (a 413 from its length): the rest is drained, not reset.
  if (!req.complete) {
    res.setHeader('Connection', 'close');
    discardRest(req);
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  }
  res.end();
}

export type NodeServer = { port: number; url: string; close(): Promise<void> };

/** Serves a web handler on 127.0.0.1; port 0 picks a free one. */
export async function serveWebHandler(handler: WebHandler, port = 0, host = '127.0.0.1'): Promise<NodeServer> {
  let origin = `http://${host}`;
  const server = http.createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(toWebRequest(req, origin)))
      .then((response) => sendWebResponse(req, res, response))
      .catch((error) => {
        console.error('verses-sync stack: handler failed', error);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(errorBody('SERVER_ERROR', 'unexpected error in the local stack'));
      });
  });
  // What Node's parser refuses before any handler runs still gets a JSON answer.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, text, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'HEADER_TOO_LARGE', 'request headers are too large; send the session access token only']
        : [400, 'Bad Request', 'BAD_REQUEST', 'the request could not be parsed as HTTP'];
    const body = errorBody(code, message);
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  origin = `http://${host}:${actual}`;
  return {
    port: actual,
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1): the proxy never forwards them.
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization', 'host', 'content-length'];

/** A handler that forwards every request to another origin, keeping path and query. */
export function proxyTo(origin: string): WebHandler {
  return async (req) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    headers.set('accept-encoding', 'identity');
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
