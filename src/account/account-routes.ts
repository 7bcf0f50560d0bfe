import type Koa from 'koa';
import type { LoginHistoryQueries } from '../db/login-history.js';
import { PhoneTakenError, type UserQueries } from '../db/users.js';
import { AppError, ConflictError, TooManyRequestsError, UnauthorizedError, ValidationError } from '../errors.js';
import type { AppContext, AppRouter, SessionData } from '../http/context.js';
import { requireCsrf } from '../http/csrf.js';
import { formOf } from '../http/form.js';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { Render } from '../http/render.js';
import type { CurrentUser } from '../login/current-user.js';
import type { CompleteLogin } from '../login/session-login.js';
import { maskIdentifier, maskPhone, normalizeMainlandPhone } from './phone.js';
import type { VerificationCodes } from './verification-codes.js';

export interface AccountRouteDeps {
  render: Render;
  users: UserQueries;
  loginHistory: LoginHistoryQueries;
  completeLogin: CompleteLogin;
  codes: VerificationCodes;
  currentUser: CurrentUser;
  limiter: RateLimiter;
  bindAttemptsPerIpPerHour: number;
  formBody: Koa.Middleware;
  now?: () => number;
}

const recentLoginsShown = 10;

/** Phone binding, the profile page and /api/me. */
export function accountRoutes(router: AppRouter, deps: AccountRouteDeps): void {
  const now = deps.now ?? Date.now;

  router.get('/bind', async (ctx) => {
    if (!pendingBindOf(ctx)) return ctx.redirect('/login');
    ctx.set('Cache-Control', 'no-store');
    renderBind(ctx, {});
  });

  router.post('/bind/code', deps.formBody, requireCsrf, async (ctx) => {
    const form = formOf(ctx);
    const pending = pendingBindOf(ctx);
    if (!pending) return ctx.redirect('/login');
    await renderFormErrors(ctx, form, async () => {
      const phone = requirePhone(form.phone);
      // No code is sent for a number that cannot be bound anyway.
      await refuseTakenPhone(phone, pending.userId);
      await deps.codes.sendCode(phone, ctx.ip);
      renderBind(ctx, { phone: form.phone, notice: ctx.state.t('codeSent'), codeSent: true });
    });
  });

  router.post('/bind', deps.formBody, requireCsrf, async (ctx) => {
    const pending = pendingBindOf(ctx);
    if (!pending) return ctx.redirect('/login');
    const form = formOf(ctx);
    await renderFormErrors(ctx, form, async () => {
      if (!(await deps.limiter.hit(`bind-ip:${ctx.ip}`, deps.bindAttemptsPerIpPerHour, 3600))) {
        throw new TooManyRequestsError('too many bind attempts from this address');
      }
      const phone = requirePhone(form.phone);
      await refuseTakenPhone(phone, pending.userId);
      await deps.codes.consumeCode(phone, typeof form.code === 'string' ? form.code.trim() : '');
      try {
        await deps.users.bindPhone(pending.userId, phone, new Date(now()));
      } catch (error) {
        if (error instanceof PhoneTakenError) throw new ConflictError('phone bound to another user', 'phone_taken');
        throw error;
      }
      const user = await deps.users.findUserById(pending.userId);
      const outcome = user ? await deps.completeLogin(ctx, user, pending.method, pending.scene) : undefined;
      if (outcome?.status !== 'success') throw new ValidationError('the scan was already used', 'bind_expired');
      ctx.status = 303;
      ctx.redirect(outcome.redirect!);
    });
  });

  router.get('/profile', async (ctx) => {
    const user = await deps.currentUser(ctx);
    if (!user) return ctx.redirect('/login');
    const logins = await deps.loginHistory.listRecentLogins(user.id, recentLoginsShown);
    ctx.set('Cache-Control', 'no-store');
    deps.render(ctx, 'profile.njk', {
      nickname: user.nickname,
      phone: user.phone ? maskPhone(user.phone) : null,
      openid: user.openid ? maskIdentifier(user.openid) : null,
      unionid: user.unionid ? maskIdentifier(user.unionid) : null,
      lastLoginAt: user.lastLoginTime,
      logins,
    });
  });

  router.get('/api/me', async (ctx) => {
    const user = await deps.currentUser(ctx);
    ctx.set('Cache-Control', 'no-store');
    if (!user) throw new UnauthorizedError('not logged in', 'unauthenticated');
    const logins = await deps.loginHistory.listRecentLogins(user.id, recentLoginsShown);
    ctx.body = {
      openid: user.openid,
      unionid: user.unionid,
      phone: user.phone,
      lastLoginAt: user.lastLoginTime?.toISOString() ?? null,
      logins: logins.map((login) => ({ at: login.at.toISOString(), method: login.method, ip: login.ip, userAgent: login.userAgent })),
    };
  });

  async function refuseTakenPhone(phone: string, userId: number): Promise<void> {
    const holder = await deps.users.findUserByPhone(phone);
    if (holder && holder.id !== userId) throw new ConflictError('phone bound to another user', 'phone_taken');
  }

  function pendingBindOf(ctx: AppContext): SessionData['pendingBind'] {
    const pending = ctx.session?.pendingBind;
    return pending && pending.expiresAt > now() ? pending : undefined;
  }

  function renderBind(ctx: AppContext, data: { phone?: unknown; notice?: string; error?: string; codeSent?: boolean }, status = 200) {
    deps.render(ctx, 'bind.njk', { phone: typeof data.phone === 'string' ? data.phone : '', ...data }, status);
  }

  /** Runs a form action; an exposed error re-renders the bind page with its message and status. */
  async function renderFormErrors(ctx: AppContext, form: Record<string, unknown>, action: () => Promise<void>) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      renderBind(ctx, { phone: form.phone, error: ctx.state.t(error.code), codeSent: true }, error.status);
    }
  }
}

function requirePhone(input: unknown): string {
  const phone = normalizeMainlandPhone(input);
  if (!phone) throw new ValidationError('not a mainland mobile number', 'invalid_phone');
  return phone;
}
