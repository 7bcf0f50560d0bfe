import { UnauthorizedError } from '../errors.js';
import type { AppContext, AppRouter } from '../http/context.js';
import type { Metrics } from '../metrics/metrics.js';
import { textEquals } from '../security/constant-time.js';
import { hashToken as sha256 } from '../security/tokens.js';
import type { AccessTokenProvider } from '../wechat/access-token.js';
import type { JsapiTicketProvider } from '../wechat/jsapi-ticket.js';

export interface TokenClient {
  name: string;
  secret: string;
}

export interface TokenRouteDeps {
  /** WECHAT_TOKEN_CLIENTS: the business's services, each with its own secret. */
  clients: TokenClient[];
  tokens: Pick<AccessTokenProvider, 'currentToken' | 'refreshAfterRejection'>;
  tickets: Pick<JsapiTicketProvider, 'currentTicket' | 'refreshTicket'>;
  metrics?: Metrics;
}

/**
 * One access_token for the account. When two services each fetch their own,
 * every fetch ends the other's token; here the business's services get this
 * server's cached one (and the JS-SDK ticket), and a service that saw 40001
 * asks `?refresh=1`: one refresh for everybody, at most once per 30 s.
 * Only with WECHAT_TOKEN_CLIENTS; the answers are never cached or logged.
 */
export function tokenRoutes(router: AppRouter, deps: TokenRouteDeps): void {
  share('/api/wechat/access-token', 'access_token', async (refresh) => {
    const { token, expiresIn } = refresh ? await deps.tokens.refreshAfterRejection() : await deps.tokens.currentToken();
    return { access_token: token, expires_in: expiresIn };
  });
  share('/api/wechat/jsapi-ticket', 'jsapi_ticket', async (refresh) => {
    const { ticket, expiresIn } = refresh ? await deps.tickets.refreshTicket() : await deps.tickets.currentTicket();
    return { ticket, expires_in: expiresIn };
  });

  /** One shared credential: the client named by its secret, counted, and answered never to be cached. */
  function share(path: string, resource: string, answer: (refresh: boolean) => Promise<object>): void {
    router.get(path, async (ctx) => {
      const client = clientOf(ctx);
      const refresh = ctx.query.refresh === '1';
      deps.metrics?.tokenClientRequests.inc({ client: client.name, resource, refresh: String(refresh) });
      const body = await answer(refresh);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = body;
    });
  }

  /** Each secret's digest: compared instead of the secret, so that not even its length shows in the time taken. */
  const digests = deps.clients.map((client) => ({ client, digest: sha256(client.secret) }));

  /** The client whose secret the Bearer header carries; every digest is compared, each in constant time. */
  function clientOf(ctx: AppContext): TokenClient {
    const given = sha256(/^bearer (\S{1,200})$/i.exec(ctx.get('authorization'))?.[1] ?? '');
    const matches = digests.filter((entry) => textEquals(entry.digest, given)).map((entry) => entry.client);
    if (matches.length !== 1) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedError('missing or unknown client secret', 'unauthenticated');
    }
    return matches[0];
  }
}
