// Verifies the caller's Supabase access token. The token, never the payload,
// decides whose rows a batch may write.
import { errors, jwtVerify } from 'jose';

export type Claims = {
  sub: string;
  role: 'authenticated';
  exp: number;
  [claim: string]: unknown;
};

export type AuthFailure = { code: 'UNAUTHORIZED' | 'TOKEN_EXPIRED'; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The HS256 key of the project's JWT secret, imported once instead of on every verification. */
export function importJwtSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

/** Returns the verified claims of a `Bearer` HS256 token, or why it was refused. */
export async function verifyAccessToken(
  authorization: string | null,
  secret: Uint8Array | CryptoKey,
): Promise<{ ok: true; claims: Claims } | { ok: false; failure: AuthFailure }> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) {
    return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'missing Authorization: Bearer <access token>' } };
  }
  try {
    // algorithms pins HS256: alg "none" and any asymmetric substitution are refused.
    const { payload } = await jwtVerify(match[1], secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    if (payload.role !== 'authenticated') {
      return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'token is not a signed-in user token' } };
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) {
      return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'token subject is not a user id' } };
    }
    return { ok: true, claims: payload as Claims };
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      return { ok: false, failure: { code: 'TOKEN_EXPIRED', message: 'access token expired; refresh the session' } };
    }
    return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'invalid access token' } };
  }
}
