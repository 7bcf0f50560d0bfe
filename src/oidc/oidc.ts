import type { IncomingMessage } from 'node:http';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { User } from '../db/users.js';
import type { AppContext, AppMiddleware, AppRouter } from '../http/context.js';
import type { Logger } from '../logging/logger.js';
import { pickLang, translator } from '../messages/catalogue.js';
import { createViewEnvironment, type Render } from '../http/render.js';
import { cookieNameFor, sessionCookieName } from '../http/cookie-session.js';
import type { CurrentSession } from '../login/session/current-user.js';
import type { SignedIn } from '../login/session/session-store.js';
import type { SessionStore } from '../login/session/session-store.js';
import type { Deliver } from '../outbox/outbox-worker.js';
import { takeOverBackchannelLogout } from './backchannel-logout.js';
import { demoAppRoutes } from './demo-app.js';
import { deleteExpiredOidcPayloads } from './knex-adapter.js';
import { createOidcGrantSessionQueries } from '../db/oidc-grant-sessions.js';
import { createOidcProvider, oidcMountPath, type OidcProvider, type RequestInfo } from './provider.js';

export interface OidcDeps {
  config: Config;
  knex: Knex;
  findUserById(id: number): Promise<User | undefined>;
  sessions: SessionStore;
  currentSession: CurrentSession;
  render: Render;
  logger: Logger;
  /** The server's clock (logins' times are written with it). */
  now: () => number;
  /** Parses form posts (the demo application's back-channel logout endpoint). */
  formBody: AppMiddleware;
  /** Caps new authorization requests per client IP: each stores an interaction of about 15 KB for 30 minutes. */
  limitAuthorization: AppMiddleware;
}

export interface Oidc {
  /** Hands /oidc/* (but our interaction page) to the provider. Mounted before the session middleware: it never touches our session. */
  mount: AppMiddleware;
  /** Our interaction page, and in simulator mode the demo application. */
  routes(router: AppRouter): void;
  /** Resolves once the provider is built (module loaded, signing keys read or created); rejects with why it could not be. */
  ready(): Promise<void>;
  /** Sends one logout token from the outbox (backchannel-logout.ts), once the provider is built. */
  deliverLogoutToken: Deliver;
  close(): void;
}

const interactionPrefix = `${oidcMountPath}/interaction/`;
const sweepIntervalMs = 10 * 60 * 1000;

/**
 * The provider answers its own responses (discovery, authorize, token,
 * userinfo, JWKS, logout): our CSP, minus `form-action`, since the provider's
 * form_post and logout forms post or redirect to the application's origin.
 */
const providerContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/**
 * The OpenID Provider at $PUBLIC_URL/oidc, built on oidc-provider (panva),
 * with our QR login as its login step. The provider is built asynchronously
 * (it is an ES module, and its keys live in the database); until it is ready
 * its requests wait for it, and `ready()` reports a failure at start.
 */
export function createOidc(deps: OidcDeps): Oidc {
  const { config, knex, logger, now } = deps;
  const requestInfo = new WeakMap<IncomingMessage, RequestInfo>();
  const providerReady = createOidcProvider({
    grantSessions: createOidcGrantSessionQueries(knex),
    config,
    knex,
    findUserById: deps.findUserById,
    endSession: deps.sessions.endSession,
    requestInfo,
    views: createViewEnvironment(),
    logger,
  });
  const logoutTokens = providerReady.then(takeOverBackchannelLogout);
  // Reported by ready(); never an unhandled rejection meanwhile.
  providerReady.catch(() => undefined);
  logoutTokens.catch(() => undefined);
  let callback: ReturnType<OidcProvider['callback']> | undefined;

  /** Our signed-in session from the cookie, read without going through koa-session (the provider answers on its own). */
  const peekSignedIn = (ctx: AppContext) => {
    let lookup: Promise<SignedIn | undefined> | undefined;
    return () => {
      lookup ??= (async () => {
        const token = sessionTokenOf(ctx, config.secureCookies);
        const found = token ? await deps.sessions.resumeSession(token) : undefined;
        // A signed-in user always has a phone; should one ever lack it, they are not signed in for applications.
        return found?.user.phone ? found : undefined;
      })();
      return lookup;
    };
  };

  const publicHost = new URL(config.publicUrl).host;
  // The origins of the registered applications: discovery and the JWKS answer cross-origin requests from them alone.
  const applicationOrigins = new Set(config.oidc.clients.flatMap((client) => client.redirect_uris.map((uri) => new URL(uri).origin)));
  const metadataPaths = new Set([`${oidcMountPath}/.well-known/openid-configuration`, `${oidcMountPath}/jwks`]);
  const mount: AppMiddleware = async (ctx, next) => {
    if (!(ctx.path === oidcMountPath || ctx.path.startsWith(`${oidcMountPath}/`)) || ctx.path.startsWith(interactionPrefix)) {
      return next();
    }
    if (ctx.path === `${oidcMountPath}/auth`) await deps.limitAuthorization(ctx, async () => undefined);
    const provider = await providerReady;
    callback ??= provider.callback();
    ctx.set('Content-Security-Policy', providerContentSecurityPolicy);
    // The provider lets any origin read these; an origin that is no application's is answered "null" (no page may read them).
    const origin = ctx.get('origin');
    if (origin && metadataPaths.has(ctx.path) && !applicationOrigins.has(origin)) ctx.set('Access-Control-Allow-Origin', 'null');
    requestInfo.set(ctx.req, {
      lang: pickLang(ctx.query.lang ?? ctx.query.ui_locales?.toString().split(' ')[0]?.slice(0, 2), undefined, ctx.get('accept-language') || undefined),
      signedIn: peekSignedIn(ctx),
    });
    // As koa-mount does: the provider sees paths below its mount point, and knows the mount point from originalUrl.
    const req = ctx.req as IncomingMessage & { originalUrl?: string };
    // The provider builds its endpoint addresses from the request's host: that must be ours (PUBLIC_URL), never the
    // client's word, or discovery behind a shared cache would point every application at someone else's host.
    req.headers.host = publicHost;
    delete req.headers['x-forwarded-host'];
    req.originalUrl = req.url;
    req.url = req.url!.slice(oidcMountPath.length) || '/';
    ctx.respond = false;
    await callback(req, ctx.res);
  };

  function routes(router: AppRouter): void {
    router.get(`${interactionPrefix}:uid`, async (ctx) => {
      const provider = await providerReady;
      const t = translator(ctx.state.lang);
      const gone = () => deps.render(ctx, 'oidc/error.njk', { t, message: t('oidcInteractionGone') }, 400);
      let details: Awaited<ReturnType<OidcProvider['interactionDetails']>>;
      try {
        // Needs the provider's interaction cookie: only the browser that started this login can continue it.
        details = await provider.interactionDetails(ctx.req, ctx.res);
      } catch {
        return gone();
      }
      if (details.uid !== ctx.params.uid) return gone();
      // Noted on the first visit, signed in or not: for prompt=login and max_age, the login made after this moment counts.
      let freshSince = (details.result as { freshLoginSince?: number } | undefined)?.freshLoginSince;
      if (details.prompt.name === 'login' && freshSince === undefined) {
        freshSince = now();
        await provider.interactionResult(ctx.req, ctx.res, { freshLoginSince: freshSince }, { mergeWithLastSubmission: false });
      }
      const signedIn = await deps.currentSession(ctx);
      const back = encodeURIComponent(`${interactionPrefix}${details.uid}`);
      if (!signedIn?.user.phone) {
        // Our own login page (QR, in-WeChat button, confirmation, binding) comes back here when done.
        return ctx.redirect(`/login?next=${back}`);
      }
      // prompt=login, or a max_age the login here is older than: the person logs in again (OIDC Core 3.1.2.1), and
      // only a login made since this request began counts; auth_time is then that login's.
      if (details.prompt.name === 'login' && needsFreshLogin(details, signedIn.session.createdAt, now(), freshSince)) return ctx.redirect(`/login?fresh=1&next=${back}`);
      const accountId = String(signedIn.user.id);
      let result: Record<string, unknown>;
      if (details.prompt.name === 'consent' && details.session?.accountId === accountId) {
        // First-party clients only: the scopes asked for are granted without a consent page.
        const grant = details.grantId
          ? (await provider.Grant.find(details.grantId))!
          : new provider.Grant({ accountId, clientId: details.params.client_id as string });
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        result = { consent: { grantId: await grant.save() } };
      } else {
        // auth_time is when the person logged in here, not now.
        result = { login: { accountId, ts: Math.floor(signedIn.session.createdAt.getTime() / 1000) } };
      }
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
      ctx.status = 303;
      ctx.redirect(returnTo);
    });
    if (config.simulator) demoAppRoutes(router, { config, render: deps.render, formBody: deps.formBody, now });
  }

  // Expired codes, tokens and sessions are never read again.
  const sweeper = setInterval(() => {
    deleteExpiredOidcPayloads(knex).catch((error: Error) => logger.warn('could not delete expired OIDC records', { error: error.message }));
  }, sweepIntervalMs);
  sweeper.unref();

  return {
    mount,
    routes,
    ready: async () => {
      await providerReady;
    },
    deliverLogoutToken: async (message) => (await logoutTokens)(message),
    close: () => clearInterval(sweeper),
  };
}

/**
 * Whether this browser must log in again for the request: prompt=login, or a
 * login older than max_age seconds, asks for a login made after the request
 * reached our interaction page (`freshSince`, unknown until then); once made,
 * that login stands, whatever max_age (0 included) says.
 */
function needsFreshLogin(details: { params: Record<string, unknown>; prompt: { reasons?: string[] } }, loggedInAt: Date, nowMs: number, freshSince: number | undefined): boolean {
  const maxAge = Number(details.params.max_age);
  const tooOld = Number.isInteger(maxAge) && maxAge >= 0 && nowMs - loggedInAt.getTime() > maxAge * 1000;
  const asked = (details.prompt.reasons ?? []).includes('login_prompt') || tooOld;
  return asked && (freshSince === undefined || loggedInAt.getTime() < freshSince);
}

/** The server-side session token inside our signed session cookie (koa-session's base64 JSON), or undefined. */
function sessionTokenOf(ctx: AppContext, secure: boolean): string | undefined {
  const raw = ctx.cookies.get(cookieNameFor(sessionCookieName, secure), { signed: true });
  if (!raw) return undefined;
  try {
    const data = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { auth?: unknown; _expire?: number };
    if (typeof data._expire === 'number' && data._expire < Date.now()) return undefined;
    return typeof data.auth === 'string' ? data.auth : undefined;
  } catch {
    return undefined;
  }
}
