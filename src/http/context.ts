import type Router from '@koa/router';
import type Koa from 'koa';
import type { SessionEndNotice } from '../db/user-sessions.js';
import type { Lang, Translate } from '../messages/catalogue.js';

/** What a browser session holds. Stored in a signed cookie, so it stays small. */
export interface SessionData {
  /** A random id: the key for per-session caps such as held polls. */
  sid?: string;
  csrf?: string;
  lang?: Lang;
  /** The login QR scenes this browser was shown (the newest few). */
  scenes?: { scene: string; expiresAt: number; way?: string; qrUrl?: string; code?: string; confirmRequired?: boolean }[];
  /** Where to go after logging in (a same-site path). */
  next?: string;
  /** Signed in: the token of a session kept on the server (user_sessions); the server decides if it is still live. */
  auth?: string;
  /** An OAuth round trip under way (its single-use state); `baseOpenid` when it asks for snsapi_userinfo after a base one found a newcomer. */
  /** An Open Platform website login under way (open-qr): its state, single use. */
  openLogin?: { state: string; expiresAt: number };
  oauth?: { state: string; scope: 'snsapi_base' | 'snsapi_userinfo'; expiresAt: number; baseOpenid?: string };
  /** The WeChat user who opens our links in WeChat in this browser, proven by a snsapi_base round trip. */
  wechatOpenid?: { openid: string; expiresAt: number };
  /** That snsapi_base round trip under way: its single-use state and the path to return to. */
  wechatIdentityOauth?: { state: string; returnTo: string; expiresAt: number };
  /**
   * Scanned, but the user must bind a phone before this becomes a login.
   * `version` is the user's session version when it began: unfollowing raises
   * it, which ends every pending binding of the user.
   */
  pendingBind?: { userId: number; version: number; scene?: string; method: 'qrcode' | 'code' | 'miniprogram-code' | 'open' | 'oauth'; confirmedAt?: number; expiresAt: number };
  /** The last bind code this browser had sent: to which number, and when the next one may be asked for (epoch ms). */
  bindResend?: { phone: string; at: number };
  /** How many expired codes in a row the login page's script renewed by itself (qr-routes.ts stops after a few). */
  autoRenewals?: number;
  /** Why this browser's signed-in session ended elsewhere, kept until the login page has said it once. */
  sessionEnded?: SessionEndNotice;
}

export interface AppState {
  lang: Lang;
  t: Translate;
  /** The admin using the operator console (console/console-access.ts). */
  admin?: unknown;
}

export interface AppContextExtras {
  session: (SessionData & { toJSON(): object }) | null;
}

export type AppContext = Koa.ParameterizedContext<AppState, AppContextExtras>;
export type AppRouter = Router<AppState, AppContextExtras>;
export type AppMiddleware = (ctx: AppContext, next: Koa.Next) => Promise<unknown>;
