import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';

export type Claims = Record<string, unknown>;

const backchannelLogoutEvent = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * The demo application's token checks, written out step by step so that a
 * reader sees what an application must verify (tests use jose and
 * openid-client instead): an RS256 signature by a key of the published JWKS,
 * the issuer and the audience.
 */
export async function verifySignedToken(token: string, issuer: string, clientId: string, expectedType?: string): Promise<Claims> {
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  if (!headerPart || !payloadPart || !signaturePart) throw new Error('not a signed token');
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg?: string; kid?: string; typ?: string };
  if (header.alg !== 'RS256') throw new Error('unexpected token algorithm');
  if (expectedType && header.typ !== expectedType) throw new Error(`not a ${expectedType}`);
  const jwks = (await (await fetch(`${issuer}/jwks`, { signal: AbortSignal.timeout(5000) })).json()) as { keys: (JsonWebKey & { kid?: string })[] };
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) throw new Error('token signed by an unknown key');
  const signed = verify('RSA-SHA256', Buffer.from(`${headerPart}.${payloadPart}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signaturePart, 'base64url'));
  if (!signed) throw new Error('bad token signature');
  const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Claims;
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== issuer) throw new Error('token from another issuer');
  if (!audience.includes(clientId)) throw new Error('token for another client');
  return claims;
}

/** An ID token: signed, ours, for us, with our nonce, not expired. */
export async function verifyIdToken(idToken: string, issuer: string, clientId: string, nonce: string): Promise<Claims> {
  const claims = await verifySignedToken(idToken, issuer, clientId);
  if (claims.nonce !== nonce) throw new Error('ID token nonce mismatch');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw new Error('ID token expired');
  return claims;
}

/**
 * A logout token (OpenID Connect Back-Channel Logout 1.0, 2.6): signed, ours,
 * for us, typed logout+jwt, with the logout event and a sid, and no nonce.
 */
export async function verifyLogoutToken(logoutToken: string, issuer: string, clientId: string): Promise<{ sid: string; sub?: string }> {
  const claims = await verifySignedToken(logoutToken, issuer, clientId, 'logout+jwt');
  const events = claims.events as Record<string, unknown> | undefined;
  if (typeof events?.[backchannelLogoutEvent] !== 'object') throw new Error('no back-channel logout event');
  if ('nonce' in claims) throw new Error('a logout token carries no nonce');
  if (typeof claims.sid !== 'string') throw new Error('no sid (the demo client requires one)');
  return { sid: claims.sid, sub: typeof claims.sub === 'string' ? claims.sub : undefined };
}
