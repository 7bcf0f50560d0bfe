import { BadRequestError, ForbiddenError, TooManyRequestsError } from '../../errors.js';
import type { AppContext, AppRouter } from '../../http/context.js';
import type { Logger } from '../../logging/logger.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { Render } from '../../http/render.js';
import { safeNextPath } from '../../http/safe-next.js';
import { cookieNameFor, rotateSessionId, sessionCookieName, sessionOf } from '../../http/cookie-session.js';
import { CodeTakenError } from '../../db/login-scenes.js';
import { apiUnauthorizedErrcode, maxSceneStrLength } from '../../wechat/constants.js';
import { WechatError } from '../../wechat/errors.js';
import type { LoginWay } from '../ways/login-way.js';
import type { MessageKey } from '../../messages/catalogue.js';
import type { SessionEndNotice } from '../../db/user-sessions.js';
import type { CurrentUser } from '../session/current-user.js';
import { ensureDeviceId } from '../session/device-cookie.js';
import type { PollAnswer, ScanToLogin, ShownScene } from './scan-to-login.js';
import { pollHoldMs } from './poll-hold.js';
import type { SceneStates } from './scene-states.js';
import type { ScenePoller } from './scene-poller.js';
import type { SceneIssuer } from './scene-issuer.js';

export interface LoginRouteDeps {
  render: Render;
  /** The ways in the page offers, in order (LOGIN_METHODS; ways/). */
  ways: LoginWay[];
  /** Ways in that are another site's page, not a scene (open-qr: WeChat's qrconnect), linked from the switch. */
  linkWays?: { name: string; href: string }[];
  /** The way every Official Account may use, taken when WeChat refuses QR codes to this account (48001). */
  codeWay?: LoginWay;
  scenes: SceneIssuer;
  scanToLogin: Pick<ScanToLogin, 'answerPoll'>;
  sceneStates: Pick<SceneStates, 'recordIssued' | 'moveOwner'>;
  poller: ScenePoller;
  currentUser: CurrentUser;
  qrExpireSeconds: number;
  loginPollTimeoutMs: number;
  pollsHeldPerSession: number;
  rateLimitsEnabled: boolean;
  /** Caps new QR codes per client IP (RATE_LIMITS=off lifts it); Redis-shared when configured. */
  limiter: RateLimiter;
  qrCodesPerIpPerMinute: number;
  logger: Logger;
  now?: () => number;
}

/** After a 48001, QR codes are asked for again this much later: an account verified meanwhile gets them back. */
const qrRetryAfterMs = 10 * 60 * 1000;

/** A session remembers the newest few codes, so two open login tabs both work. */
const scenesKeptPerSession = 3;
/** A reload shows the session's newest code again while it is unscanned and has more than this left. */
const reuseSceneWithMoreThanMs = 60_000;
/**
 * An idle login tab renews its expired code by itself this many times in a
 * row (a quarter of an hour with the default lifetime); after that it shows
 * "expired" with a button, so that a forgotten tab stops costing QR codes.
 */
export const maxAutoRenewals = 3;

export type LoginPageState = 'pending' | 'scanned' | 'denied' | 'expired';

/** The QR login: the page, the long-poll and the no-JavaScript status check. */
export function loginRoutes(router: AppRouter, deps: LoginRouteDeps): void {
  const now = deps.now ?? Date.now;
  const heldPolls = new Map<string, number>();
  /** WeChat said 48001 to qrcode/create once: this account may not create QR codes, so no more are asked for. */
  let qrRefusedUntil = 0;
  const wayNamed = (name: string) => [...deps.ways, ...(deps.codeWay ? [deps.codeWay] : [])].find((way) => way.name === name) ?? deps.ways[0];

  router.get('/', async (ctx) => {
    const user = await deps.currentUser(ctx);
    ctx.redirect(user ? '/profile' : '/login');
  });

  router.get('/login', async (ctx) => {
    // The script lands here after /login/poll said 403: a browser that sent no session cookie
    // keeps none, and another code would only be lost too. It is told so, at no QR code's cost.
    if (ctx.query.cookies === 'check' && !sentSessionCookie(ctx)) return renderCookiesPage(ctx, 200);
    const shownBefore = sessionOf(ctx);
    const next = safeNextPath(ctx.query.next);
    if (next) shownBefore.next = next;
    // fresh=1: an application asked for a new login (prompt=login, max_age), so a signed-in browser is shown a code too.
    if (ctx.query.fresh !== '1' && (await deps.currentUser(ctx))) return ctx.redirect(shownBefore.next ?? '/profile');

    ctx.set('Cache-Control', 'no-store');
    // Every code is shown under a new session id (and CSRF token): a copy of this cookie planted or kept
    // from before (session fixation) is left with a session that can no longer complete the login.
    const previousSid = shownBefore.sid!;
    const session = rotateSessionId(ctx);
    // The script asks with renew=auto when a code ran out on an idle tab; the visitor's own visit starts the count again.
    const autoRenewals = ctx.query.renew === 'auto' ? (session.autoRenewals ?? 0) + 1 : 0;
    session.autoRenewals = autoRenewals;
    // WeChat caps qrcode/create per day: a reload must not cost a code.
    const way = chosenWay(ctx.query.method);
    // confirm=1: the scan must be confirmed on the phone whatever LOGIN_CONFIRM says (the operator console asks so).
    const confirmRequired = ctx.query.confirm === '1';
    const reusable = await reusableScene(ctx, previousSid, way, confirmRequired);
    if (reusable) return renderLoginPage(ctx, reusable);
    const newest = session.scenes?.at(-1);
    if (autoRenewals > maxAutoRenewals && newest) return renderLoginPage(ctx, { ...newest, state: 'expired' });
    const entry = await createScene(ctx, way, confirmRequired);
    session.scenes = [...(session.scenes ?? []), entry].slice(-scenesKeptPerSession);
    await renderLoginPage(ctx, entry);
  });

  router.get('/login/poll', async (ctx) => {
    const entry = sceneOfThisSession(ctx, ctx.query.scene);
    ctx.set('Cache-Control', 'no-store');
    if (entry.expiresAt <= now()) {
      ctx.body = { status: 'expired' } satisfies PollAnswer;
      return;
    }
    const sid = sessionOf(ctx).sid!;
    const held = heldPolls.get(sid) ?? 0;
    if (deps.rateLimitsEnabled && held >= deps.pollsHeldPerSession) {
      throw new TooManyRequestsError('too many polls held by this session');
    }
    heldPolls.set(sid, held + 1);
    const left = new AbortController();
    const onClose = () => left.abort();
    ctx.res.once('close', onClose);
    try {
      const waitMs = pollHoldMs(deps.loginPollTimeoutMs, entry.expiresAt - now(), Math.random());
      // `seen=scanned`: the page already shows the number, so hold the poll until the scanner decides.
      const state = await deps.poller.waitForScan(entry.scene, waitMs, left.signal, ctx.query.seen === 'scanned');
      ctx.body = await deps.scanToLogin.answerPoll(ctx, entry, state);
    } finally {
      ctx.res.off('close', onClose);
      const remaining = (heldPolls.get(sid) ?? 1) - 1;
      if (remaining > 0) heldPolls.set(sid, remaining);
      else heldPolls.delete(sid);
    }
  });

  // Without JavaScript, the "check" link lands here: it looks once, then
  // follows the answer or shows the same code again, in the state it is in.
  router.get('/login/status', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const scene = validScene(ctx.query.scene);
    // No session cookie came back: say what to do, not "forbidden".
    if (!findScene(ctx, scene) && !sentSessionCookie(ctx)) return renderCookiesPage(ctx, 403);
    const entry = sceneOfThisSession(ctx, scene);
    const state = await deps.poller.waitForScan(entry.scene, 0, new AbortController().signal);
    const answer = await deps.scanToLogin.answerPoll(ctx, entry, state);
    if (answer.redirect) return ctx.redirect(answer.redirect);
    const shown: LoginPageState = answer.status === 'scanned' || answer.status === 'denied' || answer.status === 'expired' ? answer.status : 'pending';
    await renderLoginPage(ctx, { ...entry, stillWaiting: true, state: shown, number: answer.number });
  });

  /** `?method=` when the page offers that way, else the first it offers; after a 48001, the code instead of the QR code. */
  function chosenWay(method: unknown): LoginWay {
    const way = deps.ways.find((candidate) => candidate.name === method) ?? deps.ways[0];
    return way.name === 'oa-qr' && qrRefusedUntil > now() && deps.codeWay ? deps.codeWay : way;
  }

  /** The session's newest scene of this way, when nobody has scanned it and it has more than a minute left. */
  async function reusableScene(ctx: AppContext, previousSid: string, way: LoginWay, confirmRequired: boolean): Promise<ShownScene | undefined> {
    const newest = ctx.session?.scenes?.at(-1) as ShownScene | undefined;
    if (!newest || wayOf(newest) !== way.name || newest.expiresAt - now() <= reuseSceneWithMoreThanMs) return undefined;
    if (Boolean(newest.confirmRequired) !== confirmRequired) return undefined;
    const state = await deps.poller.waitForScan(newest.scene, 0, new AbortController().signal);
    if (state.status !== 'issued') return undefined;
    // The scene follows the session to its new id, if this copy of the cookie still holds it.
    if (!(await deps.sceneStates.moveOwner(newest.scene, previousSid, sessionOf(ctx).sid!))) return undefined;
    return newest;
  }

  /** A new scene, recorded, and what its way shows for it (a QR code, a code to send), within the per-IP cap. */
  async function createScene(ctx: AppContext, chosen: LoginWay, confirmRequired: boolean): Promise<ShownScene> {
    if (!(await deps.limiter.hit(`qrcode-ip:${ctx.ip}`, deps.qrCodesPerIpPerMinute, 60))) {
      deps.logger.warn('login qrcode refused: per-IP limit', { ip: ctx.ip, limitPerMinute: deps.qrCodesPerIpPerMinute });
      ctx.set('Retry-After', '60');
      throw new TooManyRequestsError('too many login QR codes from this address', 'qr_rate_limited');
    }
    const expiresAt = now() + deps.qrExpireSeconds * 1000;
    const scene = deps.scenes.issueScene(expiresAt, ctx.state.lang);
    // The scan's callback will not carry this browser's cookie: remember now who is waiting on the scene.
    const browser = { deviceId: ensureDeviceId(ctx), userAgent: ctx.get('user-agent'), ip: ctx.ip, sessionId: sessionOf(ctx).sid! };
    for (let attempt = 1; ; attempt += 1) {
      const { way, presented } = await present(chosen, scene, ctx.ip);
      try {
        await deps.sceneStates.recordIssued(scene, expiresAt, browser, { way: way.name, codeHash: presented.codeHash, confirmRequired });
      } catch (error) {
        // A code drawn twice (one in 10^6 at 100,000 live codes) is drawn again, never shared.
        if (error instanceof CodeTakenError && attempt < 3) continue;
        throw error;
      }
      deps.poller.noteIssued(scene);
      return { scene, expiresAt, way: way.name, ...(confirmRequired ? { confirmRequired } : {}), ...(presented.shown as object) };
    }
  }

  /**
   * What the way shows for the scene. An account that may not create QR codes
   * (48001: a subscription account, or one not verified) gets the code
   * instead, and the log says once what to configure.
   */
  async function present(way: LoginWay, scene: string, ip: string) {
    try {
      return { way, presented: await way.present(scene, { ip }) };
    } catch (error) {
      if (!(way.name === 'oa-qr' && deps.codeWay && error instanceof WechatError && error.errcode === apiUnauthorizedErrcode)) throw error;
      if (qrRefusedUntil <= now()) {
        deps.logger.warn('login qrcode refused: this account may not create QR codes (48001); the login page shows the code to send instead. Set LOGIN_METHODS=oa-code', {});
      }
      qrRefusedUntil = now() + qrRetryAfterMs;
      return { way: deps.codeWay, presented: await deps.codeWay.present(scene, { ip }) };
    }
  }

  function validScene(scene: unknown): string {
    if (typeof scene !== 'string' || scene.length === 0 || scene.length > maxSceneStrLength) {
      throw new BadRequestError('scene is missing or too long');
    }
    return scene;
  }

  function findScene(ctx: AppContext, scene: string): ShownScene | undefined {
    return ctx.session?.scenes?.find((candidate) => candidate.scene === scene);
  }

  function sceneOfThisSession(ctx: AppContext, scene: unknown): ShownScene {
    const entry = findScene(ctx, validScene(scene));
    if (!entry) throw new ForbiddenError('this session did not create the scene');
    return entry;
  }

  async function renderLoginPage(ctx: AppContext, view: ShownScene & { stillWaiting?: boolean; state?: LoginPageState; number?: string }) {
    const state = view.state ?? 'pending';
    const session = sessionOf(ctx);
    // Why this browser's last session ended (current-user.ts), said once.
    const ended = session.sessionEnded;
    delete session.sessionEnded;
    // A login the operator console asked to be confirmed stays one when the person picks another way or a new code.
    const kept = view.confirmRequired ? '&fresh=1&confirm=1' : '';
    deps.render(ctx, 'login.njk', {
      scene: view.scene,
      expiresAt: new Date(view.expiresAt).toISOString(),
      secondsLeft: Math.max(0, Math.round((view.expiresAt - now()) / 1000)),
      ...(await wayNamed(wayOf(view)).view(view)),
      ways: [
        ...deps.ways.map((way) => ({ name: way.name, href: `/login?method=${way.name}${kept}`, current: way.name === wayOf(view) })),
        ...(deps.linkWays ?? []).map((way) => ({ ...way, current: false })),
      ],
      // Where a new code of the same way is asked for (the buttons, the script's renewals).
      loginHref: wayOf(view) === deps.ways[0].name ? (kept ? `/login?${kept.slice(1)}` : '/login') : `/login?method=${wayOf(view)}${kept}`,
      statusHref: `/login/status?scene=${encodeURIComponent(view.scene)}`,
      stillWaiting: view.stillWaiting ?? false,
      // One state at a time, the same with the script and without it (the no-JavaScript status check renders it here).
      pageState: state,
      pickNumber: view.number,
      autoRenewalsLeft: Math.max(0, maxAutoRenewals - (session.autoRenewals ?? 0)),
      sessionEnded: ended ? ctx.state.t(endedMessages[ended] ?? 'sessionEndedUnknown') : undefined,
      inWechat: /MicroMessenger/i.test(ctx.get('user-agent')),
    });
  }

  /** "Allow cookies": for a browser that sends no session cookie, so that nothing here can work. No scene is created. */
  function renderCookiesPage(ctx: AppContext, status: number) {
    ctx.set('Cache-Control', 'no-store');
    const otherLang = ctx.state.lang === 'en' ? 'zh' : 'en';
    // The language link keeps the check: a plain /login would cost a QR code that this browser cannot use.
    deps.render(ctx, 'cookies.njk', { switchLangHref: `/login?cookies=check&lang=${otherLang}` }, status);
  }
}

/** A scene's way; scenes kept from before ways were recorded are QR codes. */
function wayOf(shown: ShownScene): string {
  return shown.way ?? 'oa-qr';
}

/** Whether the request carried our session cookie at all (signed or not, valid or not; `__Host-` on https). */
function sentSessionCookie(ctx: AppContext): boolean {
  return Boolean(ctx.cookies.get(sessionCookieName) || ctx.cookies.get(cookieNameFor(sessionCookieName, true)));
}

/** What the login page says about a session that ended elsewhere; an unknown reason (a row from before reasons were kept) says only that it ended. */
const endedMessages: Record<SessionEndNotice, MessageKey> = {
  unknown: 'sessionEndedUnknown',
  'end-link': 'sessionEndedByLink',
  revoked: 'sessionEndedByOtherDevice',
  unfollow: 'sessionEndedByUnfollow',
  admin: 'sessionEndedByAdmin',
  expired: 'sessionEndedExpired',
};

