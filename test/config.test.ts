import test, { type ExecutionContext } from 'ava';
import { ConfigError, developmentSessionKey, loadConfig } from '../src/config.js';

/** The problems that loading `env` names (and a failed test when it loads). */
function problemsOf(t: ExecutionContext, env: Record<string, string>): string[] {
  return t.throws(() => loadConfig(env), { instanceOf: ConfigError }).problems;
}

test('no configuration: SQLite, the simulator, the development key, port 3000', (t) => {
  const config = loadConfig({});
  t.is(config.port, 3000);
  t.is(config.host, '0.0.0.0');
  t.is(config.publicUrl, 'http://localhost:3000');
  t.is(config.databaseUrl, 'sqlite:./data/wechat-login.sqlite3');
  t.true(config.simulator);
  t.true(config.usingDevelopmentSessionKey);
  t.deepEqual(config.sessionKeys, [developmentSessionKey]);
  t.is(config.wechat.token, 'dev-token');
  t.is(config.wechat.apiBase, 'http://localhost:3000/simulator/api');
  t.is(config.wechat.openBase, 'http://localhost:3000/simulator/api');
  t.is(config.wechat.tokenApi, 'stable');
  t.is(config.qrExpireSeconds, 300);
  t.is(config.loginPollTimeoutMs, 25_000);
  t.is(config.wechat.timestampToleranceSeconds, 300);
  t.true(config.rateLimits.enabled);
  t.false(config.secureCookies);
});

test('a real Official Account turns the simulator off and uses WeChat\'s addresses', (t) => {
  const config = loadConfig({
    WECHAT_APP_ID: 'wx1',
    WECHAT_APP_SECRET: 's',
    WECHAT_TOKEN: 'tok',
    SESSION_KEYS: 'a-long-enough-production-key',
    PUBLIC_URL: 'https://login.example/',
  });
  t.false(config.simulator);
  t.is(config.wechat.apiBase, 'https://api.weixin.qq.com');
  t.is(config.wechat.openBase, 'https://open.weixin.qq.com');
  t.is(config.publicUrl, 'https://login.example');
  t.true(config.secureCookies);
});

test('every invalid variable is named in one message', (t) => {
  const error = t.throws(
    () =>
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'postgres://x',
        WECHAT_TOKEN_API: 'fast',
        WECHAT_ENCODING_AES_KEY: 'short',
        QR_EXPIRE_SECONDS: '-1',
        RATE_LIMITS: 'maybe',
        SMS_PROVIDER: 'webhook',
        PUBLIC_URL: 'localhost',
      }),
    { instanceOf: ConfigError },
  );
  for (const name of ['PORT', 'DATABASE_URL', 'WECHAT_TOKEN_API', 'WECHAT_ENCODING_AES_KEY', 'QR_EXPIRE_SECONDS', 'RATE_LIMITS', 'SMS_WEBHOOK_URL', 'PUBLIC_URL']) {
    t.true(error.message.includes(name), `${name} is named`);
  }
  t.is(error.problems.length, 8);
  t.false(error.message.includes('short'), 'a secret value is never echoed');
});

/** Everything production needs, so that each test can take one thing away. */
const production = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://login.example.com',
  SESSION_KEYS: 'a-long-enough-production-key',
  WECHAT_APP_ID: 'wx',
  WECHAT_APP_SECRET: 's',
  WECHAT_TOKEN: 't',
  WECHAT_ORIGINAL_ID: 'gh_0123456789ab',
  SMS_PROVIDER: 'webhook',
  SMS_WEBHOOK_URL: 'https://sms.example.com/send',
};
const without = (name: keyof typeof production) => Object.fromEntries(Object.entries(production).filter(([key]) => key !== name));

test('production with nothing configured names everything it needs in one message', (t) => {
  const error = t.throws(() => loadConfig({ NODE_ENV: 'production' }), { instanceOf: ConfigError });
  t.deepEqual(error.problems, [
    'PUBLIC_URL is required when NODE_ENV=production (the https:// address people and WeChat reach this server at)',
    'SESSION_KEYS is required when NODE_ENV=production',
    'WECHAT_APP_ID and WECHAT_APP_SECRET are required when NODE_ENV=production',
    'WECHAT_TOKEN is required when NODE_ENV=production',
    "WECHAT_ORIGINAL_ID is required when NODE_ENV=production (the account's original ID, gh_…)",
    'SMS_PROVIDER=webhook (with SMS_WEBHOOK_URL) is required when NODE_ENV=production: the console provider sends no SMS, only logs the code ' +
      '(set SMS_CONSOLE_IN_PRODUCTION=yes to run it anyway, for a trial)',
  ]);
});

test('production refuses the simulator, and starts with everything set', (t) => {
  const forced = t.throws(() => loadConfig({ ...production, WECHAT_SIMULATOR: 'on' }), { instanceOf: ConfigError });
  t.regex(forced.message, /WECHAT_SIMULATOR: the simulator cannot run when NODE_ENV=production/);
  const ok = loadConfig(production);
  t.false(ok.simulator);
  t.is(ok.wechat.originalId, 'gh_0123456789ab');
  t.is(ok.publicUrl, 'https://login.example.com');
});

test('production refuses a missing PUBLIC_URL: the links sent to WeChat users would point at localhost', (t) => {
  const error = t.throws(() => loadConfig(without('PUBLIC_URL')), { instanceOf: ConfigError });
  t.deepEqual(error.problems, ['PUBLIC_URL is required when NODE_ENV=production (the https:// address people and WeChat reach this server at)']);
  t.is(loadConfig({}).publicUrl, 'http://localhost:3000', 'outside production the default stays');
});

test('production refuses the console SMS provider unless told SMS_CONSOLE_IN_PRODUCTION=yes', (t) => {
  for (const env of [without('SMS_PROVIDER'), { ...production, SMS_PROVIDER: 'console' }]) {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.is(error.problems.length, 1);
    t.regex(error.problems[0], /SMS_PROVIDER=webhook \(with SMS_WEBHOOK_URL\) is required when NODE_ENV=production/);
  }
  t.is(loadConfig({ ...without('SMS_PROVIDER'), SMS_CONSOLE_IN_PRODUCTION: 'yes' }).sms.provider, 'console');
  t.is(loadConfig({}).sms.provider, 'console', 'outside production it is the default');
});

test('production refuses a missing WECHAT_ORIGINAL_ID: without it a push to any account would be accepted', (t) => {
  const error = t.throws(() => loadConfig(without('WECHAT_ORIGINAL_ID')), { instanceOf: ConfigError });
  t.deepEqual(error.problems, ["WECHAT_ORIGINAL_ID is required when NODE_ENV=production (the account's original ID, gh_…)"]);
  const malformed = t.throws(() => loadConfig({ ...production, WECHAT_ORIGINAL_ID: 'gh_<script>' }), { instanceOf: ConfigError });
  t.regex(malformed.message, /WECHAT_ORIGINAL_ID must be the account's original ID/);
  // Outside production it stays optional.
  t.is(loadConfig({ WECHAT_APP_ID: 'wx', WECHAT_APP_SECRET: 's', WECHAT_TOKEN: 't', SESSION_KEYS: 'a-long-enough-production-key' }).wechat.originalId, undefined);
});

test('QR_CODES_PER_IP_PER_MINUTE defaults to 20 and is checked', (t) => {
  t.is(loadConfig({}).rateLimits.qrCodesPerIpPerMinute, 20);
  t.is(loadConfig({ QR_CODES_PER_IP_PER_MINUTE: '500' }).rateLimits.qrCodesPerIpPerMinute, 500);
  t.throws(() => loadConfig({ QR_CODES_PER_IP_PER_MINUTE: '0' }), { message: /QR_CODES_PER_IP_PER_MINUTE must be a whole number/ });
});

test('the simulator off without credentials is an error, not a silent misconfiguration', (t) => {
  const error = t.throws(() => loadConfig({ WECHAT_SIMULATOR: 'off' }), { instanceOf: ConfigError });
  t.regex(error.message, /WECHAT_APP_ID and WECHAT_APP_SECRET are required/);
});

test('LOGIN_CONFIRM: new-device by default, always and off accepted, anything else named', (t) => {
  t.is(loadConfig({}).loginConfirm, 'new-device');
  t.is(loadConfig({ LOGIN_CONFIRM: 'always' }).loginConfirm, 'always');
  t.is(loadConfig({ LOGIN_CONFIRM: 'OFF' }).loginConfirm, 'off');
  const error = t.throws(() => loadConfig({ LOGIN_CONFIRM: 'sometimes' }), { instanceOf: ConfigError });
  t.regex(error!.message, /LOGIN_CONFIRM must be one of new-device, always, off/);
});

test('bad values and production refusals are named together, each once, in one message without a stack or a zod dump', (t) => {
  const env = { ...without('SESSION_KEYS'), PORT: 'x', WECHAT_TOKEN_API: 'fast', WECHAT_SIMULATOR: 'maybe', OIDC_CLIENTS: 'not json' };
  const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  t.deepEqual(error.problems, [
    'PORT must be a whole number from 0 to 65535 (got "x")',
    'WECHAT_SIMULATOR must be one of auto, on, off (got "maybe")',
    'WECHAT_TOKEN_API must be one of stable, classic (got "fast")',
    'OIDC_CLIENTS: not valid JSON (expected an array of clients, each with client_id, client_secret and redirect_uris)',
    'SESSION_KEYS is required when NODE_ENV=production',
  ]);
  t.is(error.message, `Invalid configuration:\n${error.problems.map((problem) => `  - ${problem}`).join('\n')}`);
});

test('a bad value is said once: it still counts as set for the rules, and a bad choice counts as its default', (t) => {
  t.deepEqual(problemsOf(t, { ...production, PUBLIC_URL: 'login.example.com', SMS_WEBHOOK_URL: 'sms.example.com' }), [
    'PUBLIC_URL must be an http:// or https:// address (got "login.example.com")',
    'SMS_WEBHOOK_URL must be an http:// or https:// address (got "sms.example.com")',
  ]);
  // Taken as auto: no credentials are asked for.
  t.deepEqual(problemsOf(t, { WECHAT_SIMULATOR: 'maybe' }), ['WECHAT_SIMULATOR must be one of auto, on, off (got "maybe")']);
});

test('the rules across variables: keys and credentials with the simulator off, a mini-program secret, the SMS webhook', (t) => {
  t.deepEqual(problemsOf(t, { WECHAT_APP_ID: 'wx' }), [
    'SESSION_KEYS is required when the simulator is off (real WeChat credentials)',
    'WECHAT_APP_ID and WECHAT_APP_SECRET are required when the simulator is off',
    'WECHAT_TOKEN is required when the simulator is off',
  ]);
  t.deepEqual(problemsOf(t, { MINIPROGRAM_APP_ID: 'wxmini' }), ['MINIPROGRAM_APP_SECRET is required when MINIPROGRAM_APP_ID is set']);
  t.deepEqual(problemsOf(t, { SMS_PROVIDER: 'webhook' }), ['SMS_WEBHOOK_URL is required when SMS_PROVIDER=webhook']);
  t.deepEqual(problemsOf(t, { ...production, SMS_CONSOLE_IN_PRODUCTION: 'sure' }), ['SMS_CONSOLE_IN_PRODUCTION must be one of yes, no (got "sure")']);
  // The simulator plays a mini-program of its own; configured credentials replace it.
  t.is(loadConfig({}).miniProgram?.appId, 'wxsimulatormini001');
  t.deepEqual(loadConfig({ MINIPROGRAM_APP_ID: 'wxmini', MINIPROGRAM_APP_SECRET: 'ms' }).miniProgram, { appId: 'wxmini', appSecret: 'ms' });
});

test('secrets are named, never quoted', (t) => {
  const problems = problemsOf(t, {
    SESSION_KEYS: 'a-long-enough-session-key, short-secret',
    METRICS_TOKEN: 'short-metrics',
    WECHAT_ENCODING_AES_KEY_PREVIOUS: 'not-an-aes-key',
    OIDC_CLIENTS: '[{"client_id":"app","client_secret":"tiny-secret","redirect_uris":["https://app.example/cb"]}]',
  });
  t.deepEqual(problems, [
    'SESSION_KEYS must be comma-separated keys of at least 16 characters each',
    'WECHAT_ENCODING_AES_KEY_PREVIOUS must be 43 characters of base64 (letters, digits, + and /)',
    'METRICS_TOKEN must be at least 16 characters',
    'OIDC_CLIENTS: client "app" needs a client_secret of at least 16 characters',
  ]);
  for (const secret of ['short-secret', 'a-long-enough-session-key', 'short-metrics', 'not-an-aes-key', 'tiny-secret']) t.false(problems.join('\n').includes(secret), secret);
});

test('unset, empty and blank are the same, and spaces around a value are dropped', (t) => {
  const config = loadConfig({ PORT: ' 8080 ', HOST: '', WECHAT_APP_ID: '  ', LOG_LEVEL: ' Warn ', PUBLIC_URL: 'https://login.example//' });
  t.is(config.port, 8080);
  t.is(config.host, '0.0.0.0');
  t.true(config.simulator, 'a blank WECHAT_APP_ID is no account');
  t.is(config.logLevel, 'warn');
  t.is(config.publicUrl, 'https://login.example');
  t.is(config.wechat.apiBase, 'https://login.example/simulator/api');
});
