import type { Knex } from 'knex';
import type { LoginMethod } from '../../db/login-history.js';
import type { User } from '../../db/users.js';
import type { AppContext } from '../../http/context.js';
import type { Logger } from '../../logging/logger.js';
import { regenerateSession, sessionOf } from '../../http/cookie-session.js';
import type { LoginMeta, LoginRecord } from './login-record.js';
import { hashDeviceId, reissueDeviceId } from './device-cookie.js';
import type { SessionStore } from './session-store.js';

/** How long a scanned-but-unbound session may take to bind its phone. */
const pendingBindLifetimeMs = 15 * 60 * 1000;

export interface LoginOutcome {
  status: 'success' | 'bind' | 'expired' | 'denied';
  redirect?: string;
  /** The new server-side session, on success. */
  sessionId?: number;
}

/** A login just recorded, with its server-side session. */
export interface StartedSession {
  token: string;
  /** The session's id (user_sessions.id). */
  id: number;
  user: User;
  method: LoginMethod;
  /** The signed-in browser's device hash, as the session records it. */
  deviceHash: string;
  /** The device id the browser came with (replaced by this login), hashed. */
  previousDeviceHash?: string;
}

/** What follows a browser sign-in (remembering the device, the WeChat notice); it must never fail the login. */
export type AfterSignIn = (ctx: AppContext, started: StartedSession) => Promise<void>;

export interface SessionLoginDeps {
  loginRecord: LoginRecord;
  sessions: SessionStore;
  afterSignIn?: AfterSignIn;
  /** One line per completed login: who, how, which session, from where (never a token). */
  logger?: Logger;
  now?: () => number;
}

/** A browser login's address and user agent, the hash of the device id it gets, and of the one it came with. */
export type BrowserLoginMeta = LoginMeta & { deviceHash: string; previousDeviceHash?: string; confirmedAt?: number };

/**
 * What the login history and the session record of a browser login say about it. The browser gets a
 * new device id here (device-cookie.ts: only an id issued in the session that completes a login may
 * become a known device), once per request.
 */
export function loginMetaOf(ctx: AppContext): BrowserLoginMeta {
  const device = reissueDeviceId(ctx);
  return {
    ip: ctx.ip,
    userAgent: ctx.get('user-agent'),
    deviceHash: hashDeviceId(device.id),
    previousDeviceHash: device.previous ? hashDeviceId(device.previous) : undefined,
  };
}

/**
 * The end of every browser login (QR scan, OAuth, phone binding): a user
 * without a phone gets a pending binding, which is not yet a login; a user
 * with one gets a server-side session, whose row is also the login's history
 * line (one INSERT), and a fresh cookie session that carries only its token.
 */
export function createSessionLogin(deps: SessionLoginDeps) {
  const now = deps.now ?? Date.now;

  /**
   * Records the login by starting its session (inside the caller's transaction when given).
   * Undefined when the scene was already used by another login.
   */
  async function recordSignIn(
    trx: Knex.Transaction | undefined,
    user: User,
    method: LoginMethod,
    meta: BrowserLoginMeta,
    scene?: string,
  ): Promise<StartedSession | undefined> {
    const session = await deps.loginRecord.recordLogin(user, method, meta, (run) => deps.sessions.startSession({ userId: user.id, method, ...meta, scene }, run), trx);
    if (!session) return undefined;
    return { ...session, user, method, deviceHash: meta.deviceHash, previousDeviceHash: meta.previousDeviceHash };
  }

  /**
   * Gives the browser the new session: the whole cookie session is replaced
   * (new sid, new CSRF token), so a session planted before the login
   * (fixation) never becomes a signed-in one. Then what follows every
   * sign-in (afterSignIn). Returns where to go next.
   */
  async function signIn(ctx: AppContext, started: StartedSession): Promise<string> {
    const redirect = ctx.session?.next ?? '/profile';
    regenerateSession(ctx, { auth: started.token });
    deps.logger?.info('login', { userId: started.user.id, method: started.method, sessionId: started.id, ip: ctx.ip });
    await deps.afterSignIn?.(ctx, started);
    return redirect;
  }

  /** `expired` means the scene was already used by another login. */
  async function completeLogin(ctx: AppContext, user: User, method: LoginMethod, scene?: string, confirmedAt?: number): Promise<LoginOutcome> {
    // A blocked user (the operator console) logs in by no way in.
    if (user.blockedAt) return { status: 'denied' };
    if (!user.phone) {
      if (method === 'miniprogram') throw new Error('mini-program logins do not use browser sessions');
      sessionOf(ctx).pendingBind = { userId: user.id, version: user.sessionVersion, scene, method, confirmedAt, expiresAt: now() + pendingBindLifetimeMs };
      return { status: 'bind', redirect: '/bind' };
    }
    const meta = loginMetaOf(ctx);
    const started = await recordSignIn(undefined, user, method, { ...meta, confirmedAt }, scene);
    if (!started) return { status: 'expired' };
    return { status: 'success', redirect: await signIn(ctx, started), sessionId: started.id };
  }

  return { completeLogin, recordSignIn, signIn };
}

export type SessionLogin = ReturnType<typeof createSessionLogin>;
export type CompleteLogin = SessionLogin['completeLogin'];
