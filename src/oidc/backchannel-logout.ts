import type { LogoutTokenPayload } from '../db/session-endings.js';
import type { Deliver } from '../outbox/outbox-worker.js';
import type { OidcProvider } from './provider.js';

type SendLogoutToken = (this: unknown, sub: string, sid: string) => Promise<void>;

/**
 * OpenID Connect back-channel logout from the outbox. oidc-provider sends
 * logout tokens itself only from its own end_session endpoint, once and
 * without retry; here every end of a session (that one included) writes one
 * logout token per application session to the outbox (db/session-endings.ts),
 * so the provider's own sending is turned off and its signing method is kept
 * for the outbox worker. The token (oidc-provider's: iss, aud, iat, jti,
 * events, sub, and sid for a client that requires it; never a nonce) is
 * signed with the provider's current key and POSTed as `logout_token`; an
 * answer other than 200 or 204 is a failure, retried by the worker.
 */
export function takeOverBackchannelLogout(provider: OidcProvider): Deliver {
  const clientPrototype = provider.Client.prototype as unknown as { backchannelLogout: SendLogoutToken };
  const sendLogoutToken = clientPrototype.backchannelLogout;
  clientPrototype.backchannelLogout = async () => undefined;
  return async (message) => {
    const client = await provider.Client.find(message.target);
    // A client removed from OIDC_CLIENTS, or no longer registered for back-channel logout: nobody to tell.
    if (!client?.backchannelLogoutUri) return 'dropped';
    const { sub, sid } = message.payload as LogoutTokenPayload;
    try {
      await sendLogoutToken.call(client, sub, sid);
    } catch (error) {
      // oidc-provider's message names the URI, which may carry a secret: the outbox and the logs keep the status or the cause alone.
      const failure = error as Error & { response?: { status: number }; cause?: { code?: string } };
      throw new Error(failure.response ? `answered ${failure.response.status}` : (failure.cause?.code ?? failure.name));
    }
    return 'delivered';
  };
}
