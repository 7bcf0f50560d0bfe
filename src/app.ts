import path from 'node:path';
import Router from '@koa/router';
import type { Knex } from 'knex';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import NodeCache from 'node-cache';
import { accountRoutes } from './account/account-routes.js';
import { miniProgramRoutes } from './account/miniprogram-routes.js';
import { createPhoneBinding } from './account/phone-binding.js';
import { createEndSessionByLink } from './account/end-session-by-link.js';
import { endSessionRoutes } from './account/end-session-routes.js';
import { sessionRoutes } from './account/session-routes.js';
import { createConsoleSmsSender, createSmsInbox, createWebhookSmsSender, type SmsInbox } from './account/sms-sender.js';
import type { Config } from './config.js';
import { createApiTokenQueries } from './db/api-tokens.js';
import { createKnownDeviceQueries } from './db/known-devices.js';
import { createLoginSceneQueries } from './db/login-scenes.js';
import { createDatabaseNonceStore } from './db/callback-nonces.js';
import { createLoginHistoryQueries } from './db/login-history.js';
import { createSingleUseTokenQueries } from './db/single-use-tokens.js';
import { createSmsCodeQueries } from './db/sms-codes.js';
import { createUserSessionQueries } from './db/user-sessions.js';
import { createUserQueries } from './db/users.js';
import type { AppContextExtras, AppMiddleware, AppRouter, AppState } from './http/context.js';
import { createErrorHandler, type Logger } from './http/error-handler.js';
import { healthRoutes } from './http/health-routes.js';
import { createMemoryRateLimiter } from './http/rate-limiter.js';
import { createRenderer, createViewEnvironment, languageMiddleware } from './http/render.js';
import { clientIpMiddleware } from './http/client-ip.js';
import { createSecurityHeaders } from './http/security-headers.js';
import { createSessionMiddleware } from './http/session.js';
import { createStaticFiles } from './http/static-files.js';
import { callbackRoutes } from './login/callback-routes.js';
import { confirmRoutes } from './login/confirm-routes.js';
import { createCurrentSession, currentUserFrom } from './login/current-user.js';
import { createDeliveryDeduper, deliveryMemorySeconds } from './login/delivery-dedupe.js';
import { createLoginAftercare } from './login/login-aftercare.js';
import { createEndSessionLinks } from './login/end-session-links.js';
import { createWechatIdentity } from './login/wechat-identity.js';
import { createLoginConfirmation } from './login/login-confirmation.js';
import { createLoginHub, type LoginHub } from './login/login-hub.js';
import { loginRoutes } from './login/login-routes.js';
import { oauthRoutes } from './login/oauth-routes.js';
import { createLoginService } from './login/login-service.js';
import { createScenePoller } from './login/scene-poller.js';
import { createSessionLogin } from './login/session-login.js';
import { createSceneIssuer } from './login/scenes.js';
import { createUserSessions } from './login/user-sessions.js';
import { createRedisClient } from './redis/redis-client.js';
import { createRedisDeliveryStore, createRedisNonceStore, createRedisRateLimiter } from './redis/redis-stores.js';
import { createScanRelay } from './redis/scan-relay.js';
import { simulatorRoutes } from './simulator/simulator-routes.js';
import { createSimulatorState } from './simulator/simulator-state.js';
import { createOidc } from './oidc/oidc.js';
import { createAccessTokenProvider } from './wechat/access-token.js';
import { createCallbackCodec } from './wechat/callback-codec.js';
import { createReplayGuard } from './wechat/replay-guard.js';
import { createWechatHttp } from './wechat/http-client.js';
import { createMiniProgramApi } from './wechat/mini-program-api.js';
import { createOauthApi } from './wechat/oauth-api.js';
import { createOfficialAccountApi } from './wechat/official-account-api.js';

export interface AppDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
  /** Lets tests talk to a fake WeChat; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Mounts GET /__bench/stats (listener count, heap after GC) for `npm run bench`; never in production. */
  benchIntrospection?: boolean;
}

export interface AppHandle {
  app: Koa;
  hub: LoginHub;
  smsInbox: SmsInbox;
  /** Resolves once Redis (when configured) is connected and subscribed. */
  ready(): Promise<void>;
  /** Shutting down: held polls answer `pending` at once, so scripts re-poll and reach a live instance. */
  drain(): void;
  /** Stops the timers and Redis connections the app owns; the caller closes the database. */
  close(): Promise<void>;
}

const sceneSweepIntervalMs = 10 * 60 * 1000;

/** Builds the Koa app and wires every part once. It never listens by itself. */
export function createApp(deps: AppDeps): AppHandle {
  const { config, knex, logger } = deps;
  const app = new Koa({ keys: config.keys.cookie });
  // X-Forwarded-Proto is believed only behind proxies we were told of (TRUST_PROXY); the client IP is set by clientIpMiddleware.
  app.proxy = config.trustProxy > 0;

  const users = createUserQueries(knex);
  const loginHistory = createLoginHistoryQueries(knex);
  const hub = createLoginHub();
  const redis = config.redisUrl ? connectRedis(config.redisUrl, hub, logger) : undefined;
  const memoryLimiter = createMemoryRateLimiter(config.rateLimits.enabled);
  const limiter = redis ? createRedisRateLimiter(redis.publisher, memoryLimiter, config.rateLimits.enabled) : memoryLimiter;
  const scenes = createSceneIssuer(config.keys.scene);
  const apiTokens = createApiTokenQueries(knex);
  const transaction = <T>(work: (trx: Knex.Transaction) => Promise<T>) => knex.transaction(work);
  const sessions = createUserSessions({ queries: createUserSessionQueries(knex), ...config.sessions });
  const tokenCache = new NodeCache({ useClones: false, checkperiod: 60 });
  const http = createWechatHttp({ apiBase: config.wechat.apiBase, timeoutMs: config.wechat.requestTimeoutMs, fetch: deps.fetch });
  const tokens = createAccessTokenProvider({
    http,
    cache: tokenCache,
    appId: config.wechat.appId,
    appSecret: config.wechat.appSecret,
    tokenApi: config.wechat.tokenApi,
  });
  const api = createOfficialAccountApi({ http, tokens, showQrcodeBase: config.wechat.showQrcodeBase });
  const oauth = createOauthApi({ http, appId: config.wechat.appId, appSecret: config.wechat.appSecret, openBase: config.wechat.openBase });
  const announceScan = redis ? redis.relay.announce : hub.publish;
  const loginScenes = createLoginSceneQueries(knex);
  const knownDevices = createKnownDeviceQueries(knex);
  const confirmation =
    config.loginConfirm === 'off'
      ? undefined
      : createLoginConfirmation({
          mode: config.loginConfirm,
          scenes: loginScenes,
          devices: knownDevices,
          users,
          announce: announceScan,
          publicUrl: config.publicUrl,
        });
  const loginService = createLoginService({
    users,
    loginHistory,
    transaction,
    endAllAccess: async (userId, trx) => {
      await sessions.endAllSessions(userId, trx);
      await apiTokens.revokeTokensOfUser(userId, new Date(), trx);
    },
    announceScan,
    scenes,
    confirmation,
    fetchUnionid: async (openid) => (await api.getUserInfo(openid)).unionid,
    logger,
  });
  const codec = createCallbackCodec({
    token: config.wechat.token,
    appId: config.wechat.appId,
    encodingAesKey: config.wechat.encodingAesKey,
    encodingAesKeyPrevious: config.wechat.encodingAesKeyPrevious,
    timestampToleranceSeconds: config.wechat.timestampToleranceSeconds,
    replayGuard: createReplayGuard({
      store: redis ? createRedisNonceStore(redis.publisher, createDatabaseNonceStore(knex)) : createDatabaseNonceStore(knex),
      toleranceSeconds: config.wechat.timestampToleranceSeconds,
    }),
  });
  const deduper = createDeliveryDeduper(redis ? createRedisDeliveryStore(redis.publisher, deliveryMemorySeconds) : undefined);
  const smsInbox = createSmsInbox();
  const send =
    config.sms.provider === 'webhook' ? createWebhookSmsSender(config.sms.webhookUrl!, logger) : createConsoleSmsSender(logger, smsInbox);
  const endSessionLinks = createEndSessionLinks({
    keys: config.keys.link,
    publicUrl: config.publicUrl,
    lifetimeSeconds: config.sessions.maxLifetimeSeconds,
  });
  const afterSignIn = createLoginAftercare({
    devices: knownDevices,
    sendCustomText: api.sendCustomText,
    logger,
    endSessionLink: (started) => endSessionLinks.linkFor({ id: started.id, userId: started.user.id }),
  });
  const sessionLogin = createSessionLogin({ loginService, sessions, transaction, afterSignIn });
  const phoneBinding = createPhoneBinding({
    codes: createSmsCodeQueries(knex),
    users,
    sessionLogin,
    transaction,
    send,
    limiter,
    limits: config.rateLimits,
    codeKeys: config.keys.smsCode,
  });
  const poller = createScenePoller(hub, loginService);
  const currentSession = createCurrentSession(sessions);
  const currentUser = currentUserFrom(currentSession);
  const completeLogin = sessionLogin.completeLogin;
  const render = createRenderer(createViewEnvironment(), { simulator: config.simulator });
  // Parsed per route, only where a body is expected: forms and small JSON.
  const formBody = koaBody({ urlencoded: true, json: true, multipart: false, text: false, formLimit: '16kb', jsonLimit: '16kb' });
  const identity = createWechatIdentity({ oauth, render, publicUrl: config.publicUrl });

  const router: AppRouter = new Router<AppState, AppContextExtras>();
  healthRoutes(router, { knex, mpVerify: config.wechat.mpVerify });
  callbackRoutes(router, { codec, loginService, deduper, originalId: config.wechat.originalId });
  loginRoutes(router, {
    render,
    api,
    scenes,
    completeLogin,
    poller,
    confirmation,
    currentUser,
    qrExpireSeconds: config.qrExpireSeconds,
    loginPollTimeoutMs: config.loginPollTimeoutMs,
    pollsHeldPerSession: config.rateLimits.pollsHeldPerSession,
    rateLimitsEnabled: config.rateLimits.enabled,
    limiter,
    qrCodesPerIpPerMinute: config.rateLimits.qrCodesPerIpPerMinute,
    logger,
  });
  oauthRoutes(router, { oauth, users, singleUse: createSingleUseTokenQueries(knex), completeLogin, render, publicUrl: config.publicUrl });
  identity.routes(router);
  if (confirmation) confirmRoutes(router, { confirmation, identity, render, formBody });
  if (config.miniProgram) {
    const miniProgramTokens = createAccessTokenProvider({
      http,
      cache: tokenCache,
      appId: config.miniProgram.appId,
      appSecret: config.miniProgram.appSecret,
      tokenApi: config.wechat.tokenApi,
    });
    miniProgramRoutes(router, {
      api: createMiniProgramApi({ http, tokens: miniProgramTokens, ...config.miniProgram }),
      users,
      tokens: apiTokens,
      phoneBinding,
      loginService,
      jsonBody: formBody,
    });
  }
  accountRoutes(router, { render, phoneBinding, sessionLogin, currentSession, sessions, loginHistory, formBody });
  sessionRoutes(router, { currentSession, sessions, formBody });
  endSessionRoutes(router, { endSessionByLink: createEndSessionByLink({ links: endSessionLinks, users, sessions }), identity, render, formBody });
  if (deps.benchIntrospection && !config.production) {
    router.get('/__bench/stats', (ctx) => {
      (globalThis as { gc?: () => void }).gc?.();
      const memory = process.memoryUsage();
      ctx.body = { listeners: hub.listenerCount(), heapUsed: memory.heapUsed, rss: memory.rss };
    });
  }
  const simulatorState = config.simulator ? createSimulatorState({ config }) : undefined;
  if (simulatorState) simulatorRoutes(router, { config, state: simulatorState, render, smsInbox, formBody, logger });
  // The OpenID Provider at /oidc (issue 16): built in the background, awaited by ready().
  const oidc = config.oidc.enabled
    ? createOidc({ config, knex, findUserById: (id) => users.findUserById(id), sessions, currentSession, render, logger })
    : undefined;
  oidc?.routes(router);

  // What reaches Koa outside the middleware chain: a client cut off mid-request (a slow body past the
  // server's request timeout, a reset). One log line instead of Koa's stack trace on stderr.
  app.on('error', (error: Error & { code?: string }, ctx?: Koa.Context) => {
    logger.warn('request stream error', { code: error.code, error: error.message, path: ctx?.path });
  });
  const use = (middleware: AppMiddleware) => app.use(middleware as Koa.Middleware);
  use(clientIpMiddleware(config.trustProxy));
  use(createErrorHandler(render, logger));
  use(async (ctx, next) => {
    await next();
    // While shutting down, no connection is kept alive: clients reconnect to a live instance.
    if (hub.isDraining()) ctx.set('Connection', 'close');
  });
  use(
    createSecurityHeaders({
      https: config.secureCookies,
      simulatorFrames: config.simulator,
      formActionOrigins: config.oidc.clients.flatMap((client) => client.redirect_uris.map((uri) => new URL(uri).origin)),
    }),
  );
  if (config.secureCookies) {
    // PUBLIC_URL says people reach us over https, even when a proxy forgets X-Forwarded-Proto.
    use(async (ctx, next) => {
      (ctx.cookies as unknown as { secure: boolean }).secure = true;
      return next();
    });
  }
  // Ahead of our session cookie: the provider answers by itself and never touches our session.
  if (oidc) use(oidc.mount);
  app.use(createSessionMiddleware(app, { secure: config.secureCookies, maxAgeMs: config.sessions.maxLifetimeSeconds * 1000 }));
  use(languageMiddleware);
  use(createStaticFiles(path.resolve(__dirname, '../static'), ['favicon.ico']));
  app.use(router.routes());
  app.use(router.allowedMethods());

  // Scene records of long-expired QR codes are of no use to anyone.
  const sceneSweeper = setInterval(() => {
    loginScenes.deleteExpiredScenes(Date.now()).catch((error: Error) => logger.warn('could not delete old login scenes', { error: error.message }));
  }, sceneSweepIntervalMs);
  sceneSweeper.unref();

  return {
    app,
    hub,
    smsInbox,
    ready: async () => {
      await redis?.relay.ready();
      await oidc?.ready();
    },
    drain: () => hub.drain(),
    async close() {
      clearInterval(sceneSweeper);
      hub.close();
      poller.close();
      tokenCache.close();
      deduper.close();
      oidc?.close();
      await redis?.close();
    },
  };
}

/** Two connections: a subscribed Redis connection cannot send other commands. */
function connectRedis(url: string, hub: LoginHub, logger: Logger) {
  const publisher = createRedisClient(url, logger, 'publisher');
  const subscriber = createRedisClient(url, logger, 'subscriber');
  return {
    publisher,
    relay: createScanRelay(publisher, subscriber, hub, logger),
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
