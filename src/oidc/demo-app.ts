import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { translator } from '../messages/catalogue.js';
import type { Config } from '../config.js';
import type { AppContext, AppMiddleware, AppRouter } from '../http/context.js';
import { formOf } from '../http/form.js';
import type { Render } from '../http/render.js';
import { demoClient } from '../config/oidc-clients.js';
import { verifyIdToken, verifyLogoutToken, type Claims } from './demo-tokens.js';
import { oidcMountPath } from './provider.js';

export interface DemoAppDeps {
  config: Config;
  render: Render;
  formBody: AppMiddleware;
  now?: () => number;
}

const base = '/simulator/demo-app';
/** The demo's own cookies, as a separate application would have: our session is renewed at login and would lose them. */
const stateCookie = 'wl.demo';
const sessionCookie = 'wl.demo.session';
const stateLifetimeMs = 30 * 60 * 1000;
/** The demo keeps its sessions in memory; the oldest go first past this many. */
const mostSessions = 1000;
/** The "at most this old" button's max_age. */
const demoMaxAgeSeconds = 30;

interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  expiresAt: number;
}

/** One signed-in session of the demo application. */
interface DemoSession {
  claims: Claims;
  idToken: string;
  /** Set when a logout token for its sid arrived over the back channel. */
  endedAt?: number;
}

/**
 * A small relying party, in simulator mode only, so that `npm start` shows the
 * whole OpenID Connect flow: "Log in" sends the browser to our provider
 * (authorization code + PKCE), the callback redeems the code over HTTP like
 * any application would, verifies the ID token against the JWKS, and keeps a
 * session of its own. From there it asks for a fresh login (`prompt=login`,
 * `max_age`), and its back-channel logout endpoint ends its session when the
 * person's session here ends, however it ends. Hand-written on purpose, so
 * that a reader sees each step; the tests drive the provider with
 * openid-client, jose and oidc-client-ts instead.
 */
export function demoAppRoutes(router: AppRouter, deps: DemoAppDeps): void {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const issuer = `${config.publicUrl}${oidcMountPath}`;
  const client = config.oidc.clients.find((candidate) => candidate.client_id === demoClient(config.publicUrl).client_id)!;
  const redirectUri = client.redirect_uris[0];
  const sessions = new Map<string, DemoSession>();
  const page = (ctx: AppContext, data: Record<string, unknown>, status = 200) =>
    deps.render(ctx, 'oidc/demo-app.njk', { t: translator(ctx.state.lang), clientId: client.client_id, maxAge: demoMaxAgeSeconds, ...data }, status);

  router.get(base, (ctx) => {
    const id = ctx.cookies.get(sessionCookie, { signed: true });
    const session = id ? sessions.get(id) : undefined;
    if (!session) return page(ctx, {});
    if (session.endedAt !== undefined) {
      // Told over the back channel: this application's session is over too.
      sessions.delete(id!);
      ctx.cookies.set(sessionCookie, null, { path: base });
      return page(ctx, { endedAt: new Date(session.endedAt).toISOString() });
    }
    const logout = new URLSearchParams({ id_token_hint: session.idToken, post_logout_redirect_uri: client.post_logout_redirect_uris[0], client_id: client.client_id });
    page(ctx, {
      claims: Object.entries(session.claims).map(([name, value]) => ({ name, value: describe(name, value) })),
      logoutHref: `${issuer}/session/end?${logout}`,
    });
  });

  // ?prompt=login or ?max_age=N: the provider makes the person log in again, and auth_time says when they did.
  router.get(`${base}/login`, (ctx) => {
    const pending: PendingLogin = {
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      verifier: randomBytes(32).toString('base64url'),
      expiresAt: now() + stateLifetimeMs,
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
    if (ctx.query.prompt === 'login') query.set('prompt', 'login');
    if (typeof ctx.query.max_age === 'string' && /^\d{1,6}$/.test(ctx.query.max_age)) query.set('max_age', ctx.query.max_age);
    ctx.redirect(`${issuer}/auth?${query}`);
  });

  router.get(`${base}/callback`, async (ctx) => {
    const pending = readPending(ctx, now());
    ctx.cookies.set(stateCookie, null, { path: base });
    const fail = (reason: string) => page(ctx, { failure: reason }, 400);
    const { code, state, error } = ctx.query;
    if (typeof error === 'string') return fail(error);
    if (!pending || typeof state !== 'string' || !sameText(state, pending.state)) return fail('state mismatch (start the login again)');
    if (typeof code !== 'string') return fail('no code');
    try {
      const idToken = await redeem(code, pending.verifier);
      const claims = await verifyIdToken(idToken, issuer, client.client_id, pending.nonce);
      const id = randomBytes(16).toString('base64url');
      if (sessions.size >= mostSessions) sessions.delete(sessions.keys().next().value!);
      sessions.set(id, { claims, idToken });
      ctx.cookies.set(sessionCookie, id, { signed: true, httpOnly: true, sameSite: 'lax', path: base });
      ctx.status = 303;
      ctx.redirect(base);
    } catch (failure) {
      fail((failure as Error).message);
    }
  });

  // The provider POSTs a logout token here when the person's session on this server ends (client.backchannel_logout_uri).
  router.post(`${base}/backchannel-logout`, deps.formBody, async (ctx) => {
    const token = formOf(ctx).logout_token;
    try {
      if (typeof token !== 'string') throw new Error('no logout_token');
      const { sid } = await verifyLogoutToken(token, issuer, client.client_id);
      for (const session of sessions.values()) if (session.claims.sid === sid) session.endedAt ??= now();
      ctx.status = 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '';
    } catch (failure) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: (failure as Error).message };
    }
  });

  /** The token request, authenticated with client_secret_basic. */
  async function redeem(code: string, verifier: string): Promise<string> {
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`).toString('base64');
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
}

function readPending(ctx: AppContext, at: number): PendingLogin | undefined {
  const raw = ctx.cookies.get(stateCookie, { signed: true });
  if (!raw) return undefined;
  try {
    const pending = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PendingLogin;
    return pending.expiresAt > at ? pending : undefined;
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
