/**
 * Every environment variable is read and checked here, once. A bad value
 * never surfaces later as a strange runtime failure: `loadConfig` collects
 * every problem and throws one `ConfigError` that names them all.
 */

import { demoClient, readOidcClients, type OidcClient } from './oidc/oidc-clients.js';
import { deriveKeys, type DerivedKeys } from './security/keys.js';

export const developmentSessionKey = 'wechat-login-development-key-change-me';
export const simulatorAppId = 'wxsimulator0000001';
export const simulatorAppSecret = 'simulator-app-secret';
export const simulatorOriginalId = 'gh_simulator00001';
export const simulatorMiniProgramAppId = 'wxsimulatormini001';
export const simulatorMiniProgramAppSecret = 'simulator-mini-secret';

export type TokenApi = 'stable' | 'classic';
export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type SmsProvider = 'console' | 'webhook';
/** When a QR login waits for the scanner to confirm it in WeChat. */
export type LoginConfirmMode = 'new-device' | 'always' | 'off';

export interface RateLimitConfig {
  enabled: boolean;
  smsResendSeconds: number;
  /** Codes one requester may have sent to one phone per hour. */
  smsPerPhonePerHour: number;
  /** Codes one phone may receive per hour from every requester together: the ceiling against SMS bombing. */
  smsPhoneCeilingPerHour: number;
  smsPerIpPerHour: number;
  /** Codes one user may have sent per hour, whatever the numbers (toll fraud). */
  smsPerUserPerHour: number;
  /** Codes the whole server may send per hour: a budget against toll fraud. */
  smsPerHour: number;
  smsCodeMaxAttempts: number;
  bindAttemptsPerIpPerHour: number;
  pollsHeldPerSession: number;
  /** New login QR codes (qrcode/create calls) one client IP may cause per minute. */
  qrCodesPerIpPerMinute: number;
  /** In-WeChat OAuth round trips (/auth/wechat, its return, the confirm page's return) per client IP per minute. */
  oauthPerIpPerMinute: number;
  /** OpenID Connect authorization requests (/oidc/auth) per client IP per minute. */
  oidcAuthPerIpPerMinute: number;
  /** Mini-program logins (/api/miniprogram/login) per client IP per minute. */
  miniProgramLoginsPerIpPerMinute: number;
}

export interface Config {
  production: boolean;
  port: number;
  host: string;
  publicUrl: string;
  secureCookies: boolean;
  databaseUrl: string;
  sessionKeys: string[];
  usingDevelopmentSessionKey: boolean;
  /** Per-purpose keys derived from SESSION_KEYS (cookies, scenes, SMS code hashes). */
  keys: DerivedKeys;
  /** How many reverse proxies stand in front (TRUST_PROXY); 0 trusts no forwarded header. */
  trustProxy: number;
  sessions: {
    /** A signed-in session unused this long is over. */
    idleTimeoutSeconds: number;
    /** A signed-in session is over this long after the login, however busy. */
    maxLifetimeSeconds: number;
  };
  simulator: boolean;
  /** Lifetime of the simulator's access tokens; short values let token refresh be exercised. */
  simulatorTokenExpiresSeconds: number;
  wechat: {
    appId: string;
    appSecret: string;
    token: string;
    encodingAesKey?: string;
    encodingAesKeyPrevious?: string;
    apiBase: string;
    openBase: string;
    tokenApi: TokenApi;
    timestampToleranceSeconds: number;
    mpVerify?: string;
    /** The account's original ID (gh_…); when known, pushes addressed to another account are refused. */
    originalId?: string;
    requestTimeoutMs: number;
  };
  miniProgram?: { appId: string; appSecret: string };
  qrExpireSeconds: number;
  loginPollTimeoutMs: number;
  loginConfirm: LoginConfirmMode;
  sms: { provider: SmsProvider; webhookUrl?: string };
  redisUrl?: string;
  rateLimits: RateLimitConfig;
  /** LOG_LEVEL: the least severe level written. */
  logLevel: LogLevel;
  /** METRICS_TOKEN: when set, GET /metrics needs it as a Bearer token. */
  metricsToken?: string;
  /** The OpenID Provider at $PUBLIC_URL/oidc: on when any client is configured (OIDC_CLIENTS), and in simulator mode (the demo client). */
  oidc: { enabled: boolean; clients: OidcClient[] };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration from `env`; throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = createReader(env, problems);

  const production = env.NODE_ENV?.trim().toLowerCase() === 'production';
  const port = read.integer('PORT', 3000, 0, 65_535);
  const host = read.string('HOST', '0.0.0.0');
  const publicUrl = read.url('PUBLIC_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  // The links sent to WeChat users, the OAuth redirects and the cookies' Secure flag all follow it.
  if (production && !env.PUBLIC_URL?.trim()) {
    problems.push('PUBLIC_URL is required when NODE_ENV=production (the https:// address people and WeChat reach this server at)');
  }
  const databaseUrl = read.string('DATABASE_URL', 'sqlite:./data/wechat-login.sqlite3');
  if (!/^(sqlite:|mysql:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with sqlite: or mysql://');
  }

  const simulatorSetting = read.choice('WECHAT_SIMULATOR', 'auto', ['auto', 'on', 'off']);
  const appIdSet = Boolean(env.WECHAT_APP_ID);
  const simulator = simulatorSetting === 'on' || (simulatorSetting === 'auto' && !appIdSet);

  const sessionKeys = (env.SESSION_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  const usingDevelopmentSessionKey = sessionKeys.length === 0;
  // The development key is public: with real users (the simulator off) it would let anyone sign a session.
  if (usingDevelopmentSessionKey && production) {
    problems.push('SESSION_KEYS is required when NODE_ENV=production');
  } else if (usingDevelopmentSessionKey && !simulator) {
    problems.push('SESSION_KEYS is required when the simulator is off (real WeChat credentials)');
  }
  if (sessionKeys.some((key) => key.length < 16)) {
    problems.push('SESSION_KEYS: every key must be at least 16 characters');
  }
  if (simulatorSetting === 'on' && production) {
    problems.push('WECHAT_SIMULATOR: the simulator cannot run when NODE_ENV=production (set WECHAT_APP_ID and WECHAT_APP_SECRET)');
  }
  // Production always talks to real WeChat: everything that needs is named in this one message,
  // rather than the simulator's refusal first and the missing credentials at the next start.
  const realWechat = !simulator || production;
  const whenReal = production ? 'when NODE_ENV=production' : 'when the simulator is off';
  if (realWechat && (!env.WECHAT_APP_ID || !env.WECHAT_APP_SECRET)) {
    problems.push(`WECHAT_APP_ID and WECHAT_APP_SECRET are required ${whenReal}`);
  }
  if (realWechat && !env.WECHAT_TOKEN) {
    problems.push(`WECHAT_TOKEN is required ${whenReal}`);
  }
  // Without it a push addressed to any account is accepted (issue 11).
  if (production && !env.WECHAT_ORIGINAL_ID) {
    problems.push("WECHAT_ORIGINAL_ID is required when NODE_ENV=production (the account's original ID, gh_…)");
  }

  const simulatorApi = `${publicUrl}/simulator/api`;
  const apiBase = read.url('WECHAT_API_BASE', simulator ? simulatorApi : 'https://api.weixin.qq.com').replace(/\/+$/, '');
  const openBase = read.url('WECHAT_OPEN_BASE', simulator ? simulatorApi : 'https://open.weixin.qq.com').replace(/\/+$/, '');
  const encodingAesKey = read.aesKey('WECHAT_ENCODING_AES_KEY');
  const encodingAesKeyPrevious = read.aesKey('WECHAT_ENCODING_AES_KEY_PREVIOUS');

  const miniProgramAppId = env.MINIPROGRAM_APP_ID || (simulator ? simulatorMiniProgramAppId : undefined);
  const miniProgramAppSecret = env.MINIPROGRAM_APP_SECRET || (simulator ? simulatorMiniProgramAppSecret : undefined);
  if (env.MINIPROGRAM_APP_ID && !env.MINIPROGRAM_APP_SECRET) {
    problems.push('MINIPROGRAM_APP_SECRET is required when MINIPROGRAM_APP_ID is set');
  }

  const smsProvider = read.choice('SMS_PROVIDER', 'console', ['console', 'webhook']) as SmsProvider;
  const smsWebhookUrl = env.SMS_WEBHOOK_URL ? read.url('SMS_WEBHOOK_URL', '') : undefined;
  if (smsProvider === 'webhook' && !smsWebhookUrl) {
    problems.push('SMS_WEBHOOK_URL is required when SMS_PROVIDER=webhook');
  }
  // The console provider only logs the code: in production nobody could bind a phone.
  if (production && smsProvider === 'console' && read.choice('SMS_CONSOLE_IN_PRODUCTION', 'no', ['yes', 'no']) !== 'yes') {
    problems.push(
      'SMS_PROVIDER=webhook (with SMS_WEBHOOK_URL) is required when NODE_ENV=production: the console provider sends no SMS, only logs the code ' +
        '(set SMS_CONSOLE_IN_PRODUCTION=yes to run it anyway, for a trial)',
    );
  }

  const metricsToken = env.METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    // The value is a secret: name the variable, never echo it.
    problems.push('METRICS_TOKEN must be at least 16 characters');
  }

  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must start with redis:// or rediss://');
  }

  const trustProxy = read.trustProxy('TRUST_PROXY');
  const idleTimeoutSeconds = read.integer('SESSION_IDLE_TIMEOUT_SECONDS', 7 * 86_400, 1, 365 * 86_400);
  const maxLifetimeSeconds = read.integer('SESSION_MAX_LIFETIME_SECONDS', 30 * 86_400, 1, 365 * 86_400);
  const effectiveSessionKeys = usingDevelopmentSessionKey ? [developmentSessionKey] : sessionKeys;
  const oidcClients = readOidcClients(env, problems);
  if (simulator && !oidcClients.some((client) => client.client_id === demoClient(publicUrl).client_id)) {
    oidcClients.push(demoClient(publicUrl));
  }

  const config: Config = {
    production,
    port,
    host,
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    databaseUrl,
    sessionKeys: effectiveSessionKeys,
    usingDevelopmentSessionKey,
    keys: deriveKeys(effectiveSessionKeys),
    trustProxy,
    sessions: { idleTimeoutSeconds, maxLifetimeSeconds },
    simulator,
    simulatorTokenExpiresSeconds: read.integer('SIMULATOR_TOKEN_EXPIRES_SECONDS', 7200, 1, 86_400),
    wechat: {
      appId: env.WECHAT_APP_ID || simulatorAppId,
      appSecret: env.WECHAT_APP_SECRET || simulatorAppSecret,
      token: env.WECHAT_TOKEN || 'dev-token',
      encodingAesKey,
      encodingAesKeyPrevious,
      apiBase,
      openBase,
      tokenApi: read.choice('WECHAT_TOKEN_API', 'stable', ['stable', 'classic']) as TokenApi,
      timestampToleranceSeconds: read.integer('WECHAT_TIMESTAMP_TOLERANCE_SECONDS', 300, 0, 86_400),
      mpVerify: read.mpVerify('WECHAT_MP_VERIFY'),
      originalId: read.originalId('WECHAT_ORIGINAL_ID') ?? (simulator ? simulatorOriginalId : undefined),
      requestTimeoutMs: read.integer('WECHAT_REQUEST_TIMEOUT_MS', 5000, 100, 60_000),
    },
    miniProgram:
      miniProgramAppId && miniProgramAppSecret ? { appId: miniProgramAppId, appSecret: miniProgramAppSecret } : undefined,
    qrExpireSeconds: read.integer('QR_EXPIRE_SECONDS', 300, 1, 2_592_000),
    loginPollTimeoutMs: read.integer('LOGIN_POLL_TIMEOUT_MS', 25_000, 100, 120_000),
    loginConfirm: read.choice('LOGIN_CONFIRM', 'new-device', ['new-device', 'always', 'off']) as LoginConfirmMode,
    sms: { provider: smsProvider, webhookUrl: smsWebhookUrl },
    redisUrl,
    logLevel: read.choice('LOG_LEVEL', 'info', [...logLevels]) as LogLevel,
    metricsToken,
    rateLimits: {
      enabled: read.choice('RATE_LIMITS', 'on', ['on', 'off']) === 'on',
      smsResendSeconds: read.integer('SMS_RESEND_INTERVAL_SECONDS', 60, 0, 3600),
      smsPerPhonePerHour: read.integer('SMS_MAX_PER_PHONE_PER_HOUR', 5, 1, 10_000),
      smsPhoneCeilingPerHour: read.integer('SMS_PHONE_CEILING_PER_HOUR', 15, 1, 10_000),
      smsPerIpPerHour: read.integer('SMS_MAX_PER_IP_PER_HOUR', 20, 1, 100_000),
      smsPerUserPerHour: read.integer('SMS_MAX_PER_USER_PER_HOUR', 10, 1, 100_000),
      smsPerHour: read.integer('SMS_MAX_PER_HOUR', 1000, 1, 10_000_000),
      smsCodeMaxAttempts: read.integer('SMS_CODE_MAX_ATTEMPTS', 5, 1, 100),
      bindAttemptsPerIpPerHour: read.integer('BIND_MAX_ATTEMPTS_PER_IP_PER_HOUR', 60, 1, 100_000),
      pollsHeldPerSession: read.integer('POLLS_HELD_PER_SESSION', 3, 1, 1000),
      qrCodesPerIpPerMinute: read.integer('QR_CODES_PER_IP_PER_MINUTE', 20, 1, 100_000),
      oauthPerIpPerMinute: read.integer('OAUTH_PER_IP_PER_MINUTE', 60, 1, 100_000),
      oidcAuthPerIpPerMinute: read.integer('OIDC_AUTH_PER_IP_PER_MINUTE', 60, 1, 100_000),
      miniProgramLoginsPerIpPerMinute: read.integer('MINIPROGRAM_LOGINS_PER_IP_PER_MINUTE', 120, 1, 100_000),
    },
    oidc: { enabled: oidcClients.length > 0, clients: oidcClients },
  };

  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return config;
}

function createReader(env: Env, problems: string[]) {
  const raw = (name: string) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value.trim();
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
        return fallback;
      }
      return Number(value);
    },
    choice(name: string, fallback: string, allowed: string[]): string {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (!allowed.includes(value)) {
        problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
        return fallback;
      }
      return value;
    },
    url(name: string, fallback: string): string {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^https?:\/\/[^\s/]+/.test(value)) {
        problems.push(`${name} must be an http:// or https:// address (got "${value}")`);
        return fallback;
      }
      return value;
    },
    aesKey(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!/^[A-Za-z0-9+/]{43}$/.test(value)) {
        // The value itself is a secret: name the variable, never echo it.
        problems.push(`${name} must be 43 characters of base64 (letters, digits, + and /)`);
        return undefined;
      }
      return value;
    },
    /** Unset: trust no forwarded header. A whole number N ≥ 1: N reverse proxies stand in front. */
    trustProxy(name: string): number {
      const value = raw(name);
      if (value === undefined) return 0;
      if (!/^[1-9]\d{0,1}$/.test(value)) {
        problems.push(`${name} must be the number of reverse proxies in front of the server, from 1 to 99 (got "${value}")`);
        return 0;
      }
      return Number(value);
    },
    originalId(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        problems.push(`${name} must be the account's original ID, like gh_0123456789ab (got "${value.slice(0, 80)}")`);
        return undefined;
      }
      return value;
    },
    mpVerify(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!/^[A-Za-z0-9]{1,64}$/.test(value)) {
        problems.push(`${name} must be the letters and digits of the MP_verify_<code>.txt file name`);
        return undefined;
      }
      return value;
    },
  };
}
