import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Metric names start with this, Prometheus style (`wechat_login_…_total`, `_seconds`). */
const prefix = 'wechat_login_';

/**
 * WeChat gives a callback 5 s before it retries (and at most three tries):
 * the buckets are dense around that limit, so a creeping p99 shows before
 * the retries start.
 */
export const callbackDurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 4.5, 5, 7.5, 10];

export type ScanOutcome = 'logged_in' | 'bind' | 'scene_invalid' | 'scene_taken' | 'confirm';
export type ConfirmationOutcome = 'approved' | 'denied' | 'wrong_number' | 'expired';
export type SmsRefusal = 'resend_too_soon' | 'phone_hourly_cap' | 'phone_ceiling' | 'ip_hourly_cap' | 'user_hourly_cap' | 'server_budget' | 'provider_failed';

/**
 * This instance's metrics, in a registry of its own (not prom-client's
 * global one), so that several apps in one process (tests) never share or
 * collide. Each part that counts receives this object through its deps.
 * With REDIS_URL every instance reports its own numbers: Prometheus scrapes
 * each one and sums them.
 */
export function createMetrics() {
  const registry = new Registry();
  // Unprefixed, as standard Node.js dashboards expect (process_*, nodejs_*); the app's own metrics keep the prefix.
  collectDefaultMetrics({ register: registry });

  const heldPolls = new Gauge({
    name: `${prefix}held_polls`,
    help: 'Long-polls (/login/poll) being held open right now',
    registers: [registry],
  });
  const scans = new Counter({
    name: `${prefix}scans_total`,
    help: 'Login QR code scans handled, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const logins = new Counter({
    name: `${prefix}logins_total`,
    help: 'Completed logins (one login-history row each), by method',
    labelNames: ['method'] as const,
    registers: [registry],
  });
  const confirmations = new Counter({
    name: `${prefix}confirmations_total`,
    help: 'QR logins confirmed or refused in WeChat, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const callbackDuration = new Histogram({
    name: `${prefix}callback_duration_seconds`,
    help: 'Time to answer POST /wechat/callback (WeChat retries after 5 s)',
    buckets: callbackDurationBuckets,
    registers: [registry],
  });
  const duplicateDeliveries = new Counter({
    name: `${prefix}callback_duplicate_deliveries_total`,
    help: 'Callback deliveries answered from an earlier delivery of the same event (WeChat retries)',
    registers: [registry],
  });
  const refusedCallbacks = new Counter({
    name: `${prefix}callback_refused_total`,
    help: 'Callbacks refused with a 4xx, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const wechatApiCalls = new Counter({
    name: `${prefix}wechat_api_calls_total`,
    help: 'Calls to the WeChat API, by API path',
    labelNames: ['api'] as const,
    registers: [registry],
  });
  const wechatApiErrors = new Counter({
    name: `${prefix}wechat_api_errors_total`,
    help: 'Failed WeChat API calls, by API path and errcode (`network` when WeChat could not be reached or answered garbage)',
    labelNames: ['api', 'errcode'] as const,
    registers: [registry],
  });
  const forwards = new Counter({
    name: `${prefix}forwarded_pushes_total`,
    help: "Pushes passed on to the business's own WeChat server (WECHAT_FORWARD_URL), by outcome: replied, empty, timeout, down, error, garbage",
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const forwardDuration = new Histogram({
    name: `${prefix}forward_duration_seconds`,
    help: "How long the business's server took to answer a forwarded push",
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4.5],
    registers: [registry],
  });
  const tokenClientRequests = new Counter({
    name: `${prefix}token_client_requests_total`,
    help: "The business's services asking for the account's access_token or JS-SDK ticket, by client, what, and whether they asked for a refresh",
    labelNames: ['client', 'resource', 'refresh'] as const,
    registers: [registry],
  });
  const tokenRefreshes = new Counter({
    name: `${prefix}access_token_refreshes_total`,
    help: 'access_token fetches from WeChat; forced="true" after WeChat said the token was invalid',
    labelNames: ['forced'] as const,
    registers: [registry],
  });
  const qrCodesCreated = new Counter({
    name: `${prefix}qrcodes_created_total`,
    help: 'Login QR codes created through qrcode/create',
    registers: [registry],
  });
  const smsSent = new Counter({
    name: `${prefix}sms_sent_total`,
    help: 'Verification codes handed to the SMS provider',
    registers: [registry],
  });
  const smsRefused = new Counter({
    name: `${prefix}sms_refused_total`,
    help: 'Verification codes not sent, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const outboxAttempts = new Counter({
    name: `${prefix}outbox_attempts_total`,
    help: 'Deliveries of outbox messages (logout tokens, webhooks), by channel and outcome: delivered, retry, failed (given up after a day), dropped (target gone)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });

  return {
    registry,
    outboxAttempts,
    heldPolls,
    scans,
    logins,
    confirmations,
    callbackDuration,
    duplicateDeliveries,
    refusedCallbacks,
    wechatApiCalls,
    wechatApiErrors,
    tokenRefreshes,
    tokenClientRequests,
    forwards,
    forwardDuration,
    qrCodesCreated,
    smsSent,
    smsRefused,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
