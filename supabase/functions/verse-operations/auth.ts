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

export type TokenRules = {
  /** The `aud` a token must name (Supabase's access tokens carry 'authenticated'). */
  audience?: string;
  /** How far in the future `iat` may lie (clock skew between the auth server and here). */
  maxIssuedAtSkewSeconds?: number;
};

export const DEFAULT_TOKEN_RULES: Required<TokenRules> = { audience: 'authenticated', maxIssuedAtSkewSeconds: 60 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The HS256 key of the project's JWT secret, imported once instead of on every verification. */
export function importJwtSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

/** Returns the verified claims of a `Bearer` HS256 token, or why it was refused. */
export async function verifyAccessToken(
  authorization: string | null,
  secret: Uint8Array | CryptoKey,
  rules: TokenRules = {},
): Promise<{ ok: true; claims: Claims } | { ok: false; failure: AuthFailure }> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) {
    return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'missing Authorization: Bearer <access token>' } };
  }
  try {
    // algorithms pins HS256: alg "none" and any asymmetric substitution are refused.
    const audience = rules.audience ?? DEFAULT_TOKEN_RULES.audience;
    const skew = rules.maxIssuedAtSkewSeconds ?? DEFAULT_TOKEN_RULES.maxIssuedAtSkewSeconds;
    const { payload } = await jwtVerify(match[1], secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'], audience });
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + skew) {
      return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'token is issued in the future; check the clock and sign in again' } };
    }
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
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') {
      return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'token is not meant for this project (audience); sign in again' } };
    }
    return { ok: false, failure: { code: 'UNAUTHORIZED', message: 'invalid access token' } };
  }
}
