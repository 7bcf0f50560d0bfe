import type { SingleUseTokenQueries } from '../../db/single-use-tokens.js';
import type { User } from '../../db/users.js';
import { BadRequestError, ForbiddenError } from '../../errors.js';
import { InvalidAuthCodeError } from '../../wechat/errors.js';
import type { SessionData } from '../../http/context.js';
import type { Logger } from '../../logging/logger.js';
import { textEquals } from '../../security/constant-time.js';
import { randomToken } from '../../security/tokens.js';
import type { OauthApi } from '../../wechat/oauth-api.js';
import type { UserIdentity } from '../identity/user-identity.js';

export type OpenLoginPending = NonNullable<SessionData['openLogin']>;

export interface OpenLoginDeps {
  /** The website application's OAuth (its own appid and secret: WECHAT_OPEN_APP_ID, _SECRET). */
  oauth: Pick<OauthApi, 'qrconnectUrl' | 'exchangeCode' | 'getUserInfo'>;
  identity: Pick<UserIdentity, 'recordOpenPlatformUser'>;
  /** Remembers each state on the server until it is used: a copied cookie cannot use it twice. */
  singleUse: SingleUseTokenQueries;
  publicUrl: string;
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
}

/** A state is good for 10 minutes, once. */
const stateLifetimeMs = 10 * 60 * 1000;
const openStatePurpose = 'open-state';

/**
 * The Open Platform's website login (the seeds' plan A, open-qr): WeChat's own
 * qrconnect page, confirmed on the phone by WeChat itself, then back here with
 * a code for the website application. Its openid is its own; the person is
 * the same user as their Official Account and mini-program selves through the
 * unionid that snsapi_login always gives (identity/user-identity.ts).
 */
export function createOpenLogin(deps: OpenLoginDeps) {
  const now = deps.now ?? Date.now;
  const redirectUri = `${deps.publicUrl}/auth/wechat/open/callback`;

  async function begin(): Promise<{ pending: OpenLoginPending; url: string }> {
    const state = randomToken(12);
    const expiresAt = now() + stateLifetimeMs;
    await deps.singleUse.insertToken(openStatePurpose, state, new Date(expiresAt), new Date(now()));
    return { pending: { state, expiresAt }, url: deps.oauth.qrconnectUrl(redirectUri, state) };
  }

  /** The way back: the state must be this browser's and unused on the server; the code names the person. */
  async function finish(expected: OpenLoginPending | undefined, state: unknown, code: unknown): Promise<User> {
    if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, state)) throw new BadRequestError('open login state mismatch', 'open_state');
    if (!(await deps.singleUse.useToken(openStatePurpose, expected.state, new Date(now())))) throw new BadRequestError('open login state already used', 'open_state');
    // WeChat comes back without a code when the person refused on the phone.
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) throw new BadRequestError('no code: the login was refused on the phone', 'open_refused');
    const grant = await deps.oauth.exchangeCode(code).catch((error: unknown) => {
      // A used, expired or another app's code (40029, 40163, 42003): its own page, whose retry starts this login again.
      if (error instanceof InvalidAuthCodeError) throw new BadRequestError(error.message, 'open_code');
      throw error;
    });
    if (grant.isSnapshotUser) throw new ForbiddenError('a snapshot-page (virtual) WeChat account', 'oauth_snapshot');
    if (grant.scope !== undefined && grant.scope !== 'snsapi_login') throw new BadRequestError(`the code was for ${grant.scope}, not snsapi_login`, 'open_code');
    // The name and avatar are a nicety: a failing sns/userinfo does not stop the login.
    const info = await deps.oauth.getUserInfo(grant).catch((error: unknown) => {
      deps.logger?.warn('open login: sns/userinfo failed', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    });
    // The unionid of the answer our secret authenticated; a profile that names another person is not believed.
    if (grant.unionid && info?.unionid && info.unionid !== grant.unionid) throw new BadRequestError('sns/userinfo named another person', 'open_code');
    return deps.identity.recordOpenPlatformUser(grant.openid, { unionid: grant.unionid ?? info?.unionid, nickname: info?.nickname, avatarUrl: info?.headimgurl });
  }

  return { begin, finish };
}

export type OpenLogin = ReturnType<typeof createOpenLogin>;
