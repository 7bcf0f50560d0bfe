import type { SingleUseTokenQueries } from '../db/single-use-tokens.js';
import type { UserQueries } from '../db/users.js';
import { BadRequestError } from '../errors.js';
import { textEquals } from '../security/constant-time.js';
import type { AppRouter } from '../http/context.js';
import type { Render } from '../http/render.js';
import { safeNextPath } from '../http/safe-next.js';
import { randomToken, sessionOf } from '../http/session.js';
import { invalidAuthCodeErrcodes } from '../wechat/constants.js';
import { WechatError } from '../wechat/errors.js';
import type { OauthApi } from '../wechat/oauth-api.js';
import type { CompleteLogin } from './session-login.js';

export interface OauthRouteDeps {
  oauth: OauthApi;
  users: UserQueries;
  /** Remembers each state on the server until it is used: a copied cookie cannot use it twice. */
  singleUse: SingleUseTokenQueries;
  completeLogin: CompleteLogin;
  render: Render;
  publicUrl: string;
  now?: () => number;
}

/** A state is good for 10 minutes, once. */
const stateLifetimeMs = 10 * 60 * 1000;
const oauthStatePurpose = 'oauth-state';

/**
 * Login inside WeChat's own browser, where a QR code on the same screen
 * cannot be scanned: OAuth with snsapi_base (or snsapi_userinfo).
 */
export function oauthRoutes(router: AppRouter, deps: OauthRouteDeps): void {
  const now = deps.now ?? Date.now;
  const redirectUri = `${deps.publicUrl}/auth/wechat/callback`;

  router.get('/auth/wechat', async (ctx) => {
    const session = sessionOf(ctx);
    const next = safeNextPath(ctx.query.next);
    if (next) session.next = next;
    const scope = ctx.query.scope === 'userinfo' ? 'snsapi_userinfo' : 'snsapi_base';
    const state = randomToken(12);
    const expiresAt = now() + stateLifetimeMs;
    await deps.singleUse.insertToken(oauthStatePurpose, state, new Date(expiresAt), new Date(now()));
    session.oauth = { state, scope, expiresAt };
    ctx.redirect(deps.oauth.authorizeUrl(redirectUri, scope, state));
  });

  router.get('/auth/wechat/callback', async (ctx) => {
    const session = sessionOf(ctx);
    const expected = session.oauth;
    // Single use: whatever happens next, this state cannot be replayed.
    delete session.oauth;
    // The state must be this browser's, and unused on the server (whatever copies of the cookie say).
    if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, ctx.query.state)) {
      throw new BadRequestError('OAuth state mismatch', 'oauth_state');
    }
    if (!(await deps.singleUse.useToken(oauthStatePurpose, expected.state, new Date(now())))) {
      throw new BadRequestError('OAuth state already used', 'oauth_state');
    }
    const code = ctx.query.code;
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) {
      throw new BadRequestError('OAuth code missing (the user may have declined)', 'oauth_code');
    }
    try {
      const grant = await deps.oauth.exchangeCode(code);
      const info = expected.scope === 'snsapi_userinfo' ? await deps.oauth.getUserInfo(grant) : undefined;
      const user = await deps.users.recordOauthUser(
        grant.openid,
        { unionid: info?.unionid ?? grant.unionid, nickname: info?.nickname, avatarUrl: info?.headimgurl },
        new Date(now()),
      );
      const outcome = await deps.completeLogin(ctx, user, 'oauth');
      ctx.redirect(outcome.redirect ?? '/login');
    } catch (error) {
      if (error instanceof WechatError && invalidAuthCodeErrcodes.includes(error.errcode)) {
        // A used or stale code: a clear page with a way to try again, never a 500.
        deps.render(ctx, 'error.njk', { status: 400, message: ctx.state.t('oauth_code'), retryHref: '/auth/wechat' }, 400);
        return;
      }
      throw error;
    }
  });
}
