import { translator } from '../messages/catalogue.js';
import { createHash, createPublicKey, randomBytes, timingSafeEqual, verify, type JsonWebKey } from 'node:crypto';
import type { Config } from '../config.js';
import type { AppContext, AppRouter } from '../http/context.js';
import type { Render } from '../http/render.js';
import { demoClient } from '../config/oidc-clients.js';
import { oidcMountPath } from './provider.js';

export interface DemoAppDeps {
  config: Config;
  render: Render;
}

const base = '/simulator/demo-app';
/** The demo's own cookie, as a separate application would have: our session is renewed at login and would lose it. */
const stateCookie = 'wl.demo';
const stateLifetimeMs = 30 * 60 * 1000;

interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  expiresAt: number;
}

type Claims = Record<string, unknown>;

/**
 * A small relying party, in simulator mode only, so that `npm start` shows the
 * whole OpenID Connect flow: "Log in" sends the browser to our provider
 * (authorization code + PKCE), the callback redeems the code over HTTP like
 * any application would, verifies the ID token against the JWKS, and shows
 * its claims. Hand-written on purpose (a few dozen lines), so that a reader
 * sees each step; the tests drive the provider with openid-client instead.
 */
export function demoAppRoutes(router: AppRouter, deps: DemoAppDeps): void {
  const { config } = deps;
  const issuer = `${config.publicUrl}${oidcMountPath}`;
  const client = config.oidc.clients.find((candidate) => candidate.client_id === demoClient(config.publicUrl).client_id)!;
  const redirectUri = client.redirect_uris[0];
  const page = (ctx: AppContext, data: Record<string, unknown>, status = 200) =>
    deps.render(ctx, 'oidc/demo-app.njk', { t: translator(ctx.state.lang), clientId: client.client_id, ...data }, status);

  router.get(base, (ctx) => page(ctx, {}));

  router.get(`${base}/login`, (ctx) => {
    const pending: PendingLogin = {
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      verifier: randomBytes(32).toString('base64url'),
      expiresAt: Date.now() + stateLifetimeMs,
    };
    ctx.cookies.set(stateCookie, Buffer.from(JSON.stringify(pending)).toString('base64url'), {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      path: base,
      maxAge: stateLifetimeMs,
    });
    const query = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid phone profile',
      redirect_uri: redirectUri,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    ctx.redirect(`${issuer}/auth?${query}`);
  });

  router.get(`${base}/callback`, async (ctx) => {
    const pending = readPending(ctx);
    ctx.cookies.set(stateCookie, null, { path: base });
    const fail = (reason: string) => page(ctx, { failure: reason }, 400);
    const { code, state, error } = ctx.query;
    if (typeof error === 'string') return fail(error);
    if (!pending || typeof state !== 'string' || !sameText(state, pending.state)) return fail('state mismatch (start the login again)');
    if (typeof code !== 'string') return fail('no code');
    try {
      const idToken = await redeem(code, pending.verifier);
      const claims = await verifyIdToken(idToken, pending.nonce);
      const logout = new URLSearchParams({
        id_token_hint: idToken,
        post_logout_redirect_uri: client.post_logout_redirect_uris[0],
        client_id: client.client_id,
      });
      page(ctx, { claims: Object.entries(claims).map(([name, value]) => ({ name, value: describe(name, value) })), logoutHref: `${issuer}/session/end?${logout}` });
    } catch (failure) {
      fail((failure as Error).message);
    }
  });

  /** The token request, authenticated with client_secret_basic. */
  async function redeem(code: string, verifier: string): Promise<string> {
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? "")}`).toString('base64');
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { id_token?: string; error?: string };
    if (!response.ok || !body.id_token) throw new Error(`token endpoint: ${body.error ?? response.status}`);
    return body.id_token;
  }

  /** RS256 signature against the published JWKS, then iss, aud, nonce and expiry. */
  async function verifyIdToken(idToken: string, nonce: string): Promise<Claims> {
    const [headerPart, payloadPart, signaturePart] = idToken.split('.');
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
    if (header.alg !== 'RS256') throw new Error('unexpected ID token algorithm');
    const jwks = (await (await fetch(`${issuer}/jwks`, { signal: AbortSignal.timeout(5000) })).json()) as { keys: (JsonWebKey & { kid?: string })[] };
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) throw new Error('ID token signed by an unknown key');
    const signed = verify('RSA-SHA256', Buffer.from(`${headerPart}.${payloadPart}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signaturePart, 'base64url'));
    if (!signed) throw new Error('bad ID token signature');
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Claims;
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== issuer) throw new Error('ID token from another issuer');
    if (!audience.includes(client.client_id)) throw new Error('ID token for another client');
    if (claims.nonce !== nonce) throw new Error('ID token nonce mismatch');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw new Error('ID token expired');
    return claims;
  }
}

function readPending(ctx: AppContext): PendingLogin | undefined {
  const raw = ctx.cookies.get(stateCookie, { signed: true });
  if (!raw) return undefined;
  try {
    const pending = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PendingLogin;
    return pending.expiresAt > Date.now() ? pending : undefined;
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Times as ISO, everything else as JSON. */
function describe(name: string, value: unknown): string {
  if (['exp', 'iat', 'auth_time'].includes(name) && typeof value === 'number') return `${value} (${new Date(value * 1000).toISOString()})`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
