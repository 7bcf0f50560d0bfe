import type Router from '@koa/router';
import type Koa from 'koa';
import type { Lang } from './i18n.js';

/** What a browser session holds. Stored in a signed cookie, so it stays small. */
export interface SessionData {
  /** A random id: the key for per-session caps such as held polls. */
  sid?: string;
  csrf?: string;
  lang?: Lang;
  /** The login QR scenes this browser was shown (the newest few). */
  scenes?: { scene: string; expiresAt: number; qrUrl: string }[];
  /** Where to go after logging in (a same-site path). */
  next?: string;
  /** Logged in: the user and the session version it was issued under. */
  userId?: number;
  sessionVersion?: number;
  /** An OAuth round trip under way: its single-use state. */
  oauth?: { state: string; scope: 'snsapi_base' | 'snsapi_userinfo'; expiresAt: number };
  /** The WeChat user who opens confirm links in this browser, proven by a snsapi_base round trip (LOGIN_CONFIRM). */
  wechatOpenid?: { openid: string; expiresAt: number };
  /** A confirm page's snsapi_base round trip under way: its single-use state and the link to return to. */
  confirmOauth?: { state: string; token: string; expiresAt: number };
  /** Scanned, but the user must bind a phone before this becomes a login. */
  pendingBind?: { userId: number; scene?: string; method: 'qrcode' | 'oauth'; expiresAt: number };
}

export interface AppState {
  lang: Lang;
  t: (key: string, fallback?: string) => string;
}

export interface AppContextExtras {
  session: (SessionData & { toJSON(): object }) | null;
}

export type AppContext = Koa.ParameterizedContext<AppState, AppContextExtras>;
export type AppRouter = Router<AppState, AppContextExtras>;
export type AppMiddleware = (ctx: AppContext, next: Koa.Next) => Promise<unknown>;
