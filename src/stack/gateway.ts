// The local stand-in for Supabase's API gateway: /functions/v1/<name> reaches that function.
import { serveWebHandler, type NodeServer, type WebHandler } from './http.ts';

export type GatewayOptions = {
  port?: number;
  functions: Record<string, WebHandler>;
  /** Everything that is not a function, e.g. the demo page. */
  fallback?: WebHandler;
};

const notFound = (message: string) =>
  new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message } }), {
    status: 404,
    headers: { 'Content-Type': 'application/json' },
  });

/** Starts the gateway; supabase-js pointed at its URL finds the functions where Supabase keeps them. */
export function startGateway(options: GatewayOptions): Promise<NodeServer> {
  return serveWebHandler(async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === '/health') return new Response('ok');
    const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(pathname);
    if (match) {
      const fn = options.functions[match[1]];
      return fn ? fn(req) : notFound(`no function named ${match[1]}`);
    }
    return options.fallback ? options.fallback(req) : notFound(`nothing at ${pathname}`);
  }, options.port ?? 0);
}
