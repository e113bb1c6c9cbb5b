// The local stand-in for Supabase's API gateway: /functions/v1/<name> reaches that function.
import { LIMITS } from '../../supabase/functions/_shared/protocol.ts';
import { serveWebHandler, type NodeServer, type WebHandler } from './http.ts';

export type GatewayOptions = {
  port?: number;
  functions: Record<string, WebHandler>;
  /** Everything that is not a function, e.g. the demo page. */
  fallback?: WebHandler;
  /** Request bodies a function is given at most; larger ones get 413 here (default: the protocol's limit). */
  maxBodyBytes?: number;
};

const refuse = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
  });

const tooLarge = (max: number) => refuse(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${max} bytes; send smaller batches`);

type Bounded = { request: Request; overflowed(): boolean };

// A function sees at most max bytes: a declared larger body is refused before it is read, a
// chunked one is cut off when it passes the limit (whatever the function then fails with, the
// answer is 413).
function bounded(req: Request, max: number): Bounded | Response {
  const length = req.headers.get('content-length');
  const declared = length === null ? NaN : Number(length);
  if (Number.isFinite(declared) && declared > max) return tooLarge(max);
  // A declared length within the limit is the whole body: Node's parser reads exactly that many
  // bytes, so there is nothing to count (one stream less for every chunk of a batch).
  if (!req.body || Number.isFinite(declared)) return { request: req, overflowed: () => false };
  let size = 0;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > max) controller.error(new Error(`request body exceeds ${max} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
  return {
    request: new Request(req.url, { method: req.method, headers: req.headers, body: counted, duplex: 'half' } as RequestInit),
    overflowed: () => size > max,
  };
}

/** Starts the gateway; supabase-js pointed at its URL finds the functions where Supabase keeps them. */
export function startGateway(options: GatewayOptions): Promise<NodeServer> {
  // The function answers 413 itself below its limit; the gateway's guard sits just above it.
  const maxBodyBytes = options.maxBodyBytes ?? LIMITS.maxBodyBytes + 64 * 1024;
  return serveWebHandler(async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === '/health') return new Response('ok');
    const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(pathname);
    if (match) {
      const fn = Object.hasOwn(options.functions, match[1]) ? options.functions[match[1]] : undefined;
      if (!fn) return refuse(404, 'NOT_FOUND', `no function named ${match[1].slice(0, 64)}`);
      const body = bounded(req, maxBodyBytes);
      if (body instanceof Response) return body;
      try {
        const response = await fn(body.request);
        if (!body.overflowed() || response.status === 413) return response;
        await response.body?.cancel();
        return tooLarge(maxBodyBytes);
      } catch (error) {
        if (body.overflowed()) return tooLarge(maxBodyBytes);
        throw error;
      }
    }
    return options.fallback ? options.fallback(req) : refuse(404, 'NOT_FOUND', `nothing at ${pathname.slice(0, 200)}`);
  }, options.port ?? 0);
}
