// Endpoints only the local stack serves (never the function): the dev users and their tokens,
// the fault panel and request counts, the bundled sample's references. Everything under /dev/.
import { signAccessToken } from '../stack/tokens.ts';
import type { WebHandler } from '../stack/http.ts';
import type { Fate, FaultInjector } from './faults.ts';
import { sampleVerses } from './sample.ts';

export type DevUser = { id: string; name: string };

/** The two users the demo page signs in as. */
export const DEV_USERS: readonly DevUser[] = [
  { id: '11111111-1111-4111-8111-111111111111', name: 'Ruth' },
  { id: '22222222-2222-4222-8222-222222222222', name: 'Boaz' },
];

export type DevEndpointsOptions = {
  jwtSecret: string;
  anonKey: string;
  faults: FaultInjector;
  users?: readonly DevUser[];
  /** Seconds a dev token lives (default one hour). */
  tokenLifetime?: number;
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
const error = (status: number, code: string, message: string) => json(status, { error: { code, message } });

/** Answers /dev/* and returns null for every other path. */
export function createDevEndpoints(options: DevEndpointsOptions): (req: Request) => Promise<Response | null> {
  const users = options.users ?? DEV_USERS;
  const lifetime = options.tokenLifetime ?? 3600;
  return async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith('/dev/')) return null;
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /dev/config':
        return json(200, { anonKey: options.anonKey, users });
      case 'GET /dev/token': {
        const id = url.searchParams.get('user');
        if (!users.some((u) => u.id === id)) return error(404, 'UNKNOWN_USER', `no dev user ${id}; pick one of ${users.map((u) => u.id).join(', ')}`);
        const accessToken = await signAccessToken({ userId: id!, secret: options.jwtSecret, expiresIn: lifetime });
        return json(200, { access_token: accessToken, expires_at: Math.floor(Date.now() / 1000) + lifetime, user: { id } });
      }
      case 'GET /dev/sample':
        return json(200, { verses: sampleVerses() });
      case 'GET /dev/faults':
      case 'GET /dev/stats':
        return json(200, options.faults.stats());
      case 'POST /dev/faults': {
        let body: { fate?: Fate; count?: number; delayMs?: number; clear?: boolean };
        try {
          body = (await req.json()) as typeof body;
        } catch {
          return error(400, 'INVALID_JSON', 'send { "fate": "error500" | "rateLimit429" | "slow", "count": N, "delayMs"?: ms }');
        }
        try {
          if (body.clear) options.faults.clear();
          else options.faults.inject(body.fate as Fate, body.count ?? 1, body.delayMs);
        } catch (e) {
          return error(400, 'INVALID_FAULT', (e as Error).message);
        }
        return json(200, options.faults.stats());
      }
      default:
        return error(404, 'NOT_FOUND', `no dev endpoint ${route}`);
    }
  };
}

/** The dev endpoints first, then `next` for everything else. */
export function withDevEndpoints(dev: (req: Request) => Promise<Response | null>, next: WebHandler): WebHandler {
  return async (req) => (await dev(req)) ?? next(req);
}
