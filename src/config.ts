/**
 * Every environment variable is read and checked here, once, by one zod
 * schema. A bad value never surfaces later as a strange runtime failure:
 * `loadConfig` collects every problem and throws one `ConfigError` that names
 * them all.
 */

import { z } from 'zod';
import { address, base, choice, integer, matching, report, text } from './config/variable-kinds.js';
import { demoClient, demoClientId, readOidcClients } from './config/oidc-clients.js';
import { readWebhooks } from './config/webhooks.js';
import { deriveKeys } from './security/keys.js';

export const developmentSessionKey = 'wechat-login-development-key-change-me';
export const simulatorAppId = 'wxsimulator0000001';
export const simulatorAppSecret = 'simulator-app-secret';
export const simulatorOriginalId = 'gh_simulator00001';
export const simulatorMiniProgramAppId = 'wxsimulatormini001';
export const simulatorMiniProgramAppSecret = 'simulator-mini-secret';
export const simulatorOpenAppId = 'wxsimulatorweb0001';
export const simulatorOpenAppSecret = 'simulator-web-secret';

/** The simulator's Official Account, as its follow page and the oa-code instructions name it. */
export const simulatorAccountName = '微信登录演示号';

/** The ways in (CONTRACT.md "Ways to log in") this release offers; the others come with their issues. */
export const availableLoginMethods = ['oa-qr', 'oa-code', 'miniprogram-code', 'open-qr'] as const;
export type LoginMethodName = (typeof availableLoginMethods)[number];

export type TokenApi = 'stable' | 'classic';
export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type SmsProvider = 'console' | 'webhook';
/** When a QR login waits for the scanner to confirm it in WeChat. */
export type LoginConfirmMode = 'new-device' | 'always' | 'off';

/** What `loadConfig` gives: the type is the schema's output, so it cannot drift from what is read. */
export type Config = z.output<typeof configSchema>;
export type RateLimitConfig = Config['rateLimits'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration from `env`; throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) throw new ConfigError(result.error.issues.map(problemOf));
  return result.data;
}

/** A variable's own problem follows its name (the issue's path); a rule across variables is a whole sentence. */
function problemOf(issue: z.core.$ZodIssue): string {
  return issue.path.length > 0 ? `${issue.path.join('.')} ${issue.message}` : issue.message;
}

/** The secrets' messages never quote the value. */
const aesKey = matching(/^[A-Za-z0-9+/]{43}$/, 'must be 43 characters of base64 (letters, digits, + and /)');

/**
 * One entry per variable, grouped as `Config` is. The defaults that depend on
 * other variables (PUBLIC_URL's on PORT, the simulator's stand-ins for real
 * credentials) are set by `toConfig`.
 */
const variables = z.object({
  // Anything but production, in any letter case, is development.
  NODE_ENV: text.transform((value) => value?.toLowerCase() === 'production'),
  PORT: integer(3000, 0, 65_535),
  HOST: text.transform((value) => value ?? '0.0.0.0'),
  PUBLIC_URL: base,
  DATABASE_URL: matching(/^(sqlite:|mysql:\/\/)/, 'must start with sqlite: or mysql://', 'sqlite:./data/wechat-login.sqlite3'),
  // Comma-separated; the first signs, every one verifies (rotation). Unset: the public development key.
  SESSION_KEYS: text.transform((value, context) => {
    const keys = (value ?? '').split(',').map((key) => key.trim()).filter(Boolean);
    if (keys.some((key) => key.length < 16)) report(context, 'must be comma-separated keys of at least 16 characters each');
    return keys;
  }),
  // Unset: no forwarded header is believed.
  TRUST_PROXY: integer(0, 1, 99, 'must be the number of reverse proxies in front of the server, from 1 to 99'),

  // sessions
  SESSION_IDLE_TIMEOUT_SECONDS: integer(7 * 86_400, 1, 365 * 86_400),
  SESSION_MAX_LIFETIME_SECONDS: integer(30 * 86_400, 1, 365 * 86_400),

  // simulator: auto is on while WECHAT_APP_ID is unset
  WECHAT_SIMULATOR: choice('auto', ['auto', 'on', 'off']),
  SIMULATOR_TOKEN_EXPIRES_SECONDS: integer(7200, 1, 86_400),

  // wechat: the Official Account
  WECHAT_APP_ID: text,
  WECHAT_APP_SECRET: text,
  WECHAT_TOKEN: text,
  WECHAT_ENCODING_AES_KEY: aesKey,
  WECHAT_ENCODING_AES_KEY_PREVIOUS: aesKey,
  WECHAT_API_BASE: base,
  WECHAT_OPEN_BASE: base,
  WECHAT_TOKEN_API: choice<TokenApi>('stable', ['stable', 'classic']),
  // 0 turns the check off.
  WECHAT_TIMESTAMP_TOLERANCE_SECONDS: integer(300, 0, 86_400),
  // It is served at /MP_verify_<code>.txt, so it must be a plain file name.
  WECHAT_MP_VERIFY: matching(/^[A-Za-z0-9]{1,64}$/, 'must be the letters and digits of the MP_verify_<code>.txt file name'),
  // Cut short when quoted: the message goes to logs.
  WECHAT_ORIGINAL_ID: matching(/^[A-Za-z0-9_-]{1,64}$/, (value) => `must be the account's original ID, like gh_0123456789ab (got "${value.slice(0, 80)}")`),
  WECHAT_REQUEST_TIMEOUT_MS: integer(5000, 100, 60_000),

  // miniProgram
  MINIPROGRAM_APP_ID: text,
  MINIPROGRAM_APP_SECRET: text,
  // The Open Platform's website application (open-qr).
  WECHAT_OPEN_APP_ID: text,
  WECHAT_OPEN_APP_SECRET: text,
  // The page a miniprogram-code opens, and which version of the mini-program.
  MINIPROGRAM_LOGIN_PAGE: matching(/^[A-Za-z0-9_/-]{1,128}$/, 'must be a page path like pages/login/index', 'pages/login/index'),
  MINIPROGRAM_ENV_VERSION: choice<'release' | 'trial' | 'develop'>('release', ['release', 'trial', 'develop']),

  // the ways in, in the order the login page offers them
  LOGIN_METHODS: text.transform((value, context): LoginMethodName[] | undefined => {
    if (value === undefined) return undefined;
    const names = value.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
    const unknown = names.filter((name) => !(availableLoginMethods as readonly string[]).includes(name));
    if (unknown.length > 0) report(context, `must name ways in from ${availableLoginMethods.join(', ')} (got "${unknown.join(', ').slice(0, 80)}")`);
    const known = [...new Set(names)].filter((name): name is LoginMethodName => !unknown.includes(name));
    return known.length > 0 ? known : undefined;
  }),
  // The business's own WeChat server: every push this server does not consume alone is forwarded there.
  WECHAT_FORWARD_URL: address.transform((value, context) => {
    if (value !== undefined && !URL.canParse(value)) report(context, `must be an address a request can go to (got "${value.slice(0, 80)}")`);
    return value;
  }),
  WECHAT_FORWARD_TOKEN: matching(/^[A-Za-z0-9]{3,32}$/, 'must be 3 to 32 letters or digits, as WeChat wants a Token'),
  WECHAT_FORWARD_AES_KEY: aesKey,
  // Under WeChat's 5 s: a late business reply is dropped, and WeChat gets success.
  WECHAT_FORWARD_TIMEOUT_MS: integer(3000, 100, 4500),
  // The business's own services that get the account's access_token from here: name:secret pairs.
  WECHAT_TOKEN_CLIENTS: text.transform((value, context) => {
    const clients = (value ?? '').split(',').map((pair) => pair.trim()).filter(Boolean).map((pair) => {
      const at = pair.indexOf(':');
      return at < 1 ? { name: '', secret: '' } : { name: pair.slice(0, at), secret: pair.slice(at + 1) };
    });
    // Never quoted: the secrets are in the same text. A secret is what a Bearer header carries: no spaces, at most 200.
    if (clients.some((client) => !/^[A-Za-z0-9_-]{1,32}$/.test(client.name) || !/^\S{32,200}$/.test(client.secret))) {
      report(context, 'must be name:secret pairs, comma-separated, each name of letters, digits, _ or - and each secret at least 32 characters');
    }
    if (new Set(clients.map((client) => client.name)).size !== clients.length) report(context, 'names each client once');
    if (new Set(clients.map((client) => client.secret)).size !== clients.length) report(context, 'gives each client a secret of its own');
    return clients;
  }),
  WECHAT_ACCOUNT_NAME: matching(/^.{1,64}$/su, 'must be at most 64 characters'),
  WECHAT_ACCOUNT_QR_URL: address,
  // What the simulator plays: a verified service account, or an unverified subscription account (48001 where WeChat says so).
  SIMULATOR_ACCOUNT: choice('service', ['service', 'subscription']),

  // the QR login
  QR_EXPIRE_SECONDS: integer(300, 1, 2_592_000),
  LOGIN_POLL_TIMEOUT_MS: integer(25_000, 100, 120_000),
  LOGIN_CONFIRM: choice<LoginConfirmMode>('new-device', ['new-device', 'always', 'off']),

  // sms
  SMS_PROVIDER: choice<SmsProvider>('console', ['console', 'webhook']),
  SMS_WEBHOOK_URL: address,
  // What one SMS costs (CNY), for the console's dashboard: unset, it shows counts only.
  SMS_PRICE_CNY: matching(/^\d{1,4}(\.\d{1,6})?$/, (value) => `must be a price in CNY such as 0.045 (got "${value}")`),
  // yes: production may start with the console provider (a trial).
  SMS_CONSOLE_IN_PRODUCTION: choice('no', ['yes', 'no']),

  REDIS_URL: matching(/^rediss?:\/\//, 'must start with redis:// or rediss://'),

  // rateLimits: off is for load tests
  RATE_LIMITS: choice('on', ['on', 'off']),
  SMS_RESEND_INTERVAL_SECONDS: integer(60, 0, 3600),
  SMS_MAX_PER_PHONE_PER_HOUR: integer(5, 1, 10_000),
  SMS_PHONE_CEILING_PER_HOUR: integer(15, 1, 10_000),
  SMS_MAX_PER_IP_PER_HOUR: integer(20, 1, 100_000),
  SMS_MAX_PER_USER_PER_HOUR: integer(10, 1, 100_000),
  SMS_MAX_PER_HOUR: integer(1000, 1, 10_000_000),
  SMS_CODE_MAX_ATTEMPTS: integer(5, 1, 100),
  BIND_MAX_ATTEMPTS_PER_IP_PER_HOUR: integer(60, 1, 100_000),
  POLLS_HELD_PER_SESSION: integer(3, 1, 1000),
  QR_CODES_PER_IP_PER_MINUTE: integer(20, 1, 100_000),
  OAUTH_PER_IP_PER_MINUTE: integer(60, 1, 100_000),
  OIDC_AUTH_PER_IP_PER_MINUTE: integer(60, 1, 100_000),
  MINIPROGRAM_LOGINS_PER_IP_PER_MINUTE: integer(120, 1, 100_000),
  LOGIN_CODES_PER_USER_PER_HOUR: integer(10, 1, 1000),

  LOG_LEVEL: choice('info', logLevels),
  METRICS_TOKEN: matching(/^.{16,}$/s, 'must be at least 16 characters'),
});

/**
 * oidc: OIDC_CLIENTS, or OIDC_CLIENTS_FILE naming a file. A JSON document
 * with checks of its own (config/oidc-clients.ts), which never quote it: it
 * holds client secrets.
 */
const oidcClients = z.custom<Env>().transform((env, context) => {
  const problems: string[] = [];
  const clients = readOidcClients(env, problems);
  for (const problem of problems) report(context, problem);
  return { oidcClients: clients };
});

/** webhooks: WEBHOOKS, or WEBHOOKS_FILE naming a file; checked by config/webhooks.ts, which never quotes it (secrets). */
const webhooks = z.custom<Env>().transform((env, context) => {
  const problems: string[] = [];
  const hooks = readWebhooks(env, problems);
  for (const problem of problems) report(context, problem);
  return { webhooks: hooks };
});

type Variables = z.output<typeof variables> & z.output<typeof oidcClients> & z.output<typeof webhooks>;

/** auto: on while no real account is configured. */
const simulatorIsOn = (vars: Variables) => vars.WECHAT_SIMULATOR === 'on' || (vars.WECHAT_SIMULATOR === 'auto' && !vars.WECHAT_APP_ID);

/**
 * What no single variable can say: what is needed together, and what
 * production refuses. Each message is a whole sentence naming its variables.
 */
function checkTogether(vars: Variables, context: z.RefinementCtx): void {
  const say = (message: string) => context.addIssue({ code: 'custom', message });
  const production = vars.NODE_ENV;
  // Production always talks to real WeChat: everything that needs is said at this one start,
  // rather than the simulator's refusal first and the missing credentials at the next.
  const realWechat = production || !simulatorIsOn(vars);
  const whenReal = production ? 'when NODE_ENV=production' : 'when the simulator is off';

  // The links sent to WeChat users, the OAuth redirects and the cookies' Secure flag all follow it.
  if (production && !vars.PUBLIC_URL) say('PUBLIC_URL is required when NODE_ENV=production (the https:// address people and WeChat reach this server at)');
  // The development key is public: with real users it would let anyone sign a session.
  if (realWechat && vars.SESSION_KEYS.length === 0) {
    say(production ? 'SESSION_KEYS is required when NODE_ENV=production' : 'SESSION_KEYS is required when the simulator is off (real WeChat credentials)');
  }
  if (production && vars.WECHAT_SIMULATOR === 'on') {
    say('WECHAT_SIMULATOR: the simulator cannot run when NODE_ENV=production (set WECHAT_APP_ID and WECHAT_APP_SECRET)');
  }
  if (realWechat && (!vars.WECHAT_APP_ID || !vars.WECHAT_APP_SECRET)) say(`WECHAT_APP_ID and WECHAT_APP_SECRET are required ${whenReal}`);
  if (realWechat && !vars.WECHAT_TOKEN) say(`WECHAT_TOKEN is required ${whenReal}`);
  // Without it a push addressed to any account is accepted (issue 11).
  if (production && !vars.WECHAT_ORIGINAL_ID) say("WECHAT_ORIGINAL_ID is required when NODE_ENV=production (the account's original ID, gh_…)");
  if (vars.WECHAT_FORWARD_URL && !vars.WECHAT_FORWARD_TOKEN) say('WECHAT_FORWARD_TOKEN is required when WECHAT_FORWARD_URL is set');
  // Whoever holds the business's Token (its server, its config, the forward link) could otherwise sign pushes we accept.
  if (vars.WECHAT_FORWARD_TOKEN && vars.WECHAT_FORWARD_TOKEN === vars.WECHAT_TOKEN) say('WECHAT_FORWARD_TOKEN must differ from WECHAT_TOKEN: give the business server a Token of its own');
  if (vars.WECHAT_FORWARD_AES_KEY && [vars.WECHAT_ENCODING_AES_KEY, vars.WECHAT_ENCODING_AES_KEY_PREVIOUS].includes(vars.WECHAT_FORWARD_AES_KEY)) {
    say('WECHAT_FORWARD_AES_KEY must differ from WECHAT_ENCODING_AES_KEY: give the business server a key of its own');
  }
  if (vars.MINIPROGRAM_APP_ID && !vars.MINIPROGRAM_APP_SECRET) say('MINIPROGRAM_APP_SECRET is required when MINIPROGRAM_APP_ID is set');
  if (vars.WECHAT_OPEN_APP_ID && !vars.WECHAT_OPEN_APP_SECRET) say('WECHAT_OPEN_APP_SECRET is required when WECHAT_OPEN_APP_ID is set');
  if (vars.LOGIN_METHODS?.includes('open-qr') && !vars.WECHAT_OPEN_APP_ID && !simulatorIsOn(vars)) {
    say('LOGIN_METHODS: open-qr needs WECHAT_OPEN_APP_ID and WECHAT_OPEN_APP_SECRET');
  }
  if (vars.LOGIN_METHODS?.includes('miniprogram-code') && !vars.MINIPROGRAM_APP_ID && !simulatorIsOn(vars)) {
    say('LOGIN_METHODS: miniprogram-code needs MINIPROGRAM_APP_ID and MINIPROGRAM_APP_SECRET');
  }
  if (vars.SMS_PROVIDER === 'webhook' && !vars.SMS_WEBHOOK_URL) say('SMS_WEBHOOK_URL is required when SMS_PROVIDER=webhook');
  // The console provider only logs the code: in production nobody could bind a phone.
  if (production && vars.SMS_PROVIDER === 'console' && vars.SMS_CONSOLE_IN_PRODUCTION !== 'yes') {
    say(
      'SMS_PROVIDER=webhook (with SMS_WEBHOOK_URL) is required when NODE_ENV=production: the console provider sends no SMS, only logs the code ' +
        '(set SMS_CONSOLE_IN_PRODUCTION=yes to run it anyway, for a trial)',
    );
  }
}

/** The checked variables in the shape the app reads, with the defaults and values derived from others. */
function toConfig(vars: Variables) {
  const simulator = simulatorIsOn(vars);
  const publicUrl = vars.PUBLIC_URL ?? `http://localhost:${vars.PORT}`;
  const simulatorApi = `${publicUrl}/simulator/api`;
  const sessionKeys = vars.SESSION_KEYS.length > 0 ? vars.SESSION_KEYS : [developmentSessionKey];
  const miniProgramAppId = vars.MINIPROGRAM_APP_ID ?? (simulator ? simulatorMiniProgramAppId : undefined);
  const miniProgramAppSecret = vars.MINIPROGRAM_APP_SECRET ?? (simulator ? simulatorMiniProgramAppSecret : undefined);
  const openAppId = vars.WECHAT_OPEN_APP_ID ?? (simulator ? simulatorOpenAppId : undefined);
  const openAppSecret = vars.WECHAT_OPEN_APP_SECRET ?? (simulator ? simulatorOpenAppSecret : undefined);
  // The simulator's demo application, unless a configured client took its id.
  const addDemo = simulator && !vars.oidcClients.some((client) => client.client_id === demoClientId);
  const clients = addDemo ? [...vars.oidcClients, demoClient(publicUrl)] : vars.oidcClients;
  return {
    production: vars.NODE_ENV,
    port: vars.PORT,
    host: vars.HOST,
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    databaseUrl: vars.DATABASE_URL,
    sessionKeys,
    usingDevelopmentSessionKey: vars.SESSION_KEYS.length === 0,
    /** Per-purpose keys derived from SESSION_KEYS (cookies, scenes, SMS code hashes). */
    keys: deriveKeys(sessionKeys),
    /** How many reverse proxies stand in front; 0 trusts no forwarded header. */
    trustProxy: vars.TRUST_PROXY,
    sessions: {
      /** A signed-in session unused this long is over. */
      idleTimeoutSeconds: vars.SESSION_IDLE_TIMEOUT_SECONDS,
      /** A signed-in session is over this long after the login, however busy. */
      maxLifetimeSeconds: vars.SESSION_MAX_LIFETIME_SECONDS,
    },
    simulator,
    /** Lifetime of the simulator's access tokens; short values let token refresh be exercised. */
    simulatorTokenExpiresSeconds: vars.SIMULATOR_TOKEN_EXPIRES_SECONDS,
    /** The simulator plays an unverified subscription account: qrcode/create, OAuth and custom/send answer 48001. */
    simulatorSubscriptionAccount: vars.SIMULATOR_ACCOUNT === 'subscription',
    /** The ways in the login page offers, in order; both need only the Official Account. */
    // Unset: every way the simulator plays; with real WeChat the QR code (a code sent, which skips LOGIN_CONFIRM, is the
    // operator's choice), and the mini-program's code when a mini-program is configured. A 48001 falls back to the code anyway.
    loginMethods:
      vars.LOGIN_METHODS ??
      availableLoginMethods.filter((name) =>
        name === 'oa-code' ? simulator : name === 'miniprogram-code' ? Boolean(miniProgramAppId && miniProgramAppSecret) : name === 'open-qr' ? Boolean(openAppId && openAppSecret) : true,
      ),
    wechat: {
      appId: vars.WECHAT_APP_ID ?? simulatorAppId,
      appSecret: vars.WECHAT_APP_SECRET ?? simulatorAppSecret,
      token: vars.WECHAT_TOKEN ?? 'dev-token',
      encodingAesKey: vars.WECHAT_ENCODING_AES_KEY,
      encodingAesKeyPrevious: vars.WECHAT_ENCODING_AES_KEY_PREVIOUS,
      apiBase: vars.WECHAT_API_BASE ?? (simulator ? simulatorApi : 'https://api.weixin.qq.com'),
      openBase: vars.WECHAT_OPEN_BASE ?? (simulator ? simulatorApi : 'https://open.weixin.qq.com'),
      tokenApi: vars.WECHAT_TOKEN_API,
      timestampToleranceSeconds: vars.WECHAT_TIMESTAMP_TOLERANCE_SECONDS,
      mpVerify: vars.WECHAT_MP_VERIFY,
      /** The account's original ID (gh_…); when known, pushes addressed to another account are refused. */
      originalId: vars.WECHAT_ORIGINAL_ID ?? (simulator ? simulatorOriginalId : undefined),
      requestTimeoutMs: vars.WECHAT_REQUEST_TIMEOUT_MS,
      /** The account's name and its follow QR image, shown with oa-code ("follow … and send this code"). */
      accountName: vars.WECHAT_ACCOUNT_NAME ?? (simulator ? simulatorAccountName : undefined),
      accountQrUrl: vars.WECHAT_ACCOUNT_QR_URL,
      /** The business's services that get the account's access_token and JS-SDK ticket from here (GET /api/wechat/…). */
      tokenClients: vars.WECHAT_TOKEN_CLIENTS,
      /** The business's own WeChat server, signed (and in safe mode encrypted) with its own Token and key. */
      forward: vars.WECHAT_FORWARD_URL
        ? { url: vars.WECHAT_FORWARD_URL, token: vars.WECHAT_FORWARD_TOKEN!, encodingAesKey: vars.WECHAT_FORWARD_AES_KEY, timeoutMs: vars.WECHAT_FORWARD_TIMEOUT_MS }
        : undefined,
    },
    miniProgram: miniProgramAppId && miniProgramAppSecret ? { appId: miniProgramAppId, appSecret: miniProgramAppSecret } : undefined,
    /** The Open Platform's website application (open-qr): its own appid, secret and openids. */
    openApp: openAppId && openAppSecret ? { appId: openAppId, appSecret: openAppSecret } : undefined,
    /** What a miniprogram-code opens: the page, and the version of the mini-program. */
    miniProgramCode: { page: vars.MINIPROGRAM_LOGIN_PAGE, envVersion: vars.MINIPROGRAM_ENV_VERSION },
    qrExpireSeconds: vars.QR_EXPIRE_SECONDS,
    loginPollTimeoutMs: vars.LOGIN_POLL_TIMEOUT_MS,
    /** When a QR login waits for the scanner to confirm it in WeChat. */
    loginConfirm: vars.LOGIN_CONFIRM,
    sms: { provider: vars.SMS_PROVIDER, webhookUrl: vars.SMS_WEBHOOK_URL, priceCny: vars.SMS_PRICE_CNY === undefined ? undefined : Number(vars.SMS_PRICE_CNY) },
    redisUrl: vars.REDIS_URL,
    /** The least severe level written. */
    logLevel: vars.LOG_LEVEL,
    /** When set, GET /metrics needs it as a Bearer token. */
    metricsToken: vars.METRICS_TOKEN,
    rateLimits: {
      enabled: vars.RATE_LIMITS === 'on',
      smsResendSeconds: vars.SMS_RESEND_INTERVAL_SECONDS,
      /** Codes one requester may have sent to one phone per hour. */
      smsPerPhonePerHour: vars.SMS_MAX_PER_PHONE_PER_HOUR,
      /** Codes one phone may receive per hour from every requester together: the ceiling against SMS bombing. */
      smsPhoneCeilingPerHour: vars.SMS_PHONE_CEILING_PER_HOUR,
      smsPerIpPerHour: vars.SMS_MAX_PER_IP_PER_HOUR,
      /** Codes one user may have sent per hour, whatever the numbers (toll fraud). */
      smsPerUserPerHour: vars.SMS_MAX_PER_USER_PER_HOUR,
      /** Codes the whole server may send per hour: a budget against toll fraud. */
      smsPerHour: vars.SMS_MAX_PER_HOUR,
      smsCodeMaxAttempts: vars.SMS_CODE_MAX_ATTEMPTS,
      bindAttemptsPerIpPerHour: vars.BIND_MAX_ATTEMPTS_PER_IP_PER_HOUR,
      pollsHeldPerSession: vars.POLLS_HELD_PER_SESSION,
      /** New login QR codes (qrcode/create calls) one client IP may cause per minute. */
      qrCodesPerIpPerMinute: vars.QR_CODES_PER_IP_PER_MINUTE,
      /** In-WeChat OAuth round trips (/auth/wechat, its return, the confirm page's return) per client IP per minute. */
      oauthPerIpPerMinute: vars.OAUTH_PER_IP_PER_MINUTE,
      /** OpenID Connect authorization requests (/oidc/auth) per client IP per minute. */
      oidcAuthPerIpPerMinute: vars.OIDC_AUTH_PER_IP_PER_MINUTE,
      /** Mini-program logins (/api/miniprogram/login) per client IP per minute. */
      miniProgramLoginsPerIpPerMinute: vars.MINIPROGRAM_LOGINS_PER_IP_PER_MINUTE,
      /** Login codes (oa-code) one WeChat user may send per hour, right or wrong. */
      loginCodesPerUserPerHour: vars.LOGIN_CODES_PER_USER_PER_HOUR,
    },
    /** The OpenID Provider at $PUBLIC_URL/oidc: on when any client is configured, and in simulator mode (the demo client). */
    oidc: { enabled: clients.length > 0, clients },
    /** Where login events are sent (WEBHOOKS): signed as Standard Webhooks specifies, from the outbox. */
    webhooks: vars.webhooks,
  };
}

/** The environment in, the Config out: each variable on its own, then the rules across them, then the shape. */
const configSchema = variables.and(oidcClients).and(webhooks).superRefine(checkTogether).transform(toConfig);
