import type NodeCache from 'node-cache';
import { z } from 'zod';
import { classicTokenPath, invalidAccessTokenErrcodes, stableTokenPath } from './constants.js';
import { WechatError } from './errors.js';
import type { WechatHttp } from './http-client.js';
import type { TokenApi } from '../config.js';
import type { Metrics } from '../metrics/metrics.js';

export interface AccessTokenOptions {
  http: WechatHttp;
  cache: NodeCache;
  appId: string;
  appSecret: string;
  tokenApi: TokenApi;
  /** Refresh this long before WeChat's expiry, so no call ever carries a token that dies in flight. */
  refreshMarginSeconds?: number;
  now?: () => number;
  metrics?: Metrics;
}

/** How long a credential WeChat gave for `expiresIn` seconds is kept: `margin` less, or half its life when that is short. */
export function cacheSecondsOf(expiresIn: number, margin: number): number {
  return Math.max(1, expiresIn > margin * 2 ? expiresIn - margin : Math.floor(expiresIn / 2));
}

/**
 * After a forced refresh, a token rejected again within this time is not
 * refreshed again: the fault is elsewhere (another system resetting the
 * secret, say), and stable_token allows few forced refreshes a day.
 */
const forcedRefreshCooldownMs = 30_000;

/**
 * Both token APIs answer alike; without a token and its lifetime nothing can
 * be asked of WeChat. stable_token gives the seconds the current token has
 * left, which may be 0 in its last second.
 */
const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().nonnegative(),
});

/**
 * The access_token, cached in node-cache and refreshed early. Concurrent
 * callers share one refresh (single flight): parallel refreshes are what
 * invalidate each other's tokens in the SDKs that skip this.
 */
export function createAccessTokenProvider(options: AccessTokenOptions) {
  const cacheKey = `access_token:${options.appId}`;
  const margin = options.refreshMarginSeconds ?? 300;
  const now = options.now ?? Date.now;
  let inFlight: Promise<string> | undefined;
  let lastForcedRefreshAt = -Infinity;
  /** The renewal after a client saw 40001, shared by every client asking meanwhile. */
  let rejectionFlight: Promise<void> | undefined;

  async function fetchToken(forceRefresh: boolean): Promise<string> {
    options.metrics?.tokenRefreshes.inc({ forced: String(forceRefresh) });
    const answer =
      options.tokenApi === 'stable'
        ? await options.http.post(
            stableTokenPath,
            {},
            { grant_type: 'client_credential', appid: options.appId, secret: options.appSecret, force_refresh: forceRefresh },
            tokenAnswer,
          )
        : await options.http.get(classicTokenPath, { grant_type: 'client_credential', appid: options.appId, secret: options.appSecret }, tokenAnswer);
    options.cache.set(cacheKey, answer.access_token, cacheSecondsOf(answer.expires_in, margin));
    return answer.access_token;
  }

  function refresh(forceRefresh: boolean): Promise<string> {
    if (forceRefresh && !inFlight) lastForcedRefreshAt = now();
    inFlight ??= fetchToken(forceRefresh).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  /** The current token, fetched at most once however many callers ask at the same time. */
  async function getToken(): Promise<string> {
    return options.cache.get<string>(cacheKey) ?? refresh(false);
  }

  /**
   * Runs `call` with a token. If WeChat says the token is invalid or expired
   * (40001, 40014, 42001), the token is dropped, refreshed once and the call
   * retried once. A second failure is thrown: never a loop. While a forced
   * refresh is recent, the newest token is not refreshed again (no stampede
   * in a 40001 storm).
   */
  async function withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await getToken();
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof WechatError) || !invalidAccessTokenErrcodes.includes(error.errcode)) throw error;
      // Drop only the token that failed: another caller may already have refreshed it.
      if (options.cache.get<string>(cacheKey) === token) {
        if (now() - lastForcedRefreshAt < forcedRefreshCooldownMs) throw error;
        options.cache.del(cacheKey);
      }
      const fresh = options.cache.get<string>(cacheKey) ?? (await refresh(true));
      return call(fresh);
    }
  }

  /** The cached token and the seconds it has left (its cache lifetime, which ends before WeChat's expiry). */
  async function currentToken(): Promise<{ token: string; expiresIn: number }> {
    const token = await getToken();
    // node-cache keeps its own (real) time.
    const expiresAt = options.cache.getTtl(cacheKey) ?? Date.now();
    return { token, expiresIn: Math.max(0, Math.floor((expiresAt - Date.now()) / 1000)) };
  }

  /**
   * Another service saw the token refused (40001): one forced refresh for
   * everybody, shared by whoever asks meanwhile, and at most one per cooldown;
   * otherwise the current token.
   */
  async function refreshAfterRejection(): Promise<{ token: string; expiresIn: number }> {
    if (now() - lastForcedRefreshAt >= forcedRefreshCooldownMs) {
      rejectionFlight ??= renewRejected().finally(() => {
        rejectionFlight = undefined;
      });
    }
    await rejectionFlight;
    return currentToken();
  }

  /**
   * First WeChat's current token, unforced: another instance may have refreshed
   * it already, and forcing would end that one too. Forced only when WeChat
   * still gives the token that was refused.
   */
  async function renewRejected(): Promise<void> {
    lastForcedRefreshAt = now();
    const held = options.cache.get<string>(cacheKey);
    options.cache.del(cacheKey);
    if ((await refresh(false)) !== held) return;
    options.cache.del(cacheKey);
    await refresh(true);
  }

  return { getToken, withToken, currentToken, refreshAfterRejection };
}

export type AccessTokenProvider = ReturnType<typeof createAccessTokenProvider>;
