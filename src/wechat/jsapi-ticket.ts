import type NodeCache from 'node-cache';
import { z } from 'zod';
import { cacheSecondsOf, type AccessTokenProvider } from './access-token.js';
import { jsapiTicketPath } from './constants.js';
import type { WechatHttp } from './http-client.js';

export interface JsapiTicketOptions {
  http: WechatHttp;
  tokens: Pick<AccessTokenProvider, 'withToken'>;
  cache: NodeCache;
  appId: string;
  /** Refreshed this long before WeChat's expiry. */
  refreshMarginSeconds?: number;
  now?: () => number;
}

/** A refresh asked for by a caller is honoured at most this often: WeChat counts getticket calls per day. */
const askedRefreshCooldownMs = 30_000;

const ticketAnswer = z.object({ ticket: z.string().min(1), expires_in: z.number().int().nonnegative() });

/**
 * The JS-SDK ticket (cgi-bin/ticket/getticket, type jsapi), shared like the
 * access_token: cached, refreshed early, one fetch however many ask at once.
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (附录1)
 */
export function createJsapiTicketProvider(options: JsapiTicketOptions) {
  const cacheKey = `jsapi_ticket:${options.appId}`;
  const margin = options.refreshMarginSeconds ?? 300;
  const now = options.now ?? Date.now;
  let inFlight: Promise<string> | undefined;
  let lastAskedRefreshAt = -Infinity;

  function fetchTicket(): Promise<string> {
    inFlight ??= options.tokens
      .withToken((token) => options.http.get(jsapiTicketPath, { access_token: token, type: 'jsapi' }, ticketAnswer))
      .then((answer) => {
        options.cache.set(cacheKey, answer.ticket, cacheSecondsOf(answer.expires_in, margin));
        return answer.ticket;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  async function currentTicket(): Promise<{ ticket: string; expiresIn: number }> {
    const ticket = options.cache.get<string>(cacheKey) ?? (await fetchTicket());
    const expiresAt = options.cache.getTtl(cacheKey) ?? Date.now();
    return { ticket, expiresIn: Math.max(0, Math.floor((expiresAt - Date.now()) / 1000)) };
  }

  /** A caller asked for a new ticket: one fetch for everybody, at most once per cooldown. */
  async function refreshTicket(): Promise<{ ticket: string; expiresIn: number }> {
    if (inFlight) await inFlight;
    else if (now() - lastAskedRefreshAt >= askedRefreshCooldownMs) {
      lastAskedRefreshAt = now();
      options.cache.del(cacheKey);
      await fetchTicket();
    }
    return currentTicket();
  }

  return { currentTicket, refreshTicket };
}

export type JsapiTicketProvider = ReturnType<typeof createJsapiTicketProvider>;
