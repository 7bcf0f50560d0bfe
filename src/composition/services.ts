import { createEndSessionByLink } from '../login/session/end-session-by-link.js';
import { createPhoneBinding } from '../login/phone/phone-binding.js';
import { createCallbackPushes } from '../login/callback/callback-pushes.js';
import { createCurrentSession, currentUserFrom } from '../login/session/current-user.js';
import { createDeliveryDeduper, deliveryMemorySeconds } from '../login/callback/delivery-dedupe.js';
import { createEndSessionLinks } from '../login/session/end-session-links.js';
import { createLoginAftercare } from '../login/session/login-aftercare.js';
import { createDeviceMemory, deviceMemoryWindowMs } from '../login/session/device-memory.js';
import { createBatchedWrites } from '../db/batched-writes.js';
import { createLoginConfirmation } from '../login/confirm/login-confirmation.js';
import { createWechatEvents } from '../login/callback/wechat-events.js';
import { createScanRecording } from '../login/scan/scan-recording.js';
import { createScanToLogin } from '../login/scan/scan-to-login.js';
import { createSceneStates } from '../login/scan/scene-states.js';
import { createLoginRecord } from '../login/session/login-record.js';
import { createOaCodeWay } from '../login/ways/oa-code.js';
import { createOaQrWay } from '../login/ways/oa-qr.js';
import type { LoginWay } from '../login/ways/login-way.js';
import { createMiniProgramCodeWay } from '../login/ways/miniprogram-code.js';
import { createMiniCodeScan } from '../login/miniprogram/mini-code-scan.js';
import { createForwarder } from '../sharing/forwarder.js';
import { createOpenLogin } from '../login/open-platform/open-login.js';
import { createOauthApi } from '../wechat/oauth-api.js';
import { createMiniProgramLogin } from '../login/miniprogram/miniprogram-login.js';
import { createOauthLogin } from '../login/in-wechat/oauth-login.js';
import { perIpPerMinute } from '../http/rate-limiter.js';
import { createOidc } from '../oidc/oidc.js';
import { backchannelLogoutChannel } from '../db/session-endings.js';
import { createOutboxWorker } from '../outbox/outbox-worker.js';
import { createWebhookSender } from '../outbox/webhook-sender.js';
import { webhookChannel } from '../db/event-log.js';
import { createScenePoller } from '../login/scan/scene-poller.js';
import { createSceneIssuer } from '../login/scan/scene-issuer.js';
import { createSessionLogin } from '../login/session/session-login.js';
import { createUnionidBackfill } from '../login/identity/unionid-backfill.js';
import { createUnionidBatchLookup, createUnionidLookup } from '../login/identity/unionid-lookup.js';
import { createUserIdentity } from '../login/identity/user-identity.js';
import { createSessionStore } from '../login/session/session-store.js';
import { createWechatIdentity } from '../login/identity/wechat-identity.js';
import { createRedisDeliveryStore, createRedisNonceStore } from '../redis/redis-stores.js';
import { createSimulatorState } from '../simulator/simulator-state.js';
import { createCallbackCodec } from '../wechat/callback-codec.js';
import { createMiniProgramApi } from '../wechat/mini-program-api.js';
import { maxUserInfoBatch } from '../wechat/constants.js';
import { createReplayGuard } from '../wechat/replay-guard.js';
import type { Infrastructure } from './infrastructure.js';
import type { Queries } from './queries.js';

/** How long a new user's openid waits for others to share its user/info/batchget call; after the browser was woken, so nobody waits for it. */
const unionidBackfillWindowMs = 50;

/** Step 2 of the composition: the libraries (the product's rules), each given what it needs. */
export function createServices(infra: Infrastructure, queries: Queries) {
  const { config, metrics, logger, transaction, announceScan, api, oauth, redis, now, nowDate } = infra;
  const { users, apiTokens, knownDevices } = queries;

  const scenes = createSceneIssuer(config.keys.scene);
  const userIdentity = createUserIdentity({ users, transaction, now: nowDate });
  const unionidLookup = createUnionidLookup(async (openid) => (await api.getUserInfo(openid)).unionid, logger);
  const unionidBackfill = createUnionidBackfill({
    unionidsOf: createUnionidBatchLookup(api.getUserInfos, unionidLookup),
    store: (unionids) => users.setUnionidsIfMissing(unionids, nowDate()),
    maxBatch: maxUserInfoBatch,
    windowMs: unionidBackfillWindowMs,
    logger,
  });
  const deviceMemory = createDeviceMemory({ queries: knownDevices, logger, now });
  const sessions = createSessionStore({ queries: queries.userSessions, devices: knownDevices, devicesRemembered: deviceMemory.settledForUser, ...config.sessions, logger, now });
  const confirmation = createLoginConfirmation({
    mode: config.loginConfirm,
    scenes: queries.loginScenes,
    devices: deviceMemory,
    users,
    announce: announceScan,
    publicUrl: config.publicUrl,
    metrics,
    logger,
    now,
  });
  const sceneStates = createSceneStates({ scenes: queries.loginScenes, confirmation, pendingBrowsers: deviceMemory.pendingBrowsers, now });
  // users.last_login_time, kept for those who read the table (CONTRACT.md), written after the logins' answers.
  const lastLogins = createBatchedWrites<number>({ write: (ids) => users.setLastLoginFromHistory([...new Set(ids)]), windowMs: deviceMemoryWindowMs, logger, what: 'last login times' });
  const loginRecord = createLoginRecord({ loginHistory: queries.loginHistory, transaction, events: queries.events, lastLoginChanged: lastLogins.add, metrics, now: nowDate });
  const nonceStore = redis ? createRedisNonceStore(redis.publisher, queries.callbackNonces) : queries.callbackNonces;
  const codec = createCallbackCodec({
    token: config.wechat.token,
    appId: config.wechat.appId,
    encodingAesKey: config.wechat.encodingAesKey,
    encodingAesKeyPrevious: config.wechat.encodingAesKeyPrevious,
    timestampToleranceSeconds: config.wechat.timestampToleranceSeconds,
    now,
    originalId: config.wechat.originalId,
    replayGuard: createReplayGuard({ store: nonceStore, toleranceSeconds: config.wechat.timestampToleranceSeconds, now }),
  });
  const deduper = createDeliveryDeduper(redis ? createRedisDeliveryStore(redis.publisher, deliveryMemorySeconds) : undefined, metrics);
  const endSessionLinks = createEndSessionLinks({
    keys: config.keys.link,
    publicUrl: config.publicUrl,
    lifetimeSeconds: config.sessions.maxLifetimeSeconds,
    now,
  });
  const afterSignIn = createLoginAftercare({
    devices: deviceMemory,
    sendCustomText: api.sendCustomText,
    logger,
    endSessionLink: (started) => endSessionLinks.linkFor({ id: started.id, userId: started.user.id }),
    now,
  });
  const sessionLogin = createSessionLogin({ loginRecord, sessions, afterSignIn, logger, now });
  const scanToLogin = createScanToLogin({
    scenes,
    sceneStates,
    scans: createScanRecording({
      users,
      unionidOf: async (openid) => unionidLookup(openid),
      // With another app (a mini-program, a website application), a newcomer's unionid tells whether it knows them already.
      linkBeforeRecording: Boolean(config.miniProgram || config.openApp),
      now: nowDate,
    }),
    announceScan,
    unionidBackfill,
    completeLogin: sessionLogin.completeLogin,
    limiter: infra.limiter,
    codesPerUserPerHour: config.rateLimits.loginCodesPerUserPerHour,
    siteName: new URL(config.publicUrl).host,
    logger,
    metrics,
    now,
  });
  const events = createWechatEvents({
    users,
    identity: userIdentity,
    scanToLogin,
    transaction,
    endAllAccess: async (userId, trx) => {
      await sessions.endAllSessions(userId, trx);
      await apiTokens.revokeTokensOfUser(userId, nowDate(), trx);
    },
    fetchUnionid: unionidLookup,
    forwarding: Boolean(config.wechat.forward),
    now: nowDate,
  });
  const forwarder =
    config.wechat.forward &&
    createForwarder({ ...config.wechat.forward, appId: config.wechat.appId, accountId: config.wechat.originalId ?? '', metrics, logger, now });
  const phoneBinding = createPhoneBinding({
    codes: queries.smsCodes,
    users,
    sessionLogin,
    transaction,
    send: infra.sendSms,
    limiter: infra.limiter,
    limits: config.rateLimits,
    codeKeys: config.keys.smsCode,
    metrics,
    logger,
    now: nowDate,
  });
  const currentSession = createCurrentSession(sessions);
  const miniProgramApi = config.miniProgram && createMiniProgramApi({ http: infra.http, tokens: infra.tokensFor(config.miniProgram), ...config.miniProgram });
  const miniProgramLogin =
    miniProgramApi &&
    createMiniProgramLogin({
      api: miniProgramApi,
      identity: userIdentity,
      tokens: apiTokens,
      loginRecord,
      phoneBinding,
      logger,
      now,
    });

  // The ways in the login page offers (LOGIN_METHODS), and the code that every account may use when WeChat refuses QR codes.
  const codeWay = createOaCodeWay({ accountName: config.wechat.accountName, accountQrUrl: config.wechat.accountQrUrl });
  const waysByName: Record<string, LoginWay | undefined> = {
    'oa-qr': createOaQrWay({ api, qrExpireSeconds: config.qrExpireSeconds, logger }),
    'oa-code': codeWay,
    'miniprogram-code':
      miniProgramApi &&
      createMiniProgramCodeWay({ api: miniProgramApi, ...config.miniProgramCode, limiter: infra.limiter, lifetimeSeconds: config.qrExpireSeconds, now }),
  };

  // The OpenID Provider at /oidc: built in the background (oidc-provider is ESM-only), awaited by the app's ready().
  const oidc = config.oidc.enabled
    ? createOidc({
        config,
        knex: infra.knex,
        findUserById: (id) => users.findUserById(id),
        sessions,
        currentSession,
        render: infra.render,
        formBody: infra.formBody,
        logger,
        now,
        limitAuthorization: perIpPerMinute(infra.limiter, 'oidc-auth', config.rateLimits.oidcAuthPerIpPerMinute),
      })
    : undefined;
  // Messages to other systems, written with the change they report and sent after it (every instance polls).
  const outbox = createOutboxWorker({
    outbox: queries.outbox,
    channels: {
      ...(oidc ? { [backchannelLogoutChannel]: oidc.deliverLogoutToken } : {}),
      ...(config.webhooks.length > 0 ? { [webhookChannel]: createWebhookSender({ hooks: config.webhooks, now }) } : {}),
    },
    countAttempt: (channel, outcome) => metrics.outboxAttempts.inc({ channel, outcome }),
    logger,
    now,
  });

  return {
    scenes,
    // The configuration refuses a way whose credentials are missing; a way not built here is not offered.
    ways: { ways: config.loginMethods.flatMap((name) => waysByName[name] ?? []), codeWay },
    openLogin:
      config.openApp &&
      createOpenLogin({
        oauth: createOauthApi({ http: infra.http, ...config.openApp, openBase: config.wechat.openBase }),
        identity: userIdentity,
        singleUse: queries.singleUse,
        publicUrl: config.publicUrl,
        logger,
        now,
      }),
    miniCodeScan:
      miniProgramApi &&
      createMiniCodeScan({ api: miniProgramApi, identity: userIdentity, scenes: queries.loginScenes, confirmation, announce: announceScan, metrics, logger, now }),
    sessions,
    deviceMemory,
    /** Resolves once the writes that follow the logins so far (their browsers, the last login times) are done. */
    afterLoginWrites: async () => {
      await deviceMemory.settled();
      await lastLogins.settled();
    },
    confirmation,
    sceneStates,
    scanToLogin,
    unionidBackfill,
    callbackPushes: createCallbackPushes({ codec, events, deduper, forwarder: forwarder || undefined }),
    deduper,
    sessionLogin,
    phoneBinding,
    poller: createScenePoller(infra.hub, sceneStates, now, metrics),
    currentSession,
    currentUser: currentUserFrom(currentSession),
    identity: createWechatIdentity({ oauth, render: infra.render, publicUrl: config.publicUrl, singleUse: queries.singleUse, now }),
    oauthLogin: createOauthLogin({
      oauth,
      users,
      identity: userIdentity,
      singleUse: queries.singleUse,
      publicUrl: config.publicUrl,
      // With another app (a mini-program, a website application), a newcomer's unionid tells whether it knows them already.
      needUnionid: Boolean(config.miniProgram || config.openApp),
      fetchUnionid: unionidLookup,
      now,
    }),
    miniProgramLogin: miniProgramLogin || undefined,
    endSessionByLink: createEndSessionByLink({ links: endSessionLinks, users, sessions }),
    simulatorState: config.simulator ? createSimulatorState({ config, now }) : undefined,
    oidc,
    outbox,
  };
}

export type Services = ReturnType<typeof createServices>;
