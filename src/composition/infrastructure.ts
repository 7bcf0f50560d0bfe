import { createPendingMigrations } from '../db/pending-migrations.js';
import { inTransaction } from '../db/transaction.js';
import type { Knex } from 'knex';
import { koaBody } from 'koa-body';
import NodeCache from 'node-cache';
import { createConsoleSmsSender, createSmsInbox, createWebhookSmsSender } from '../login/phone/sms-sender.js';
import type { Config } from '../config.js';
import type { Logger } from '../logging/logger.js';
import { createMemoryRateLimiter } from '../http/rate-limiter.js';
import { createRenderer, createViewEnvironment } from '../http/render.js';
import { createLoginHub, type LoginHub } from '../login/scan/login-hub.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { createRedisClient } from '../redis/redis-client.js';
import { createRedisRateLimiter } from '../redis/redis-stores.js';
import { createScanRelay } from '../redis/scan-relay.js';
import { createAccessTokenProvider } from '../wechat/access-token.js';
import { createWechatHttp } from '../wechat/http-client.js';
import { createOauthApi } from '../wechat/oauth-api.js';
import { createOfficialAccountApi } from '../wechat/official-account-api.js';
import { createJsapiTicketProvider } from '../wechat/jsapi-ticket.js';

export interface InfrastructureDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
  metrics?: Metrics;
  /** The time (epoch ms) for every rule that reads it; tests pass their own and move it instead of sleeping. */
  clock?: () => number;
}

/**
 * Step 0 of the composition: what talks to the outside (Redis, WeChat, SMS),
 * the in-process hub, limits, metrics and page rendering. Nothing here knows
 * about logins.
 */
export function createInfrastructure(deps: InfrastructureDeps) {
  const { config, knex, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const now = deps.clock ?? Date.now;
  const hub = createLoginHub(now);
  const redis = config.redisUrl ? connectRedis(config.redisUrl, hub, logger) : undefined;
  const memoryLimiter = createMemoryRateLimiter(config.rateLimits.enabled, now);
  const tokenCache = new NodeCache({ useClones: false, checkperiod: 60 });
  const http = createWechatHttp({ apiBase: config.wechat.apiBase, timeoutMs: config.wechat.requestTimeoutMs, metrics, logger });
  const tokensFor = (app: { appId: string; appSecret: string }) =>
    createAccessTokenProvider({ http, cache: tokenCache, appId: app.appId, appSecret: app.appSecret, tokenApi: config.wechat.tokenApi, metrics });
  // The account's one access_token: the login's API calls and the business's services (sharing/token-routes.ts) share it.
  const accountTokens = tokensFor(config.wechat);
  const smsInbox = createSmsInbox();
  return {
    config,
    knex,
    logger,
    /** The app's one clock (epoch ms). */
    now,
    /** The same clock as a Date, for the queries that store times. */
    nowDate: () => new Date(now()),
    metrics,
    hub,
    redis,
    limiter: redis ? createRedisRateLimiter(redis.publisher, memoryLimiter, config.rateLimits.enabled) : memoryLimiter,
    /** Wakes the polls waiting for a scene: here, and on the other instances through Redis. */
    announceScan: redis ? redis.relay.announce : hub.publish,
    transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => inTransaction(knex, work),
    /** What the database still lacks of this build's schema: readiness fails while anything does. */
    pendingMigrations: createPendingMigrations(knex),
    http,
    tokensFor,
    accountTokens,
    jsapiTickets: createJsapiTicketProvider({ http, tokens: accountTokens, cache: tokenCache, appId: config.wechat.appId, now }),
    api: createOfficialAccountApi({ http, tokens: accountTokens, metrics }),
    oauth: createOauthApi({ http, appId: config.wechat.appId, appSecret: config.wechat.appSecret, openBase: config.wechat.openBase }),
    smsInbox,
    sendSms: config.sms.provider === 'webhook' ? createWebhookSmsSender(config.sms.webhookUrl!, logger) : createConsoleSmsSender(logger, smsInbox),
    render: createRenderer(createViewEnvironment(), { simulator: config.simulator }),
    // Parsed per route, only where a body is expected: forms and small JSON.
    formBody: koaBody({ urlencoded: true, json: true, multipart: false, text: false, formLimit: '16kb', jsonLimit: '16kb' }),
    async close() {
      tokenCache.close();
      await redis?.close();
    },
  };
}

export type Infrastructure = ReturnType<typeof createInfrastructure>;

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
