import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import QRCode from 'qrcode';
import type { SmsInbox } from '../login/phone/sms-sender.js';
import { simulatorOriginalId, type Config } from '../config.js';
import type { AppContext, AppRouter } from '../http/context.js';
import { requireCsrf } from '../http/csrf.js';
import { formOf } from '../http/form.js';
import { readTextBody } from '../http/read-body.js';
import type { Logger } from '../logging/logger.js';
import type { Render } from '../http/render.js';
import { apiUnauthorizedErrcode, jsapiTicketPath, qrconnectPath, maxMiniCodeSceneLength, maxUserInfoBatch, showQrcodePath, unlimitedCodePath } from '../wechat/constants.js';
import { createSimulatedPhone, type PushResult } from './phone.js';
import { buildPhoneView } from './phone-view.js';
import type { Persona, SimulatorState } from './simulator-state.js';

export interface SimulatorRouteDeps {
  config: Config;
  state: SimulatorState;
  render: Render;
  smsInbox: SmsInbox;
  formBody: Koa.Middleware;
  logger: Logger;
  /** The app's clock: WeChat's timestamps on the pushes follow it. */
  now?: () => number;
}


type Ctx = AppContext;

/** Which persona the phone's in-app browser reads as; only the simulated authorize page looks at it. */
const inAppPersonaCookie = 'wl.sim.reader';

/** The built-in WeChat: its API under /simulator/api and a phone at /simulator. */
export function simulatorRoutes(router: AppRouter, deps: SimulatorRouteDeps): void {
  simulatorApiRoutes(router, deps);
  simulatorOauthRoutes(router, deps);
  simulatorMiniProgramRoutes(router, deps);
  simulatorPhoneRoutes(router, deps);
}

function simulatorApiRoutes(router: AppRouter, { state, config }: SimulatorRouteDeps): void {
  const api = '/simulator/api';
  // WeChat answers errors with HTTP 200 and an errcode; so does the simulator.
  const fail = (ctx: Ctx, error: { errcode: number; errmsg: string }) => {
    ctx.body = error;
  };

  router.get(`${api}/cgi-bin/token`, (ctx) => {
    const { appid, secret, grant_type: grantType } = ctx.query;
    if (grantType !== 'client_credential') return fail(ctx, { errcode: 40_002, errmsg: 'invalid grant_type' });
    const bad = state.checkCredentials(appid, secret);
    ctx.body = bad ?? state.issueToken(appid as string);
  });

  router.post(`${api}/cgi-bin/stable_token`, async (ctx) => {
    const body = await readJson(ctx);
    if (!body || body.grant_type !== 'client_credential') return fail(ctx, { errcode: 40_002, errmsg: 'invalid grant_type' });
    const bad = state.checkCredentials(body.appid, body.secret);
    ctx.body = bad ?? state.issueStableToken(body.appid as string, body.force_refresh === true);
  });

  router.post(`${api}/cgi-bin/qrcode/create`, async (ctx) => {
    const token = state.checkToken(ctx.query.access_token);
    if ('errcode' in token) return fail(ctx, token);
    if (config.simulatorSubscriptionAccount) return fail(ctx, apiUnauthorized);
    const request = readQrcodeRequest(await readJson(ctx));
    if ('errcode' in request) return fail(ctx, request);
    const ticket = state.createTicket(request.scene, request.expireSeconds);
    // A permanent code's answer has no expire_seconds.
    ctx.body =
      request.expireSeconds === undefined
        ? { ticket: ticket.ticket, url: ticket.url }
        : { ticket: ticket.ticket, expire_seconds: request.expireSeconds, url: ticket.url };
  });

  router.get(`${api}${showQrcodePath}`, async (ctx) => {
    const ticket = state.tickets.get(String(ctx.query.ticket ?? ''));
    if (!ticket) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'ticket not found';
      return;
    }
    ctx.type = 'image/png';
    ctx.body = await QRCode.toBuffer(ticket.url, { margin: 1, width: 430 });
  });

  /** The Official Account's own access_token, or WeChat's answer for another (40001 for the mini-program's). */
  function acceptsAccountToken(ctx: Ctx): boolean {
    const token = state.checkToken(ctx.query.access_token);
    if ('errcode' in token) fail(ctx, token);
    else if (token.appId !== state.officialAccountAppId) fail(ctx, { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    else return true;
    return false;
  }

  // https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (附录1): the JS-SDK ticket, 7200 s.
  router.get(`${api}${jsapiTicketPath}`, (ctx) => {
    if (!acceptsAccountToken(ctx)) return;
    if (ctx.query.type !== 'jsapi' && ctx.query.type !== 'wx_card') return fail(ctx, { errcode: 40_097, errmsg: 'invalid args' });
    ctx.body = { errcode: 0, errmsg: 'ok', ticket: randomBytes(32).toString('base64url'), expires_in: 7200 };
  });

  // The customer-service message: only text is used by the server, so only text is accepted.
  router.post(`${api}/cgi-bin/message/custom/send`, async (ctx) => {
    if (!acceptsAccountToken(ctx)) return;
    if (config.simulatorSubscriptionAccount) return fail(ctx, apiUnauthorized);
    const body = await readJson(ctx);
    if (!body) return fail(ctx, { errcode: 47_001, errmsg: 'data format error' });
    if (body.msgtype !== 'text') return fail(ctx, { errcode: 40_008, errmsg: 'invalid message type' });
    const content = (body.text as { content?: unknown } | undefined)?.content;
    if (typeof content !== 'string' || content.length === 0) return fail(ctx, { errcode: 44_004, errmsg: 'empty content' });
    ctx.body = state.deliverCustomText(body.touser, content);
  });

  // https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html
  // Since 2021-12-27 no nickname and no headimgurl; someone who does not follow gets only subscribe and openid.
  router.get(`${api}/cgi-bin/user/info`, (ctx) => {
    if (!acceptsAccountToken(ctx)) return;
    const persona = state.findPersona(String(ctx.query.openid ?? ''));
    if (!persona) return fail(ctx, { errcode: 40_003, errmsg: 'invalid openid' });
    ctx.body = userInfoOf(persona);
  });

  // 批量获取用户基本信息: up to 100 openids, answered in the order asked, each as user/info answers it.
  // One openid WeChat does not know refuses the whole call (40003); an empty or longer list is 40032.
  router.post(`${api}/cgi-bin/user/info/batchget`, async (ctx) => {
    if (!acceptsAccountToken(ctx)) return;
    const list = (await readJson(ctx))?.user_list;
    if (!Array.isArray(list)) return fail(ctx, { errcode: 47_001, errmsg: 'data format error' });
    if (list.length === 0 || list.length > maxUserInfoBatch) return fail(ctx, { errcode: 40_032, errmsg: 'invalid openid list size' });
    const personas = list.map((entry: { openid?: unknown }) => state.findPersona(String(entry?.openid ?? '')));
    if (personas.some((persona) => !persona)) return fail(ctx, { errcode: 40_003, errmsg: 'invalid openid' });
    ctx.body = { user_info_list: personas.map((persona) => userInfoOf(persona!)) };
  });
}

/** cgi-bin/user/info's answer for `persona`, field for field as WeChat documents it. */
export function userInfoOf(persona: Persona): Record<string, unknown> {
  if (!persona.following || !persona.subscription) return { subscribe: 0, openid: persona.openid };
  const { time, scene, qrScene, qrSceneStr } = persona.subscription;
  return {
    subscribe: 1,
    openid: persona.openid,
    language: 'zh_CN',
    subscribe_time: time,
    // The simulated account is bound to an Open Platform account, so the unionid is there.
    unionid: persona.unionid,
    remark: '',
    groupid: 0,
    tagid_list: [],
    subscribe_scene: scene,
    qr_scene: qrScene,
    qr_scene_str: qrSceneStr,
  };
}

/**
 * qrcode/create's body, with WeChat's rules: QR_SCENE (temporary, scene_id a
 * non-zero 32-bit integer), QR_STR_SCENE (temporary, scene_str of 1 to 64
 * characters), QR_LIMIT_SCENE (permanent, scene_id 1 to 100000) and
 * QR_LIMIT_STR_SCENE (permanent, scene_str). A temporary code lives
 * expire_seconds (60 when absent, at most 2592000 = 30 days); a permanent
 * one ignores it. Anything else is 40053.
 * https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html
 */
export function readQrcodeRequest(
  body: Record<string, unknown> | undefined,
): { scene: string | number; expireSeconds: number | undefined } | { errcode: number; errmsg: string } {
  const invalid = (errmsg: string) => ({ errcode: 40_053, errmsg });
  const scene = (body?.action_info as { scene?: { scene_id?: unknown; scene_str?: unknown } } | undefined)?.scene;
  const action = body?.action_name;
  const permanent = action === 'QR_LIMIT_SCENE' || action === 'QR_LIMIT_STR_SCENE';
  let value: string | number;
  if (action === 'QR_STR_SCENE' || action === 'QR_LIMIT_STR_SCENE') {
    const text = scene?.scene_str;
    if (typeof text !== 'string' || text.length < 1 || text.length > 64) return invalid('invalid action info');
    value = text;
  } else if (action === 'QR_SCENE' || action === 'QR_LIMIT_SCENE') {
    const id = scene?.scene_id;
    const max = permanent ? 100_000 : 4_294_967_295;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > max) return invalid('invalid action info');
    value = id;
  } else {
    return invalid('invalid action name');
  }
  if (permanent) return { scene: value, expireSeconds: undefined };
  const expireSeconds = Number(body?.expire_seconds ?? 60);
  // The documented bounds are the default 60 and the maximum 2592000; below 60 is refused as before (our client never asks for less).
  if (!Number.isInteger(expireSeconds) || expireSeconds < 60 || expireSeconds > 2_592_000) return invalid('invalid expire_seconds');
  return { scene: value, expireSeconds };
}

/** Web authorization: the authorize page where a persona approves, and the sns/ API. */
function simulatorOauthRoutes(router: AppRouter, { state, config, render, formBody }: SimulatorRouteDeps): void {
  const api = '/simulator/api';

  /** What real WeChat checks before showing the authorize page; a message when something is off. */
  function authorizeProblem(query: Record<string, unknown>): string | undefined {
    if (query.appid !== state.officialAccountAppId) return 'appid 参数错误 / wrong appid';
    if (query.response_type !== 'code') return 'response_type 参数错误';
    if (query.scope !== 'snsapi_base' && query.scope !== 'snsapi_userinfo') return 'scope 参数错误';
    // An account without web authorization (a subscription account, an unverified one): WeChat's page says so.
    if (config.simulatorSubscriptionAccount) return 'Scope 参数错误或没有 Scope 权限 (10005)';
    // The 网页授权域名 check: the redirect must go back to the configured domain.
    if (typeof query.redirect_uri !== 'string' || !query.redirect_uri.startsWith(`${config.publicUrl}/`)) {
      return 'redirect_uri 域名与后台配置不一致 (10003)';
    }
    return undefined;
  }

  router.get(`${api}/connect/oauth2/authorize`, (ctx) => {
    const problem = authorizeProblem(ctx.query);
    // Inside the phone's in-app browser WeChat knows who is reading, and snsapi_base asks nothing: a silent redirect.
    const reader = state.findPersona(ctx.cookies.get(inAppPersonaCookie, { signed: true }) ?? '');
    if (!problem && reader && ctx.query.scope === 'snsapi_base') {
      const target = new URL(String(ctx.query.redirect_uri));
      target.searchParams.set('code', state.issueCode('oauth', reader, state.officialAccountAppId, 'snsapi_base'));
      target.searchParams.set('state', String(ctx.query.state ?? ''));
      return ctx.redirect(target.toString());
    }
    render(
      ctx,
      'simulator/authorize.njk',
      { problem, request: ctx.query, personas: [...state.personas.values()] },
      problem ? 400 : 200,
    );
  });

  router.post('/simulator/authorize', formBody, requireCsrf, (ctx) => {
    const form = formOf(ctx);
    const persona = state.findPersona(String(form.openid ?? ''));
    const problem = authorizeProblem(form) ?? (persona ? undefined : ctx.state.t('simPickUser'));
    if (problem) return render(ctx, 'simulator/authorize.njk', { problem, request: form, personas: [...state.personas.values()] }, 400);
    const code = state.issueCode('oauth', persona!, state.officialAccountAppId, String(form.scope));
    const target = new URL(String(form.redirect_uri));
    target.searchParams.set('code', code);
    target.searchParams.set('state', String(form.state ?? ''));
    ctx.status = 303;
    ctx.redirect(target.toString());
  });

  // https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken
  // unionid "只有当scope为snsapi_userinfo时返回"; is_snapshotuser only for a snapshot-page virtual account.
  router.get(`${api}/sns/oauth2/access_token`, (ctx) => {
    const { appid, secret, code } = ctx.query;
    const bad = state.checkCredentials(appid, secret);
    if (bad) return void (ctx.body = bad);
    if (ctx.query.grant_type !== 'authorization_code') return void (ctx.body = { errcode: 40_002, errmsg: 'invalid grant_type' });
    const redeemed = state.redeemCode('oauth', code, String(appid));
    if ('errcode' in redeemed) return void (ctx.body = redeemed);
    const grant = state.snsGrantOf(redeemed.persona, redeemed.scope!, redeemed.snapshot, String(appid));
    const tokens = state.issueSnsTokens(grant, String(appid));
    ctx.body = {
      access_token: tokens.accessToken,
      expires_in: 7200,
      refresh_token: tokens.refreshToken,
      openid: grant.openid,
      scope: grant.scope,
      ...(grant.snapshot ? { is_snapshotuser: 1 } : {}),
      // The website application's snsapi_login gives the unionid too, as snsapi_userinfo does.
      ...(grant.scope === 'snsapi_userinfo' || grant.scope === 'snsapi_login' ? { unionid: unionidOf(redeemed.persona, grant) } : {}),
    };
  });

  // https://developers.weixin.qq.com/doc/oplatform/Website_App/WeChat_Login/Wechat_Login.html
  // WeChat's website login page: a QR code that the phone scans, then WeChat's own confirm screen on the phone.
  router.get(`${api}${qrconnectPath}`, (ctx) => {
    const problem = qrconnectProblem(ctx.query);
    if (problem) return render(ctx, 'simulator/qrconnect.njk', { problem }, 400);
    const request = state.openQrconnect({ redirectUri: String(ctx.query.redirect_uri), state: String(ctx.query.state ?? '') });
    ctx.redirect(`/simulator/qrconnect?id=${request.id}`);
  });

  // The page waits until the phone answers (its script asks /status; without it, a link looks once), then goes back to the site.
  router.get('/simulator/qrconnect', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const request = state.qrconnects.get(String(ctx.query.id ?? ''));
    if (!request) return render(ctx, 'simulator/qrconnect.njk', { problem: ctx.state.t('simQrconnectGone') }, 404);
    if (request.decision) {
      state.qrconnects.delete(request.id);
      const target = new URL(request.redirectUri);
      // A refusal comes back with the state alone, as WeChat documents.
      if (request.decision !== 'denied') target.searchParams.set('code', request.decision.code);
      target.searchParams.set('state', request.state);
      return ctx.redirect(target.toString());
    }
    const qrSvg = await QRCode.toString(`${config.publicUrl}/simulator?qrconnect=${request.id}`, { type: 'svg', margin: 1 });
    render(ctx, 'simulator/qrconnect.njk', { request, qrSvg });
  });

  router.get('/simulator/qrconnect/status', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const request = state.qrconnects.get(String(ctx.query.id ?? ''));
    ctx.body = { decided: !request || Boolean(request.decision) };
  });

  router.post('/simulator/qrconnect/decide', formBody, requireCsrf, (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const request = state.qrconnects.get(String(formField(ctx, 'id')));
    if (!persona || !request || request.decision || !state.openAppId) return ctx.redirect('/simulator');
    request.decision = formField(ctx, 'decision') === 'allow' ? { code: state.issueCode('oauth', persona, state.openAppId, 'snsapi_login') } : 'denied';
    ctx.redirect(`/simulator?as=${encodeURIComponent(persona.openid)}`);
  });

  function qrconnectProblem(query: Record<string, unknown>): string | undefined {
    if (!state.openAppId || query.appid !== state.openAppId) return 'appid 参数错误 / wrong appid';
    if (query.response_type !== 'code') return 'response_type 参数错误';
    if (query.scope !== 'snsapi_login') return 'Scope 参数错误或没有 Scope 权限';
    // The 授权回调域: the redirect must go back to the configured domain.
    if (typeof query.redirect_uri !== 'string' || !query.redirect_uri.startsWith(`${config.publicUrl}/`)) return 'redirect_uri 参数错误';
    return undefined;
  }

  // https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsrefreshtoken
  // A new access_token for the same grant; the refresh_token itself is not extended (30 days from the authorization).
  router.get(`${api}/sns/oauth2/refresh_token`, (ctx) => {
    const { appid } = ctx.query;
    if (typeof appid !== 'string' || appid !== state.officialAccountAppId) return void (ctx.body = { errcode: 40_013, errmsg: 'invalid appid' });
    if (ctx.query.grant_type !== 'refresh_token') return void (ctx.body = { errcode: 40_002, errmsg: 'invalid grant_type' });
    const issued = state.checkRefreshToken(ctx.query.refresh_token, appid);
    if ('errcode' in issued) return void (ctx.body = issued);
    const tokens = state.issueSnsTokens(issued, appid, String(ctx.query.refresh_token));
    ctx.body = { access_token: tokens.accessToken, expires_in: 7200, refresh_token: tokens.refreshToken, openid: issued.openid, scope: issued.scope };
  });

  router.get(`${api}/sns/userinfo`, (ctx) => {
    const checked = state.checkSnsToken(ctx.query.access_token, ctx.query.openid);
    if ('errcode' in checked) return void (ctx.body = checked);
    const { persona, grant } = checked;
    if (grant.scope !== 'snsapi_userinfo' && grant.scope !== 'snsapi_login') return void (ctx.body = { errcode: 48_001, errmsg: 'api unauthorized' });
    // A snapshot-page account is virtual: WeChat shows it as 微信用户 with the default avatar.
    ctx.body = {
      openid: grant.openid,
      nickname: grant.snapshot ? '微信用户' : persona.nickname,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: grant.snapshot ? '' : `https://thirdwx.qlogo.cn/mmopen/simulated/${persona.openid}/132`,
      privilege: [],
      unionid: unionidOf(persona, grant),
    };
  });
}

/** The unionid a grant shows: the persona's, or the virtual one of snapshot mode. */
function unionidOf(persona: Persona, grant: { snapshot: boolean }): string {
  return grant.snapshot ? persona.snapshotUnionid : persona.unionid;
}

/** jscode2session and getuserphonenumber, fed by the phone page's code generator. */
function simulatorMiniProgramRoutes(router: AppRouter, { state, config }: SimulatorRouteDeps): void {
  const api = '/simulator/api';

  router.get(`${api}/sns/jscode2session`, (ctx) => {
    const { appid, secret, js_code: code } = ctx.query;
    const bad = state.checkCredentials(appid, secret);
    if (bad) return void (ctx.body = bad);
    const redeemed = state.redeemCode('js', code, String(appid));
    if ('errcode' in redeemed) return void (ctx.body = redeemed);
    const { persona } = redeemed;
    ctx.body = { openid: persona.miniOpenid, session_key: randomBytes(16).toString('base64'), unionid: persona.unionid };
  });

  // https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/qrcode-link/qr-code/getUnlimitedQRCode.html
  // The image's bytes on success; WeChat's JSON errcodes otherwise.
  router.post(`${api}${unlimitedCodePath}`, async (ctx) => {
    const token = state.checkToken(ctx.query.access_token);
    if ('errcode' in token) return void (ctx.body = token);
    if (token.appId !== config.miniProgram?.appId) return void (ctx.body = { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    const body = await readJson(ctx);
    if (!body) return void (ctx.body = { errcode: 47_001, errmsg: 'data format error' });
    const problem = unlimitedCodeProblem(body);
    if (problem) return void (ctx.body = problem);
    state.recordMiniCode(String(body.scene));
    ctx.type = 'image/png';
    ctx.body = await QRCode.toBuffer(`${config.publicUrl}/simulator/mini?scene=${encodeURIComponent(String(body.scene))}`, { margin: 1, width: Number(body.width) || 430 });
  });

  router.post(`${api}/wxa/business/getuserphonenumber`, async (ctx) => {
    const token = state.checkToken(ctx.query.access_token);
    if ('errcode' in token) return void (ctx.body = token);
    // The mini-program's own token is needed; the Official Account's is refused.
    if (token.appId !== state.miniProgramAppId) return void (ctx.body = { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    const body = await readJson(ctx);
    const redeemed = state.redeemCode('phone', body?.code, token.appId);
    if ('errcode' in redeemed) return void (ctx.body = redeemed);
    const { persona } = redeemed;
    ctx.body = {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: persona.phone,
        purePhoneNumber: persona.phone,
        countryCode: '86',
        watermark: { timestamp: Math.floor(state.now() / 1000), appid: token.appId },
      },
    };
  });
}

/** The simulator's mini-program has one published page: the example's login page (examples/miniprogram/). */
const publishedMiniPages = new Set(['pages/login/index']);

/** getwxacodeunlimit's refusals, in WeChat's codes: the scene's length (40169) and letters (40129), the page (41030), the version (40097). */
function unlimitedCodeProblem(body: Record<string, unknown>): { errcode: number; errmsg: string } | undefined {
  const { scene, page, env_version: envVersion, check_path: checkPath } = body;
  if (typeof scene !== 'string' || scene.length === 0 || scene.length > maxMiniCodeSceneLength) {
    return { errcode: 40_169, errmsg: 'invalid length for scene, or the data is not json string' };
  }
  if (!/^[A-Za-z0-9!#$&'()*+,/:;=?@._~-]+$/.test(scene)) return { errcode: 40_129, errmsg: 'invalid scene' };
  if (envVersion !== undefined && envVersion !== 'release' && envVersion !== 'trial' && envVersion !== 'develop') return { errcode: 40_097, errmsg: 'invalid args' };
  if (page !== undefined && (typeof page !== 'string' || page.startsWith('/') || page.includes('?'))) return { errcode: 41_030, errmsg: 'invalid page' };
  // check_path (true by default) wants a page of the released version.
  if (checkPath !== false && (envVersion ?? 'release') === 'release' && !publishedMiniPages.has(String(page ?? ''))) return { errcode: 41_030, errmsg: 'invalid page' };
  return undefined;
}

/** What WeChat answers an account that may not call an API: an unverified or subscription account. */
const apiUnauthorized = { errcode: apiUnauthorizedErrcode, errmsg: 'api unauthorized' };

function simulatorPhoneRoutes(router: AppRouter, deps: SimulatorRouteDeps): void {
  const { state, config, render } = deps;
  const phone = createSimulatedPhone({
    callbackUrl: `${config.publicUrl}/wechat/callback`,
    token: config.wechat.token,
    appId: config.wechat.appId,
    accountId: simulatorOriginalId,
    encodingAesKey: config.wechat.encodingAesKey,
    now: deps.now,
  });

  /** A link the in-app browser may open: only this site's own pages. */
  function sameSiteLink(url: string): string | undefined {
    if (!url.startsWith(`${config.publicUrl}/`)) return undefined;
    return url.slice(config.publicUrl.length);
  }

  /**
   * A chat message as WeChat shows it: text, with `<a href>` links (and bare
   * addresses) tappable. Links to this site open in the in-app browser as the persona.
   */
  function chatParts(text: string, openid: string): { text: string; href?: string }[] {
    const parts: { text: string; href?: string }[] = [];
    const links = /<a href="([^"]+)">([^<]*)<\/a>|(https?:\/\/[^\s<]+)/g;
    let last = 0;
    for (const match of text.matchAll(links)) {
      if (match.index! > last) parts.push({ text: text.slice(last, match.index) });
      const url = match[1] ?? match[3];
      const inApp = sameSiteLink(url);
      parts.push({
        text: match[2] ?? url,
        href: inApp ? `/simulator/browser?as=${encodeURIComponent(openid)}&url=${encodeURIComponent(url)}` : undefined,
      });
      last = match.index! + match[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  function selectedPersona(openid: unknown): Persona | undefined {
    if (typeof openid === 'string' && state.findPersona(openid)) return state.findPersona(openid);
    return [...state.personas.values()][0];
  }

  function renderPhone(ctx: Ctx, persona: Persona | undefined, status = 200, error?: string) {
    const view = buildPhoneView(state, deps.smsInbox, persona);
    const chat = persona ? persona.chat.map((message) => ({ ...message, parts: chatParts(message.text, persona.openid) })) : [];
    render(ctx, 'simulator/phone.njk', { ...view, chat, error }, status);
  }

  router.get('/simulator', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    renderPhone(ctx, selectedPersona(ctx.query.as));
  });

  // static/js/simulator.js asks this every few seconds, and fetches /simulator again when the version changed.
  router.get('/simulator/version', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { version: buildPhoneView(state, deps.smsInbox, selectedPersona(ctx.query.as)).version };
  });

  // A real phone that scanned the QR code on the same network lands here.
  router.get('/simulator/scan', (ctx) => {
    const ticket = state.tickets.get(String(ctx.query.ticket ?? ''));
    render(ctx, 'simulator/scan.njk', { ticket, personas: [...state.personas.values()] }, ticket ? 200 : 404);
  });

  router.post('/simulator/personas', deps.formBody, requireCsrf, (ctx) => {
    const nickname = String(formField(ctx, 'nickname')).trim().slice(0, 32);
    if (!nickname) return renderPhone(ctx, undefined, 422, ctx.state.t('simEnterNickname'));
    const persona = state.createPersona(nickname);
    redirectToPhone(ctx, persona);
  });

  router.post('/simulator/scan', deps.formBody, requireCsrf, async (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const ticket = state.tickets.get(String(formField(ctx, 'ticket')));
    if (!persona || !ticket) return renderPhone(ctx, persona, 422, ctx.state.t('simPickUserAndCode'));
    persona.chat.push({ from: 'user', text: '[扫描二维码]', at: new Date() });
    persona.lastInteractionAt = state.now();
    const wasFollowing = persona.following;
    // In WeChat the follow happens first and the push only reports it: user/info already says subscribe 1 while the server handles it.
    if (!wasFollowing) {
      persona.following = true;
      persona.subscription = {
        time: Math.floor(state.now() / 1000),
        scene: 'ADD_SCENE_QR_CODE',
        qrScene: ticket.sceneId ?? 0,
        qrSceneStr: ticket.sceneId === undefined ? ticket.scene : '',
      };
    }
    const result = await pushAndRecord(persona, () => phone.scan(persona.openid, ticket.scene, ticket.ticket, wasFollowing));
    if (result.status === 200) ticket.scannedBy = persona.openid;
    redirectToPhone(ctx, persona);
  });

  // Follow and unfollow: `subscribe` (no scene) and `unsubscribe`.
  for (const [path, following] of [
    ['/simulator/follow', true],
    ['/simulator/unfollow', false],
  ] as const) {
    router.post(path, deps.formBody, requireCsrf, async (ctx) => {
      const persona = state.findPersona(String(formField(ctx, 'openid')));
      if (!persona) return renderPhone(ctx, undefined, 422, ctx.state.t('simPickUser'));
      // As in WeChat, the (un)follow stands whatever the server answers; the push only reports it.
      persona.following = following;
      persona.subscription = following ? { time: Math.floor(state.now() / 1000), scene: 'ADD_SCENE_SEARCH', qrScene: 0, qrSceneStr: '' } : undefined;
      if (following) persona.lastInteractionAt = state.now();
      await pushAndRecord(persona, () => (following ? phone.follow(persona.openid) : phone.unfollow(persona.openid)));
      redirectToPhone(ctx, persona);
    });
  }

  // A text message from a follower to the account (WeChat lets only followers write); a login code is one.
  router.post('/simulator/message', deps.formBody, requireCsrf, async (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const content = String(formField(ctx, 'content') ?? '').trim().slice(0, 600);
    if (!persona || !persona.following || !content) return renderPhone(ctx, persona, 422, ctx.state.t('simPickUser'));
    persona.chat.push({ from: 'user', text: content, at: new Date(state.now()) });
    persona.lastInteractionAt = state.now();
    await pushAndRecord(persona, () => phone.sendText(persona.openid, content));
    redirectToPhone(ctx, persona);
  });

  // The persona's snapshot-page mode: their next snsapi_userinfo authorization yields a virtual account.
  router.post('/simulator/snapshot', deps.formBody, requireCsrf, (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    if (!persona) return renderPhone(ctx, undefined, 422, ctx.state.t('simPickUser'));
    persona.snapshot = formField(ctx, 'on') === '1';
    redirectToPhone(ctx, persona);
  });

  // WeChat's in-app browser: opens a link from the chat as this persona, inside the phone.
  router.get('/simulator/browser', (ctx) => {
    const persona = state.findPersona(String(ctx.query.as ?? ''));
    const url = sameSiteLink(String(ctx.query.url ?? ''));
    if (!persona || !url) return renderPhone(ctx, persona, 422, ctx.state.t('simLinkNotHere'));
    ctx.cookies.set(inAppPersonaCookie, persona.openid, { signed: true, httpOnly: true, sameSite: 'lax', path: '/simulator/api/connect' });
    ctx.set('Cache-Control', 'no-store');
    render(ctx, 'simulator/browser.njk', { persona, url });
  });

  // Time travel for the 48-hour window of customer-service messages: as if the persona had been silent for two days.
  router.post('/simulator/idle', deps.formBody, requireCsrf, (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    if (!persona) return renderPhone(ctx, undefined, 422, ctx.state.t('simPickUser'));
    persona.lastInteractionAt = state.now() - 49 * 60 * 60 * 1000;
    redirectToPhone(ctx, persona);
  });

  // The code generator: what wx.login() and getPhoneNumber would hand a mini-program.
  router.post('/simulator/codes', deps.formBody, requireCsrf, (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const kind = formField(ctx, 'kind');
    if (!persona || (kind !== 'js' && kind !== 'phone') || !state.miniProgramAppId) {
      return renderPhone(ctx, persona, 422, ctx.state.t('simPickUser'));
    }
    state.issueCode(kind, persona, state.miniProgramAppId);
    redirectToPhone(ctx, persona);
  });

  // The phone scans a mini-program code: the mini-program's login page opens and makes its two calls, as
  // examples/miniprogram/pages/login/index.js does (a fresh wx.login code each), over real HTTP to this server.
  router.post('/simulator/mini/scan', deps.formBody, requireCsrf, async (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const code = state.miniCodes.get(String(formField(ctx, 'scene')));
    if (!persona || !code || !state.miniProgramAppId) return renderPhone(ctx, persona, 422, ctx.state.t('simPickUserAndCode'));
    code.scannedBy = persona.openid;
    const answer = await callLoginServer('/api/miniprogram/qr/scan', { scene: code.scene, code: state.issueCode('js', persona, state.miniProgramAppId) });
    persona.miniScreen = answer.status === 200 ? { scene: code.scene, state: 'confirm', ...(answer.body as object) } : { scene: code.scene, state: 'gone' };
    redirectToPhone(ctx, persona);
  });

  router.post('/simulator/mini/confirm', deps.formBody, requireCsrf, async (ctx) => {
    const persona = state.findPersona(String(formField(ctx, 'openid')));
    const screen = persona?.miniScreen;
    if (!persona || !screen?.ticket || !state.miniProgramAppId) return renderPhone(ctx, persona, 422, ctx.state.t('simPickUser'));
    const decision = formField(ctx, 'decision') === 'deny' ? 'deny' : 'approve';
    const number = formField(ctx, 'number');
    const answer = await callLoginServer('/api/miniprogram/qr/confirm', {
      ticket: screen.ticket,
      code: state.issueCode('js', persona, state.miniProgramAppId),
      decision,
      number: typeof number === 'string' ? number : undefined,
    });
    screen.state = answer.status !== 204 ? 'gone' : decision === 'approve' ? 'sent' : 'denied';
    redirectToPhone(ctx, persona);
  });

  async function callLoginServer(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    try {
      const response = await fetch(`${config.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      deps.logger.warn('simulator mini-program call failed', { path, error: error instanceof Error ? error.message : String(error) });
      return { status: 0, body: undefined };
    }
  }

  /** Sends one event and puts the account's answer in the persona's chat. */
  async function pushAndRecord(persona: Persona, send: () => Promise<PushResult>): Promise<PushResult> {
    let result: PushResult;
    try {
      result = await send();
    } catch (error) {
      deps.logger.warn('simulator push failed', { error: error instanceof Error ? error.message : String(error) });
      result = { status: 0, body: '' };
    }
    const text = result.replyRefused
      ? `[回复被微信丢弃 / reply dropped by WeChat: ${result.replyRefused}]`
      : (result.replyText ?? (result.status === 200 ? undefined : `[回调失败 / callback failed: HTTP ${result.status}]`));
    if (result.replyRefused) deps.logger.warn('simulator dropped a reply', { reason: result.replyRefused });
    if (text) persona.chat.push({ from: 'account', text, at: new Date() });
    return result;
  }
}

function redirectToPhone(ctx: Ctx, persona: Persona): void {
  ctx.status = 303;
  ctx.redirect(`/simulator?as=${encodeURIComponent(persona.openid)}`);
}

function formField(ctx: Ctx, name: string): unknown {
  return formOf(ctx)[name] ?? '';
}

/** Reads a JSON body the way WeChat's API does: anything unreadable or unparseable is "no body". */
async function readJson(ctx: Ctx): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed = JSON.parse(await readTextBody(ctx.req, 64 * 1024));
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
