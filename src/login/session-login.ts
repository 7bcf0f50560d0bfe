import type { LoginMethod } from '../db/login-history.js';
import type { User } from '../db/users.js';
import type { AppContext } from '../http/context.js';
import { regenerateSession, sessionOf } from '../http/session.js';
import type { LoginService } from './login-service.js';

/** How long a scanned-but-unbound session may take to bind its phone. */
const pendingBindLifetimeMs = 15 * 60 * 1000;

export interface LoginOutcome {
  status: 'success' | 'bind' | 'expired';
  redirect?: string;
}

/**
 * The end of every login (QR scan, OAuth, phone binding): a user without a
 * phone gets a pending binding, which is not yet a login; a user with one is
 * recorded in the login history and gets a fresh session. `expired` means the
 * scene was already used by another login.
 */
export function createSessionLogin(loginService: LoginService, now: () => number = Date.now) {
  return async function completeLogin(ctx: AppContext, user: User, method: LoginMethod, scene?: string): Promise<LoginOutcome> {
    const session = sessionOf(ctx);
    if (!user.phone) {
      if (method === 'miniprogram') throw new Error('mini-program logins do not use browser sessions');
      session.pendingBind = { userId: user.id, scene, method, expiresAt: now() + pendingBindLifetimeMs };
      return { status: 'bind', redirect: '/bind' };
    }
    const meta = { ip: ctx.ip, userAgent: ctx.get('user-agent') };
    if (!(await loginService.recordLogin(user, method, meta, scene))) return { status: 'expired' };
    const redirect = session.next ?? '/profile';
    regenerateSession(ctx, { userId: user.id, sessionVersion: user.sessionVersion });
    return { status: 'success', redirect };
  };
}

export type CompleteLogin = ReturnType<typeof createSessionLogin>;
