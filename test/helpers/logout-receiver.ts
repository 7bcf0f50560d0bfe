import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Teardown } from './server.js';

/**
 * An application's back-channel logout endpoint on loopback: it keeps every
 * `logout_token` POSTed to it and answers `status` (200, or a failure that
 * the provider must retry).
 */
export async function startLogoutReceiver(t: Teardown) {
  const received: string[] = [];
  const state = { status: 200 };
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const token = request.method === 'POST' && request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body).get('logout_token') : null;
      if (token) received.push(token);
      response.writeHead(token ? state.status : 400).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`, received, state };
}

/**
 * What an application must check of a logout token (OpenID Connect
 * Back-Channel Logout 1.0, 2.6), done with jose against the provider's
 * published JWKS: signature, iss, aud, iat, typ, the logout event, sub or
 * sid, and no nonce. Returns the claims; throws on any failure.
 */
export async function verifyLogoutToken(token: string, issuer: string, clientId: string): Promise<JWTPayload & { sid?: string; events?: Record<string, unknown> }> {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const { payload } = await jwtVerify(token, jwks, { issuer, audience: clientId, typ: 'logout+jwt', requiredClaims: ['iat', 'jti'] });
  const events = payload.events as Record<string, unknown> | undefined;
  if (!events || typeof events['http://schemas.openid.net/event/backchannel-logout'] !== 'object') throw new Error('no back-channel logout event');
  if (!payload.sub && !payload.sid) throw new Error('neither sub nor sid');
  if ('nonce' in payload) throw new Error('a logout token must not carry a nonce');
  return payload as JWTPayload & { sid?: string; events?: Record<string, unknown> };
}
