// Dev sign-in: the local stack hands out tokens for its two dev users at /dev/token.
// Never part of a deployed app; a real one gets its session from Supabase Auth.

export type DevUser = { id: string; name: string };
export type DevConfig = { anonKey: string; users: DevUser[] };

export type DevSession = {
  user: DevUser;
  /** supabase-js's `accessToken` callback: the cached token, renewed a minute before it expires. */
  accessToken(): Promise<string | null>;
  /** BatchSyncService's `refreshSession`: a new token after a 401. */
  refresh(): Promise<boolean>;
};

const SIGNED_IN_KEY = 'verses-sync-demo:user';

/** The anon key and the dev users of the stack this page came from. */
export async function loadDevConfig(): Promise<DevConfig> {
  const res = await fetch('/dev/config');
  if (!res.ok) throw new Error(`GET /dev/config answered ${res.status}: is this page served by \`npm start\`?`);
  return (await res.json()) as DevConfig;
}

/** A session for `user`; tokens are fetched lazily. */
export function createDevSession(user: DevUser): DevSession {
  let token: { value: string; expiresAt: number } | null = null;
  let inFlight: Promise<string | null> | null = null;
  const fetchToken = async (): Promise<string | null> => {
    const res = await fetch(`/dev/token?user=${encodeURIComponent(user.id)}`);
    if (!res.ok) return null;
    const body = (await res.json()) as { access_token: string; expires_at: number };
    token = { value: body.access_token, expiresAt: body.expires_at * 1000 };
    return token.value;
  };
  const renew = () => (inFlight ??= fetchToken().finally(() => (inFlight = null)));
  return {
    user,
    async accessToken() {
      if (token && token.expiresAt - Date.now() > 60_000) return token.value;
      return renew().catch(() => null);
    },
    async refresh() {
      token = null;
      return (await renew().catch(() => null)) !== null;
    },
  };
}

export function rememberedUserId(): string | null {
  return localStorage.getItem(SIGNED_IN_KEY);
}

export function rememberUser(id: string | null): void {
  if (id) localStorage.setItem(SIGNED_IN_KEY, id);
  else localStorage.removeItem(SIGNED_IN_KEY);
}
