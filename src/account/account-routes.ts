import type Koa from 'koa';
import type { LoginHistoryQueries } from '../db/login-history.js';
import { AppError, UnauthorizedError, ValidationError } from '../errors.js';
import type { AppContext, AppRouter } from '../http/context.js';
import { requireCsrf } from '../http/csrf.js';
import { formOf } from '../http/form.js';
import type { Render } from '../http/render.js';
import type { CurrentSession } from '../login/session/current-user.js';
import { loginMetaOf, type SessionLogin } from '../login/session/session-login.js';
import type { SessionStore } from '../login/session/session-store.js';
import { describeUserAgent } from '../http/user-agent.js';
import { codeLifetimeMs, type PendingBinding, type PhoneBinding } from '../login/phone/phone-binding.js';
import { maskIdentifier, maskPhone, normalizeMainlandPhone } from '../login/phone/phone.js';

export interface AccountRouteDeps {
  render: Render;
  phoneBinding: PhoneBinding;
  sessionLogin: Pick<SessionLogin, 'signIn'>;
  currentSession: CurrentSession;
  sessions: SessionStore;
  loginHistory: LoginHistoryQueries;
  formBody: Koa.Middleware;
  now?: () => number;
}

const recentLoginsShown = 10;

/** Phone binding, the profile page (with the signed-in devices) and /api/me. */
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
      const { nextSendAt } = await deps.phoneBinding.sendBindCode(pending.userId, phone, ctx.ip);
      // Remembered for this browser, so that every later render of the page can say when the next code may be asked for.
      if (nextSendAt) ctx.session!.bindResend = { phone, at: nextSendAt.getTime() };
      else delete ctx.session!.bindResend;
      renderBind(ctx, { phone: form.phone, notice: ctx.state.t('codeSent', { minutes: codeLifetimeMs / 60_000 }), codeSent: true });
    });
  });

  router.post('/bind', deps.formBody, requireCsrf, async (ctx) => {
    const pending = pendingBindOf(ctx);
    if (!pending) return ctx.redirect('/login');
    const form = formOf(ctx);
    await renderFormErrors(ctx, form, async () => {
      const code = typeof form.code === 'string' ? form.code.trim() : '';
      const started = await deps.phoneBinding.bindAndSignIn(pending, requirePhone(form.phone), code, loginMetaOf(ctx));
      ctx.status = 303;
      ctx.redirect(await deps.sessionLogin.signIn(ctx, started));
    });
  });

  router.get('/profile', async (ctx) => {
    const signedIn = await deps.currentSession(ctx);
    if (!signedIn) return ctx.redirect('/login');
    const { user } = signedIn;
    const [logins, sessions] = await Promise.all([
      deps.loginHistory.listRecentLogins(user.id, recentLoginsShown),
      deps.sessions.listSessions(user.id),
    ]);
    ctx.set('Cache-Control', 'no-store');
    deps.render(ctx, 'profile.njk', {
      nickname: user.nickname,
      phone: user.phone ? maskPhone(user.phone) : null,
      openid: user.openid ? maskIdentifier(user.openid) : null,
      unionid: user.unionid ? maskIdentifier(user.unionid) : null,
      // The newest login is this one or a later one: the history is where logins are kept.
      lastLoginAt: logins[0]?.at ?? null,
      logins: logins.map((login) => ({ ...login, ...describeUserAgent(login.userAgent) })),
      sessions: sessions.map((session) => ({
        id: session.id,
        ip: session.ip,
        lastSeenAt: session.lastSeenAt,
        createdAt: session.createdAt,
        current: session.id === signedIn.session.id,
        ...describeUserAgent(session.userAgent),
      })),
    });
  });

  router.get('/api/me', async (ctx) => {
    const user = (await deps.currentSession(ctx))?.user;
    ctx.set('Cache-Control', 'no-store');
    if (!user) throw new UnauthorizedError('not logged in', 'unauthenticated');
    const logins = await deps.loginHistory.listRecentLogins(user.id, recentLoginsShown);
    ctx.body = {
      openid: user.openid,
      unionid: user.unionid,
      phone: user.phone,
      lastLoginAt: logins[0]?.at.toISOString() ?? null,
      logins: logins.map((login) => ({ at: login.at.toISOString(), method: login.method, ip: login.ip, userAgent: login.userAgent })),
    };
  });

  function pendingBindOf(ctx: AppContext): PendingBinding | undefined {
    const pending = ctx.session?.pendingBind;
    // A binding from before pending bindings carried a version cannot be checked against an unfollow: it is over.
    return pending && pending.expiresAt > now() && typeof pending.version === 'number' ? pending : undefined;
  }

  interface BindView {
    phone?: unknown;
    notice?: string;
    error?: string;
    codeSent?: boolean;
    /** 409 phone_taken: the number is another WeChat account's; the page says what to do instead of offering the form again. */
    taken?: boolean;
  }

  function renderBind(ctx: AppContext, data: BindView, status = 200) {
    const phone = typeof data.phone === 'string' ? data.phone : '';
    deps.render(ctx, 'bind.njk', { ...data, phone, resendSeconds: resendSecondsFor(ctx, phone) }, status);
  }

  /** Seconds until another code may go to the number on the page (0: now); the same whoever holds the number. */
  function resendSecondsFor(ctx: AppContext, phone: string): number {
    const resend = ctx.session?.bindResend;
    if (!resend || resend.phone !== normalizeMainlandPhone(phone)) return 0;
    return Math.max(0, Math.ceil((resend.at - now()) / 1000));
  }

  /** The words for a refused form: a wrong code says how many tries are left. */
  function messageOf(ctx: AppContext, error: AppError): string {
    const left = error.params?.attemptsLeft;
    if (error.code === 'invalid_code' && typeof left === 'number') {
      if (left === 0) return ctx.state.t('codeWrongNoTriesLeft');
      return left === 1 ? ctx.state.t('codeWrongOneTryLeft') : ctx.state.t('codeWrongTriesLeft', { n: left });
    }
    if (error.code === 'sms_too_soon') {
      // This browser's own last send knows the seconds really left; otherwise the whole interval is said.
      const seconds = resendSecondsFor(ctx, typeof formOf(ctx).phone === 'string' ? (formOf(ctx).phone as string) : '');
      if (seconds > 0) return ctx.state.t('sms_too_soon', { seconds });
    }
    return ctx.state.t(error.code, error.params);
  }

  /** Runs a form action; an exposed error re-renders the bind page with its message and status. */
  async function renderFormErrors(ctx: AppContext, form: Record<string, unknown>, action: () => Promise<void>) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      const taken = error.code === 'phone_taken';
      renderBind(ctx, { phone: taken ? '' : form.phone, error: messageOf(ctx, error), codeSent: !taken, taken }, error.status);
    }
  }
}

function requirePhone(input: unknown): string {
  const phone = normalizeMainlandPhone(input);
  if (!phone) throw new ValidationError('not a mainland mobile number', 'invalid_phone');
  return phone;
}
