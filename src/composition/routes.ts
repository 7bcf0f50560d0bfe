import Router from '@koa/router';
import { accountRoutes } from '../account/account-routes.js';
import { endSessionRoutes } from '../login/session/end-session-routes.js';
import { sessionRoutes } from '../login/session/session-routes.js';
import type { AppContextExtras, AppRouter, AppState } from '../http/context.js';
import { healthRoutes } from '../http/health-routes.js';
import { perIpPerMinute } from '../http/rate-limiter.js';
import { callbackRoutes } from '../login/callback/callback-routes.js';
import { confirmRoutes } from '../login/confirm/confirm-routes.js';
import { loginRoutes } from '../login/scan/qr-routes.js';
import { miniProgramRoutes } from '../login/miniprogram/miniprogram-routes.js';
import { oauthRoutes } from '../login/in-wechat/oauth-routes.js';
import { metricsRoutes } from '../http/metrics-routes.js';
import { simulatorRoutes } from '../simulator/simulator-routes.js';
import { tokenRoutes } from '../sharing/token-routes.js';
import { openRoutes } from '../login/open-platform/open-routes.js';
import { consoleRoutes } from '../console/console-routes.js';
import type { Infrastructure } from './infrastructure.js';
import type { Queries } from './queries.js';
import type { Services } from './services.js';

/** Step 3 of the composition: one line per route module. */
export function createRoutes(infra: Infrastructure, queries: Queries, services: Services): AppRouter {
  const { config, render, formBody } = infra;
  const { completeLogin } = services.sessionLogin;
  const router: AppRouter = new Router<AppState, AppContextExtras>();
  healthRoutes(router, {
    knex: infra.knex,
    redis: infra.redis?.publisher,
    draining: infra.hub.isDraining,
    mpVerify: config.wechat.mpVerify,
    pendingMigrations: infra.pendingMigrations,
  });
  metricsRoutes(router, { metrics: infra.metrics, token: config.metricsToken, production: config.production });
  callbackRoutes(router, { pushes: services.callbackPushes });
  loginRoutes(router, {
    render,
    ...services.ways,
    scenes: services.scenes,
    scanToLogin: services.scanToLogin,
    // open-qr is WeChat's own page, not a scene: the switch links to it.
    linkWays: services.openLogin && config.loginMethods.includes('open-qr') ? [{ name: 'open-qr', href: '/auth/wechat/open' }] : [],
    sceneStates: services.sceneStates,
    poller: services.poller,
    currentUser: services.currentUser,
    qrExpireSeconds: config.qrExpireSeconds,
    loginPollTimeoutMs: config.loginPollTimeoutMs,
    pollsHeldPerSession: config.rateLimits.pollsHeldPerSession,
    rateLimitsEnabled: config.rateLimits.enabled,
    limiter: infra.limiter,
    qrCodesPerIpPerMinute: config.rateLimits.qrCodesPerIpPerMinute,
    logger: infra.logger,
    now: infra.now,
  });
  const oauthLimit = perIpPerMinute(infra.limiter, 'oauth', config.rateLimits.oauthPerIpPerMinute);
  oauthRoutes(router, { oauthLogin: services.oauthLogin, completeLogin, limit: oauthLimit });
  services.identity.routes(router, oauthLimit);
  if (services.openLogin) openRoutes(router, { openLogin: services.openLogin, completeLogin, limit: oauthLimit });
  // Mounted whatever LOGIN_CONFIRM says: the operator console asks for a confirmed login even when logins need none.
  confirmRoutes(router, { confirmation: services.confirmation, identity: services.identity, render, formBody });
  if (services.miniProgramLogin && services.miniCodeScan) {
    const limit = perIpPerMinute(infra.limiter, 'miniprogram-login', config.rateLimits.miniProgramLoginsPerIpPerMinute);
    miniProgramRoutes(router, { miniProgramLogin: services.miniProgramLogin, miniCodeScan: services.miniCodeScan, jsonBody: formBody, limit });
  }
  accountRoutes(router, { ...services, render, loginHistory: queries.loginHistory, formBody, now: infra.now });
  sessionRoutes(router, { ...services, formBody });
  endSessionRoutes(router, { ...services, render, formBody });
  if (config.wechat.tokenClients.length > 0) {
    tokenRoutes(router, { clients: config.wechat.tokenClients, tokens: infra.accountTokens, tickets: infra.jsapiTickets, metrics: infra.metrics });
  }
  consoleRoutes(router, { consoleQueries: queries.console, outbox: queries.outbox, currentSession: services.currentSession, render, formBody, smsPriceCny: config.sms.priceCny, now: infra.now });
  services.oidc?.routes(router);
  if (services.simulatorState) simulatorRoutes(router, { config, state: services.simulatorState, render, smsInbox: infra.smsInbox, formBody, logger: infra.logger, now: infra.now });
  return router;
}
