// Dev access tokens in Supabase's claim shape, signed HS256 with the stack's secret.
import { SignJWT } from 'jose';

export type TokenOptions = {
  userId: string;
  secret: string;
  /** Seconds from now; negative makes an already-expired token (for tests). */
  expiresIn?: number;
  role?: 'authenticated' | 'anon';
  email?: string;
};

/** Signs an access token like Supabase Auth issues for a signed-in user. */
export async function signAccessToken(options: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const role = options.role ?? 'authenticated';
  return new SignJWT({
    role,
    aud: role,
    email: options.email ?? `${options.userId.slice(0, 8)}@dev.verses-sync.local`,
    app_metadata: { provider: 'dev' },
    user_metadata: {},
    aal: 'aal1',
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('verses-sync-local/auth/v1')
    .setSubject(options.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(options.secret));
}

/** The anon key supabase-js needs to construct a client; it grants nothing by itself. */
export async function signAnonKey(secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'anon' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('verses-sync-local')
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 24 * 3600)
    .sign(new TextEncoder().encode(secret));
}
