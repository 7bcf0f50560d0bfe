import type { IncomingMessage } from 'node:http';
import type { Knex } from 'knex';
import type nunjucks from 'nunjucks';
import type * as OidcProviderModule from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { Config } from '../config.js';
import { oidcAuthMethods } from '../config/oidc-clients.js';
import type { OidcGrantSessionQueries } from '../db/oidc-grant-sessions.js';
import type { User } from '../db/users.js';
import type { Logger } from '../logging/logger.js';
import type { Lang } from '../messages/catalogue.js';
import type { SignedIn } from '../login/session/session-store.js';
import { claimsOf, scopeClaims } from './accounts.js';
import { createKnexAdapterFactory } from './knex-adapter.js';
import { renderOidcPage } from './oidc-pages.js';
import { loadOidcSigningKeys } from './signing-keys.js';
import { randomToken } from '../security/tokens.js';

export type OidcProvider = InstanceType<typeof OidcProviderModule.Provider>;

/** What our middleware learnt about a request before handing it to the provider. */
export interface RequestInfo {
  lang: Lang;
  /** Who is signed in here (our session cookie, checked against user_sessions); looked up once, on demand. */
  signedIn(): Promise<SignedIn | undefined>;
  /** Set when this request confirmed an RP-initiated logout of that account. */
  loggedOutAccountId?: string;
}

export interface OidcProviderDeps {
  config: Config;
  knex: Knex;
  findUserById(id: number): Promise<User | undefined>;
  /** Ends one of our sessions (RP-initiated logout). */
  endSession(userId: number, sessionId: number): Promise<unknown>;
  requestInfo: WeakMap<IncomingMessage, RequestInfo>;
  /** Which of our sessions each grant was given under: a grant dies with its session. */
  grantSessions: OidcGrantSessionQueries;
  views: nunjucks.Environment;
  logger: Logger;
  now?: () => number;
}

/**
 * oidc-provider is ESM-only and this project is CommonJS: it is loaded with a
 * real dynamic import, which both tsx and tsc (module NodeNext, CommonJS
 * output) keep as `import()`. Loaded once per process.
 */
let providerModule: Promise<typeof OidcProviderModule> | undefined;
export function loadOidcProviderModule(): Promise<typeof OidcProviderModule> {
  providerModule ??= importWithoutRuntimeWarning();
  return providerModule;
}

/**
 * oidc-provider 9 prints "Unsupported runtime" to stderr on every start on
 * Node 20, outside our structured logs. This project supports Node 20.8 and
 * later (package.json engines) and its whole suite runs on Node 20; the
 * Docker image runs Node 22. So that one line, and only it, is left out
 * while the module loads; every other warning passes through.
 */
async function importWithoutRuntimeWarning(): Promise<typeof OidcProviderModule> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
    warn.apply(console, args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}

/** The path the provider is mounted at; the issuer is $PUBLIC_URL/oidc (README). */
export const oidcMountPath = '/oidc';

/**
 * Builds the OpenID Provider: our clients, storage in our database, signing
 * keys from the database, our accounts and claims, our pages. The login step
 * (the interaction) is our own QR page: see oidc.ts.
 */
export async function createOidcProvider(deps: OidcProviderDeps): Promise<OidcProvider> {
  const { config, knex, requestInfo, views, logger, grantSessions } = deps;
  const now = deps.now ?? Date.now;
  const { Provider, errors, interactionPolicy } = await loadOidcProviderModule();
  const jwks = await loadOidcSigningKeys(knex, config.keys.oidcSigningKey);
  const lifetime = config.sessions.maxLifetimeSeconds;
  const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies };
  const infoOf = (ctx: KoaContextWithOIDC): RequestInfo | undefined => requestInfo.get(ctx.req);
  const page = (ctx: KoaContextWithOIDC, template: string, data: Record<string, unknown>) => {
    ctx.type = 'html';
    const url = (ctx.req as { originalUrl?: string }).originalUrl ?? ctx.url;
    ctx.body = renderOidcPage(views, { lang: infoOf(ctx)?.lang ?? 'zh', simulator: config.simulator, url }, template, data);
  };

  // The provider's own session must never outlive ours: whenever the person is
  // not signed in here as the same user (logged out, session ended from the
  // profile page or by unfollowing), the login prompt comes back, and our
  // interaction page sends them through our login.
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('not_signed_in_here', 'End-User is not signed in at this server', 'login_required', async (ctx) => {
      if (ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const signedIn = await infoOf(ctx)?.signedIn();
      return signedIn && String(signedIn.user.id) === ctx.oidc.session?.accountId
        ? interactionPolicy.Check.NO_NEED_TO_PROMPT
        : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );

  const configuration: Configuration = {
    adapter: createKnexAdapterFactory({
      knex,
      alreadyConsumed: () => new errors.InvalidGrant('authorization code already consumed'),
    }) as unknown as Configuration['adapter'],
    clients: config.oidc.clients.map((client) => ({
      ...client,
      // A refresh token (offline_access) only for a client registered for it.
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    })),
    jwks: { keys: jwks as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: config.keys.oidcCookie,
      long: cookieOptions,
      short: cookieOptions,
      // On https the provider's session cookie (Path=/) is __Host-, like ours. The interaction cookies are scoped
      // to one interaction's path, which __Host- forbids: they are __Secure- (https only) and live 30 minutes.
      names: config.secureCookies
        ? { session: '__Host-oidc.session', interaction: '__Secure-oidc.interaction', resume: '__Secure-oidc.resume' }
        : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' },
    },
    claims: scopeClaims,
    scopes: ['openid', 'offline_access', 'phone', 'profile'],
    responseTypes: ['code'],
    // Applications such as Grafana and Auth.js read the person's claims from the ID token.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // Discovery lists only what registration accepts (config/oidc-clients.ts): no none, *_jwt or tls methods.
    clientAuthMethods: [...oidcAuthMethods],
    // A single-page app calls the token and userinfo endpoints from its own origin: that of a redirect URI it registered.
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    // Outside production an application on this machine or the local network may receive logout tokens
    // (CONTRACT.md); in production the provider's own dispatcher refuses loopback and private addresses.
    ...(config.production ? {} : { fetch: (url: string | URL | Request, init?: RequestInit) => fetch(url, { ...init, dispatcher: undefined } as RequestInit) }),
    features: {
      devInteractions: { enabled: false },
      // Sent from the outbox, for every way a session ends (backchannel-logout.ts).
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const client = ctx.oidc.client;
          page(ctx, 'oidc/logout.njk', { form, clientName: client?.clientName ?? client?.clientId ?? '' });
        },
        postLogoutSuccessSource: async (ctx) => page(ctx, 'oidc/logged-out.njk', {}),
      },
    },
    interactions: {
      url: (_ctx, interaction) => `${oidcMountPath}/interaction/${interaction.uid}`,
      policy,
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      // Long enough to scan, confirm on the phone and bind a phone number.
      Interaction: 1800,
      Session: lifetime,
      Grant: lifetime,
      RefreshToken: lifetime,
    },
    findAccount: async (_ctx, id, token) => {
      // A code or token is good only while the session of ours its grant was given under lives: logging out,
      // "end this login", revoking, unfollowing, the admin tool and idle or absolute expiry all end it.
      if (token?.grantId && !(await grantIsLive(token.grantId))) return undefined;
      const user = /^\d{1,12}$/.test(id) ? await deps.findUserById(Number(id)) : undefined;
      // A user without a phone (unfollowed since, or unbound by an operator) is nobody to applications:
      // their access tokens answer invalid_token, and their refresh tokens invalid_grant.
      if (!user?.phone) return undefined;
      return { accountId: id, claims: async () => ({ ...claimsOf(user) }) };
    },
    // Every configured client is first-party: it gets the scopes it asks for, without a consent page.
    // Each grant belongs to the session of ours it was given in: one given in an earlier session is never reused.
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || !oidc.client) return undefined;
      const signedIn = await infoOf(ctx)?.signedIn();
      const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      const found = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      // The provider's session names the person signed in here (the login check that follows refuses anyone else).
      const samePerson = signedIn !== undefined && String(signedIn.user.id) === oidc.session.accountId;
      const reusable = found && found.accountId === oidc.session.accountId && samePerson && (await grantSessions.sessionOfGrant(grantId!)) === signedIn.session.id;
      const grant = reusable ? found : new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
      const claims = Object.keys(oidc.requestParamClaims ?? {});
      if (claims.length > 0) grant.addOIDCClaims(claims);
      const savedId = await grant.save();
      if (signedIn && samePerson) {
        const clientId = oidc.client.clientId;
        // Each session of ours is a new session of the application's (the sid in its ID tokens): a late logout
        // token for an ended session never matches the one that followed it in the same browser.
        if (!reusable || !oidc.session.sidFor(clientId)) oidc.session.sidFor(clientId, randomToken(16));
        const logout = oidc.client.backchannelLogoutUri ? { clientId, accountId: oidc.session.accountId, sid: oidc.session.sidFor(clientId)! } : undefined;
        await grantSessions.tieGrant(savedId, signedIn.session.id, logout);
      }
      return grant;
    },
    renderError: async (ctx, out) => {
      // The error code and the provider's description (never a secret or a stack); the status stays the provider's.
      page(ctx, 'oidc/error.njk', { code: out.error, description: out.error_description });
    },
  };

  async function grantIsLive(grantId: string): Promise<boolean> {
    const at = now();
    return grantSessions.grantSessionIsLive(grantId, new Date(at), new Date(at - config.sessions.idleTimeoutSeconds * 1000));
  }

  const provider = new Provider(`${config.publicUrl}${oidcMountPath}`, configuration);
  provider.proxy = config.trustProxy > 0;

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const info = infoOf(ctx);
    const accountId = ctx.oidc.session?.accountId;
    if (info && accountId && ctx.oidc.params?.logout) info.loggedOutAccountId = accountId;
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => logger.error('oidc provider error', { error: error.message }));

  provider.use(async (ctx, next) => {
    // PUBLIC_URL is https: the provider's cookies are Secure, even when a proxy forgets X-Forwarded-Proto.
    if (config.secureCookies) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    await next();
    // "Yes, log me out" also ends the session here, on the server, when it is the same person's.
    const info = requestInfo.get(ctx.req);
    if (info?.loggedOutAccountId) {
      const signedIn = await info.signedIn();
      if (signedIn && String(signedIn.user.id) === info.loggedOutAccountId) {
        await deps.endSession(signedIn.user.id, signedIn.session.id);
      }
    }
  });
  return provider;
}
