import path from 'node:path';
import type { Knex } from 'knex';
import Koa from 'koa';
import type { SmsInbox } from './login/phone/sms-sender.js';
import { createInfrastructure } from './composition/infrastructure.js';
import { createQueries } from './composition/queries.js';
import { createEventLog } from './db/event-log.js';
import { createRoutes } from './composition/routes.js';
import { createServices } from './composition/services.js';
import type { Config } from './config.js';
import { clientIpMiddleware } from './http/client-ip.js';
import type { AppMiddleware } from './http/context.js';
import { closeConnectionsWhileDraining } from './http/draining.js';
import { createErrorHandler } from './http/error-handler.js';
import { type Logger } from './logging/logger.js';
import { exceptPath } from './http/except-path.js';
import { languageMiddleware } from './http/render.js';
import { createRequestLog } from './http/request-log.js';
import { secureCookiesAlways } from './http/secure-cookies.js';
import { createSecurityHeaders } from './http/security-headers.js';
import { createSessionMiddleware } from './http/cookie-session.js';
import { createStaticFiles } from './http/static-files.js';
import { callbackPath } from './login/callback/callback-routes.js';
import type { LoginHub } from './login/scan/login-hub.js';
import { createCallbackMetrics } from './http/callback-metrics.js';
import type { Metrics } from './metrics/metrics.js';

export interface AppDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
  /** This instance's metrics; a fresh registry when omitted. */
  metrics?: Metrics;
  /** The time (epoch ms) every rule reads: Date.now, or a test's clock that it moves instead of sleeping. */
  clock?: () => number;
}

export interface AppHandle {
  app: Koa;
  hub: LoginHub;
  smsInbox: SmsInbox;
  metrics: Metrics;
  /** Resolves once Redis (when configured) is connected and subscribed. */
  ready(): Promise<void>;
  /** The background jobs, run now: what a test calls after moving its clock instead of waiting for their timers. */
  jobs: {
    /** Ends the sessions that went idle or reached their lifetime (`expired`). */
    endExpiredSessions(): Promise<number>;
    /** Sends what is due in the outbox, and waits until each send is done. */
    sendOutbox(): Promise<void>;
    /** Writes what follows the logins so far: their known browsers and last login times (written after each login's answer, a few at a time). */
    writeAfterLogins(): Promise<void>;
  };
  /** Shutting down: held polls answer `pending` at once, so scripts re-poll and reach a live instance. */
  drain(): void;
  /** Stops the timers and Redis connections the app owns; the caller closes the database. */
  close(): Promise<void>;
}

const sceneSweepIntervalMs = 10 * 60 * 1000;
const dayMs = 24 * 60 * 60 * 1000;
/** How soon an idle or worn-out session's end is told to the applications (it is refused to requests at once). */
const sessionSweepIntervalMs = 60 * 1000;

/**
 * Builds the Koa app, wiring every part once, in named steps: infrastructure,
 * queries, services (the libraries), routes, then the middleware in order.
 * It never listens by itself.
 */
export function createApp(deps: AppDeps): AppHandle {
  const { config, logger } = deps;
  const infra = createInfrastructure(deps);
  const queries = createQueries(deps.knex, createEventLog(config.webhooks));
  const services = createServices(infra, queries);
  const router = createRoutes(infra, queries, services);

  const app = new Koa({ keys: config.keys.cookie });
  // X-Forwarded-Proto is believed only behind proxies we were told of (TRUST_PROXY); the client IP is set by clientIpMiddleware.
  app.proxy = config.trustProxy > 0;
  // What reaches Koa outside the middleware chain: a client cut off mid-request (a slow body past the
  // server's request timeout, a reset). One log line instead of Koa's stack trace on stderr.
  app.on('error', (error: Error & { code?: string }, ctx?: Koa.Context) => {
    logger.warn('request stream error', { code: error.code, error: error.message, path: ctx?.path });
  });
  const use = (middleware: AppMiddleware) => app.use(middleware as Koa.Middleware);
  use(clientIpMiddleware(config.trustProxy));
  use(createRequestLog(logger));
  use(createErrorHandler(infra.render, logger));
  use(createCallbackMetrics(infra.metrics, callbackPath));
  use(closeConnectionsWhileDraining(infra.hub.isDraining));
  use(
    createSecurityHeaders({
      https: config.secureCookies,
      simulatorFrames: config.simulator,
      // Forms that end in a redirect to an OpenID application (phone binding, say) must be allowed to get there.
      formActionOrigins: config.oidc.clients.flatMap((client) => client.redirect_uris.map((uri) => new URL(uri).origin)),
      imageOrigins: config.wechat.accountQrUrl ? [new URL(config.wechat.accountQrUrl).origin] : [],
    }),
  );
  if (config.secureCookies) use(secureCookiesAlways);
  // Ahead of our session cookie: the provider answers by itself and never touches our session.
  if (services.oidc) use(services.oidc.mount);
  // WeChat's callback (the hot path under load) needs no cookie session, no page language and no files.
  const browserOnly = (middleware: AppMiddleware) => use(exceptPath(callbackPath, middleware));
  browserOnly(createSessionMiddleware(app, { secure: config.secureCookies, maxAgeMs: config.sessions.maxLifetimeSeconds * 1000 }) as AppMiddleware);
  browserOnly(languageMiddleware);
  browserOnly(createStaticFiles(path.resolve(__dirname, '../static'), ['favicon.ico']));
  app.use(router.routes());
  app.use(router.allowedMethods());

  // Scene records of long-expired QR codes are of no use to anyone.
  const sceneSweeper = setInterval(() => {
    queries.loginScenes.deleteExpiredScenes(infra.now()).catch((error: Error) => logger.warn('could not delete old login scenes', { error: error.message }));
    // Sent messages are kept a week (to look into), given-up ones a month (npm run admin -- webhooks lists them).
    const at = infra.now();
    queries.outbox.deleteFinished(at - 7 * dayMs, at - 30 * dayMs).catch((error: Error) => logger.warn('could not delete old outbox messages', { error: error.message }));
    queries.smsCodes.deleteRefusalsBefore(new Date(at - 15 * dayMs)).catch((error: Error) => logger.warn('could not delete old SMS refusals', { error: error.message }));
  }, sceneSweepIntervalMs);
  sceneSweeper.unref();
  const sessionSweeper = setInterval(() => {
    services.sessions.endExpiredSessions().catch((error: Error) => logger.warn('could not end expired sessions', { error: error.message }));
  }, sessionSweepIntervalMs);
  sessionSweeper.unref();
  services.outbox.start();

  return {
    app,
    hub: infra.hub,
    smsInbox: infra.smsInbox,
    metrics: infra.metrics,
    ready: async () => {
      await infra.redis?.relay.ready();
      await services.oidc?.ready();
    },
    jobs: {
      endExpiredSessions: () => services.sessions.endExpiredSessions(),
      sendOutbox: () => services.outbox.runOnce(),
      writeAfterLogins: () => services.afterLoginWrites(),
    },
    drain: () => infra.hub.drain(),
    async close() {
      clearInterval(sceneSweeper);
      clearInterval(sessionSweeper);
      await services.outbox.close();
      infra.hub.close();
      services.poller.close();
      services.deduper.close();
      services.oidc?.close();
      // Unionids still being fetched for new users, and what follows the last logins, are stored before the database closes.
      await services.unionidBackfill.settled();
      await services.afterLoginWrites();
      await infra.close();
    },
  };
}
