import path from 'node:path';
import Router from '@koa/router';
import type { Knex } from 'knex';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import NodeCache from 'node-cache';
import { accountRoutes } from './account/account-routes.js';
import { miniProgramRoutes } from './account/miniprogram-routes.js';
import { createConsoleSmsSender, createSmsInbox, createWebhookSmsSender, type SmsInbox } from './account/sms-sender.js';
import { createVerificationCodes } from './account/verification-codes.js';
import type { Config } from './config.js';
import { createApiTokenQueries } from './db/api-tokens.js';
import { createLoginHistoryQueries } from './db/login-history.js';
import { createSmsCodeQueries } from './db/sms-codes.js';
import { createUserQueries } from './db/users.js';
import type { AppContextExtras, AppMiddleware, AppRouter, AppState } from './http/context.js';
import { createErrorHandler, type Logger } from './http/error-handler.js';
import { healthRoutes } from './http/health-routes.js';
import { createRequestLog } from './http/request-log.js';
import { createCallbackMetrics } from './metrics/callback-metrics.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { metricsRoutes } from './metrics/metrics-routes.js';
import { createMemoryRateLimiter } from './http/rate-limiter.js';
import { createRenderer, createViewEnvironment, languageMiddleware } from './http/render.js';
import { securityHeaders } from './http/security-headers.js';
import { createSessionMiddleware } from './http/session.js';
import { createStaticFiles } from './http/static-files.js';
import { callbackRoutes } from './login/callback-routes.js';
import { createCurrentUser } from './login/current-user.js';
import { createDeliveryDeduper, deliveryMemorySeconds } from './login/delivery-dedupe.js';
import { createLoginHub, type LoginHub } from './login/login-hub.js';
import { loginRoutes } from './login/login-routes.js';
import { oauthRoutes } from './login/oauth-routes.js';
import { createLoginService } from './login/login-service.js';
import { createScenePoller } from './login/scene-poller.js';
import { createSessionLogin } from './login/session-login.js';
import { createSceneIssuer } from './login/scenes.js';
import { createRedisClient } from './redis/redis-client.js';
import { createRedisDeliveryStore, createRedisRateLimiter } from './redis/redis-stores.js';
import { createScanRelay } from './redis/scan-relay.js';
import { simulatorRoutes } from './simulator/simulator-routes.js';
import { createSimulatorState } from './simulator/simulator-state.js';
import { createAccessTokenProvider } from './wechat/access-token.js';
import { createCallbackCodec } from './wechat/callback-codec.js';
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
  /** This instance's metrics; a fresh registry when omitted. */
  metrics?: Metrics;
  /** Mounts GET /__bench/stats (listener count, heap after GC) for `npm run bench`; never in production. */
  benchIntrospection?: boolean;
}

export interface AppHandle {
  app: Koa;
  hub: LoginHub;
  smsInbox: SmsInbox;
  metrics: Metrics;
  /** Resolves once Redis (when configured) is connected and subscribed. */
  ready(): Promise<void>;
  /** Shutting down: held polls answer `pending` at once, so scripts re-poll and reach a live instance. */
  drain(): void;
  /** Stops the timers and Redis connections the app owns; the caller closes the database. */
  close(): Promise<void>;
}

/** Builds the Koa app and wires every part once. It never listens by itself. */
export function createApp(deps: AppDeps): AppHandle {
  const { config, knex, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const app = new Koa({ keys: config.sessionKeys });
  // Behind an https reverse proxy, trust X-Forwarded-* so that secure cookies and client IPs work.
  app.proxy = config.secureCookies;

  const users = createUserQueries(knex);
  const loginHistory = createLoginHistoryQueries(knex);
  const hub = createLoginHub();
  const redis = config.redisUrl ? connectRedis(config.redisUrl, hub, logger) : undefined;
  const memoryLimiter = createMemoryRateLimiter(config.rateLimits.enabled);
  const limiter = redis ? createRedisRateLimiter(redis.publisher, memoryLimiter, config.rateLimits.enabled) : memoryLimiter;
  const scenes = createSceneIssuer(config.sessionKeys[0]);
  const tokenCache = new NodeCache({ useClones: false, checkperiod: 60 });
  const http = createWechatHttp({ apiBase: config.wechat.apiBase, timeoutMs: config.wechat.requestTimeoutMs, fetch: deps.fetch, metrics });
  const tokens = createAccessTokenProvider({
    http,
    cache: tokenCache,
    appId: config.wechat.appId,
    appSecret: config.wechat.appSecret,
    tokenApi: config.wechat.tokenApi,
    metrics,
  });
  const api = createOfficialAccountApi({ http, tokens, showQrcodeBase: config.wechat.showQrcodeBase, metrics });
  const oauth = createOauthApi({ http, appId: config.wechat.appId, appSecret: config.wechat.appSecret, openBase: config.wechat.openBase });
  const loginService = createLoginService({
    users,
    loginHistory,
    transaction: (work) => knex.transaction(work),
    announceScan: redis ? redis.relay.announce : hub.publish,
    scenes,
    fetchUnionid: async (openid) => (await api.getUserInfo(openid)).unionid,
    logger,
    metrics,
  });
  const codec = createCallbackCodec({
    token: config.wechat.token,
    appId: config.wechat.appId,
    encodingAesKey: config.wechat.encodingAesKey,
    encodingAesKeyPrevious: config.wechat.encodingAesKeyPrevious,
    timestampToleranceSeconds: config.wechat.timestampToleranceSeconds,
  });
  const deduper = createDeliveryDeduper(redis ? createRedisDeliveryStore(redis.publisher, deliveryMemorySeconds) : undefined, metrics);
  const smsInbox = createSmsInbox();
  const send =
    config.sms.provider === 'webhook' ? createWebhookSmsSender(config.sms.webhookUrl!, logger) : createConsoleSmsSender(logger, smsInbox);
  const codes = createVerificationCodes({
    queries: createSmsCodeQueries(knex),
    send,
    limiter,
    limits: config.rateLimits,
    secret: config.sessionKeys[0],
    metrics,
  });
  const poller = createScenePoller(hub, loginService, Date.now, metrics);
  const currentUser = createCurrentUser(users);
  const completeLogin = createSessionLogin(loginService);
  const render = createRenderer(createViewEnvironment(), { simulator: config.simulator });
  // Parsed per route, only where a body is expected: forms and small JSON.
  const formBody = koaBody({ urlencoded: true, json: true, multipart: false, text: false, formLimit: '16kb', jsonLimit: '16kb' });

  const router: AppRouter = new Router<AppState, AppContextExtras>();
  healthRoutes(router, { knex, redis: redis?.publisher, draining: hub.isDraining, mpVerify: config.wechat.mpVerify });
  metricsRoutes(router, { metrics, token: config.metricsToken, production: config.production });
  callbackRoutes(router, { codec, loginService, deduper, originalId: config.wechat.originalId });
  loginRoutes(router, {
    render,
    api,
    scenes,
    completeLogin,
    poller,
    currentUser,
    formBody,
    qrExpireSeconds: config.qrExpireSeconds,
    loginPollTimeoutMs: config.loginPollTimeoutMs,
    pollsHeldPerSession: config.rateLimits.pollsHeldPerSession,
    rateLimitsEnabled: config.rateLimits.enabled,
  });
  oauthRoutes(router, { oauth, users, completeLogin, render, publicUrl: config.publicUrl });
  if (config.miniProgram) {
    const miniProgramTokens = createAccessTokenProvider({
      http,
      cache: tokenCache,
      appId: config.miniProgram.appId,
      appSecret: config.miniProgram.appSecret,
      tokenApi: config.wechat.tokenApi,
      metrics,
    });
    miniProgramRoutes(router, {
      api: createMiniProgramApi({ http, tokens: miniProgramTokens, ...config.miniProgram }),
      users,
      tokens: createApiTokenQueries(knex),
      loginService,
      jsonBody: formBody,
    });
  }
  accountRoutes(router, {
    render,
    users,
    loginHistory,
    completeLogin,
    codes,
    currentUser,
    limiter,
    bindAttemptsPerIpPerHour: config.rateLimits.bindAttemptsPerIpPerHour,
    formBody,
  });
  if (deps.benchIntrospection && !config.production) {
    router.get('/__bench/stats', (ctx) => {
      (globalThis as { gc?: () => void }).gc?.();
      const memory = process.memoryUsage();
      ctx.body = { listeners: hub.listenerCount(), heapUsed: memory.heapUsed, rss: memory.rss };
    });
  }
  const simulatorState = config.simulator ? createSimulatorState({ config }) : undefined;
  if (simulatorState) simulatorRoutes(router, { config, state: simulatorState, render, smsInbox, formBody, logger });

  const use = (middleware: AppMiddleware) => app.use(middleware as Koa.Middleware);
  use(createRequestLog(logger));
  use(createErrorHandler(render, logger));
  use(createCallbackMetrics(metrics));
  use(async (ctx, next) => {
    await next();
    // While shutting down, no connection is kept alive: clients reconnect to a live instance.
    if (hub.isDraining()) ctx.set('Connection', 'close');
  });
  use(securityHeaders);
  if (config.secureCookies) {
    // PUBLIC_URL says people reach us over https, even when a proxy forgets X-Forwarded-Proto.
    use(async (ctx, next) => {
      (ctx.cookies as unknown as { secure: boolean }).secure = true;
      return next();
    });
  }
  app.use(createSessionMiddleware(app, config.secureCookies));
  use(languageMiddleware);
  use(createStaticFiles(path.resolve(__dirname, '../static')));
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    hub,
    smsInbox,
    metrics,
    ready: async () => {
      await redis?.relay.ready();
    },
    drain: () => hub.drain(),
    async close() {
      hub.close();
      poller.close();
      tokenCache.close();
      deduper.close();
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
