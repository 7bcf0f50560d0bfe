import QRCode from 'qrcode';
import { BadRequestError, ForbiddenError, ServiceUnavailableError, TooManyRequestsError } from '../errors.js';
import type { AppContext, AppRouter } from '../http/context.js';
import type { Logger } from '../http/error-handler.js';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { Render } from '../http/render.js';
import { safeNextPath } from '../http/safe-next.js';
import { sessionOf } from '../http/session.js';
import type { OfficialAccountApi } from '../wechat/official-account-api.js';
import { apiQuotaReachedErrcode, maxSceneStrLength } from '../wechat/constants.js';
import { WechatError } from '../wechat/errors.js';
import type { CurrentUser } from './current-user.js';
import { ensureDeviceId } from './device-cookie.js';
import type { LoginConfirmation } from './login-confirmation.js';
import type { SceneState } from './login-service.js';
import type { CompleteLogin } from './session-login.js';
import type { ScenePoller } from './scene-poller.js';
import type { SceneIssuer } from './scenes.js';

export type PollStatus = 'pending' | 'scanned' | 'success' | 'bind' | 'denied' | 'expired';
export interface PollAnswer {
  status: PollStatus;
  redirect?: string;
  /** With `scanned`: the number the scanner must pick in WeChat. */
  number?: string;
}

export interface LoginRouteDeps {
  render: Render;
  api: OfficialAccountApi;
  scenes: SceneIssuer;
  completeLogin: CompleteLogin;
  poller: ScenePoller;
  /** Present when LOGIN_CONFIRM is on. */
  confirmation?: LoginConfirmation;
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

/** A session remembers the newest few codes, so two open login tabs both work. */
const scenesKeptPerSession = 3;
/** A reload shows the session's newest code again while it is unscanned and has more than this left. */
const reuseSceneWithMoreThanMs = 60_000;

/** The QR login: the page, the long-poll and the no-JavaScript status check. */
export function loginRoutes(router: AppRouter, deps: LoginRouteDeps): void {
  const now = deps.now ?? Date.now;
  const heldPolls = new Map<string, number>();

  router.get('/', async (ctx) => {
    const user = await deps.currentUser(ctx);
    ctx.redirect(user ? '/profile' : '/login');
  });

  router.get('/login', async (ctx) => {
    const session = sessionOf(ctx);
    const next = safeNextPath(ctx.query.next);
    if (next) session.next = next;
    if (await deps.currentUser(ctx)) return ctx.redirect(session.next ?? '/profile');

    ctx.set('Cache-Control', 'no-store');
    // WeChat caps qrcode/create per day: a reload must not cost a code.
    const reusable = await reusableScene(ctx);
    if (reusable) return renderLoginPage(ctx, reusable);
    const entry = await createScene(ctx);
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
      const waitMs = Math.min(deps.loginPollTimeoutMs, entry.expiresAt - now());
      // `seen=scanned`: the page already shows the number, so hold the poll until the scanner decides.
      const state = await deps.poller.waitForScan(entry.scene, waitMs, left.signal, ctx.query.seen === 'scanned');
      ctx.body = await answerPoll(ctx, entry, state);
    } finally {
      ctx.res.off('close', onClose);
      const remaining = (heldPolls.get(sid) ?? 1) - 1;
      if (remaining > 0) heldPolls.set(sid, remaining);
      else heldPolls.delete(sid);
    }
  });

  // Without JavaScript, the "check" link lands here: it looks once, then
  // follows the answer or shows the same code again.
  router.get('/login/status', async (ctx) => {
    const entry = sceneOfThisSession(ctx, ctx.query.scene);
    const state = await deps.poller.waitForScan(entry.scene, 0, new AbortController().signal);
    const answer = await answerPoll(ctx, entry, state);
    if (answer.redirect) return ctx.redirect(answer.redirect);
    if (answer.status === 'expired') return ctx.redirect('/login');
    ctx.set('Cache-Control', 'no-store');
    await renderLoginPage(ctx, { ...entry, stillWaiting: true, answer });
  });

  /** The session's newest scene, when nobody has scanned it and it has more than a minute left. */
  async function reusableScene(ctx: AppContext): Promise<SceneEntry | undefined> {
    const newest = ctx.session?.scenes?.at(-1) as SceneEntry | undefined;
    if (!newest || newest.expiresAt - now() <= reuseSceneWithMoreThanMs) return undefined;
    const state = await deps.poller.waitForScan(newest.scene, 0, new AbortController().signal);
    return state.status === 'pending' ? newest : undefined;
  }

  /**
   * A new scene and its QR code, within the per-IP cap. Every creation and
   * every failure is one log line with a stable message, so that operators
   * see the daily quota (45009) coming.
   */
  async function createScene(ctx: AppContext): Promise<SceneEntry> {
    if (!(await deps.limiter.hit(`qrcode-ip:${ctx.ip}`, deps.qrCodesPerIpPerMinute, 60))) {
      deps.logger.warn('login qrcode refused: per-IP limit', { ip: ctx.ip, limitPerMinute: deps.qrCodesPerIpPerMinute });
      ctx.set('Retry-After', '60');
      throw new TooManyRequestsError('too many login QR codes from this address', 'qr_rate_limited');
    }
    const expiresAt = now() + deps.qrExpireSeconds * 1000;
    const scene = deps.scenes.issueScene(expiresAt);
    deps.poller.noteIssued(scene);
    if (deps.confirmation) {
      // The scan's callback will not carry this browser's cookie: remember now who is waiting on the scene.
      const browser = { deviceId: ensureDeviceId(ctx), userAgent: ctx.get('user-agent'), ip: ctx.ip };
      await deps.confirmation.recordSceneRequest(scene, expiresAt, browser);
    }
    try {
      const qrcode = await deps.api.createLoginQrcode(scene, deps.qrExpireSeconds);
      deps.logger.info('login qrcode created', { ip: ctx.ip });
      return { scene, expiresAt, qrUrl: qrcode.url };
    } catch (error) {
      if (error instanceof WechatError && error.errcode === apiQuotaReachedErrcode) {
        deps.logger.error('login qrcode daily quota reached', { errcode: error.errcode, errmsg: error.errmsg });
        throw new ServiceUnavailableError('WeChat refuses more QR codes today (45009)', 'qr_quota_exhausted');
      }
      deps.logger.warn('login qrcode creation failed', {
        errcode: error instanceof WechatError ? error.errcode : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  function sceneOfThisSession(ctx: AppContext, scene: unknown): SceneEntry {
    if (typeof scene !== 'string' || scene.length === 0 || scene.length > maxSceneStrLength) {
      throw new BadRequestError('scene is missing or too long');
    }
    const entry = ctx.session?.scenes?.find((candidate) => candidate.scene === scene);
    if (!entry) throw new ForbiddenError('this session did not create the scene');
    return entry as SceneEntry;
  }

  /** Turns what the database says into the poll's answer; a scanner with a phone is logged in here. */
  async function answerPoll(ctx: AppContext, entry: SceneEntry, state: SceneState): Promise<PollAnswer> {
    if (state.status === 'pending') return { status: entry.expiresAt <= now() ? 'expired' : 'pending' };
    if (state.status === 'awaiting') return { status: entry.expiresAt <= now() ? 'expired' : 'scanned', number: state.number };
    if (state.status === 'denied') return { status: 'denied' };
    const { status, redirect } = await deps.completeLogin(ctx, state.user, 'qrcode', entry.scene);
    return redirect ? { status, redirect } : { status };
  }

  async function renderLoginPage(ctx: AppContext, view: SceneEntry & { stillWaiting?: boolean; answer?: PollAnswer }) {
    const svg = await QRCode.toString(view.qrUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    deps.render(ctx, 'login.njk', {
      scene: view.scene,
      expiresAt: new Date(view.expiresAt).toISOString(),
      secondsLeft: Math.max(0, Math.round((view.expiresAt - now()) / 1000)),
      qrSvg: svg,
      statusHref: `/login/status?scene=${encodeURIComponent(view.scene)}`,
      stillWaiting: view.stillWaiting ?? false,
      // The no-JavaScript status check shows the same states as the script: scanned with the number, or denied.
      pollStatus: view.answer?.status ?? 'pending',
      pickNumber: view.answer?.number,
      inWechat: /MicroMessenger/i.test(ctx.get('user-agent')),
    });
  }
}

interface SceneEntry {
  scene: string;
  expiresAt: number;
  qrUrl: string;
}
