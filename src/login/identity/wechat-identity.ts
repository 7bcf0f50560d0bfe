import type { SingleUseTokenQueries } from '../../db/single-use-tokens.js';
import type { AppContext, AppMiddleware, AppRouter } from '../../http/context.js';
import type { Render } from '../../http/render.js';
import type { MessageKey } from '../../messages/catalogue.js';
import { safeNextPath } from '../../http/safe-next.js';
import { sessionOf } from '../../http/cookie-session.js';
import { randomToken } from '../../security/tokens.js';
import { textEquals } from '../../security/constant-time.js';
import { InvalidAuthCodeError } from '../../wechat/errors.js';
import type { OauthApi } from '../../wechat/oauth-api.js';

export interface WechatIdentityDeps {
  oauth: OauthApi;
  render: Render;
  publicUrl: string;
  /** The round trip's state is used once on the server too, not only in this cookie. */
  singleUse: SingleUseTokenQueries;
  now?: () => number;
}

const statePurpose = 'wechat-identity-state';

/** The OAuth round trip must come back within this time, once. */
const oauthStateLifetimeMs = 5 * 60 * 1000;
/** How long this browser is trusted to be that WeChat user, for links from WeChat messages. */
const provenOpenidLifetimeMs = 30 * 60 * 1000;
const identityCallbackPath = '/login/confirm/callback';

/**
 * Who is holding this page in WeChat's in-app browser: proven by a silent
 * snsapi_base OAuth round trip (never by a parameter), then remembered in the
 * session for a while. Used by the links we send in WeChat (the login
 * confirmation, the "end this login" notice), which only their owner may use.
 */
export function createWechatIdentity(deps: WechatIdentityDeps) {
  const now = deps.now ?? Date.now;
  const redirectUri = `${deps.publicUrl}${identityCallbackPath}`;

  /** The WeChat openid this browser proved, or undefined. */
  function provenOpenid(ctx: AppContext): string | undefined {
    const proven = ctx.session?.wechatOpenid;
    return proven && proven.expiresAt > now() ? proven.openid : undefined;
  }

  /** Sends the browser through the silent snsapi_base round trip; it comes back to `returnTo` (a path on this site). */
  async function proveOpenid(ctx: AppContext, returnTo: string): Promise<void> {
    const state = randomToken(12);
    const expiresAt = now() + oauthStateLifetimeMs;
    await deps.singleUse.insertToken(statePurpose, state, new Date(expiresAt), new Date(now()));
    sessionOf(ctx).wechatIdentityOauth = { state, returnTo, expiresAt };
    ctx.redirect(deps.oauth.authorizeUrl(redirectUri, 'snsapi_base', state));
  }

  /** The round trip's return: WeChat's code names the opener. `limit`: the per-IP cap (each return costs a WeChat API call). */
  function routes(router: AppRouter, limit: AppMiddleware): void {
    router.get(identityCallbackPath, limit, async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      const session = sessionOf(ctx);
      const expected = session.wechatIdentityOauth;
      // Single use: whatever happens next, this state cannot be replayed.
      delete session.wechatIdentityOauth;
      if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, ctx.query.state)) {
        return renderProblem(ctx, 'oauth_state');
      }
      // A saved copy of the cookie cannot replay it: the server's row goes with the first use.
      if (!(await deps.singleUse.useToken(statePurpose, expected.state, new Date(now())))) return renderProblem(ctx, 'oauth_state');
      const code = ctx.query.code;
      if (typeof code !== 'string' || code.length === 0 || code.length > 256) return renderProblem(ctx, 'oauth_code');
      try {
        const grant = await deps.oauth.exchangeCode(code);
        // A virtual snapshot-page account proves nobody (WeChat documents it for snsapi_userinfo; refused here all the same).
        if (grant.isSnapshotUser) return renderProblem(ctx, 'oauth_snapshot', 403);
        session.wechatOpenid = { openid: grant.openid, expiresAt: now() + provenOpenidLifetimeMs };
      } catch (error) {
        if (error instanceof InvalidAuthCodeError) return renderProblem(ctx, 'oauth_code');
        throw error;
      }
      ctx.redirect(safeNextPath(expected.returnTo) ?? '/');
    });
  }

  function renderProblem(ctx: AppContext, code: MessageKey, status = 400) {
    deps.render(ctx, 'confirm.njk', { problem: ctx.state.t(code) }, status);
  }

  return { provenOpenid, proveOpenid, routes };
}

export type WechatIdentity = ReturnType<typeof createWechatIdentity>;
