import { simulatorOriginalId } from '../../src/config.js';
import { buildSignedPush, buildTextXml } from '../../src/wechat/signed-push.js';
import { cookiesOf, request, type Reply } from './http.js';
import { signedScanEvent, wechatToken } from './setup.js';

/**
 * The ways in of the mixed scenario, each as a browser and a phone do it over
 * HTTP: a QR code scanned (`SCAN` from a follower, `subscribe` from a
 * newcomer), a code sent to the account, a mini-program code scanned and
 * tapped in the example mini-program (the simulator's phone makes its two
 * calls), and WeChat's website login page (Open Platform: the phone allows,
 * the browser comes back to our callback).
 */
export type WayKind = 'qr-returning' | 'qr-newcomer' | 'code-returning' | 'code-newcomer' | 'mini-newcomer' | 'open-newcomer';

/** What each way's browser ends with: logged in, or sent to bind a phone. */
export const expectedStatus: Record<WayKind, 'success' | 'bind'> = {
  'qr-returning': 'success',
  'qr-newcomer': 'bind',
  'code-returning': 'success',
  'code-newcomer': 'bind',
  'mini-newcomer': 'bind',
  'open-newcomer': 'bind',
};

/**
 * The way of the i-th login: every tenth is a code sent by a newcomer, a code sent by a returning user,
 * a mini-program code and an Open Platform login (with the simulator; QR codes and codes without it);
 * half of them newcomers.
 */
export function wayOf(index: number, simulator: boolean): WayKind {
  const kinds: WayKind[] = ['qr-returning', 'qr-newcomer', 'qr-returning', 'qr-newcomer', 'qr-returning', 'code-newcomer', 'code-returning', 'mini-newcomer', 'qr-returning', 'open-newcomer'];
  const kind = kinds[index % kinds.length];
  if (!simulator && kind === 'mini-newcomer') return 'qr-newcomer';
  if (!simulator && kind === 'open-newcomer') return 'code-newcomer';
  return kind;
}

/** A login page as a browser opened it: its cookie and scene, and what it shows for its way. */
export interface WayPage {
  cookie: string;
  scene: string;
  /** oa-code: the code to send. */
  code?: string;
  /** miniprogram-code: the scene the mini-program code carries. */
  miniScene?: string;
}

const methodOf: Partial<Record<WayKind, string>> = {
  'code-returning': 'oa-code',
  'code-newcomer': 'oa-code',
  'mini-newcomer': 'miniprogram-code',
};

/** Opens the login page of the way (the QR code's for an Open Platform login, whose browser polls like any other until its turn). */
export async function openWayPage(baseUrl: string, kind: WayKind): Promise<WayPage> {
  const method = methodOf[kind];
  const reply = await request(`${baseUrl}/login${method ? `?method=${method}` : ''}`);
  if (reply.status !== 200) throw new Error(`/login answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  const page: WayPage = { cookie: cookiesOf(reply), scene: reply.body.match(/data-scene="([^"]+)"/)![1] };
  if (method === 'oa-code') page.code = reply.body.match(/id="login-code" data-code="([^"]+)"/)![1];
  if (method === 'miniprogram-code') page.miniScene = reply.body.match(/id="mini-code" data-mini-scene="([^"]+)"/)![1];
  return page;
}

/** The simulator's phone page, signed in as nobody: its cookie and CSRF token, for the phone's forms. */
export async function openPhone(baseUrl: string): Promise<{ cookie: string; csrf: string }> {
  const page = await request(`${baseUrl}/simulator`);
  return { cookie: cookiesOf(page), csrf: page.body.match(/name="_csrf" value="([^"]+)"/)![1] };
}

type Phone = Awaited<ReturnType<typeof openPhone>>;

/** The phone's forms and our callbacks answer with a redirect (302 or 303). */
const isRedirect = (reply: Reply) => reply.status >= 301 && reply.status <= 303;

function postForm(url: string, cookie: string, fields: Record<string, string>): Promise<Reply> {
  return request(url, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

/** A code the page shows, sent to the account as a text message by `openid`. */
export function signedCodeMessage(baseUrl: string, openid: string, code: string, createTime: number, msgId: string) {
  const xml = buildTextXml({ toUser: simulatorOriginalId, openid, createTime, content: code, msgId });
  const { query, body } = buildSignedPush(xml, { token: wechatToken, appId: '', accountId: simulatorOriginalId, openid });
  return { url: `${baseUrl}/wechat/callback?${query}`, body };
}

/**
 * What the phone does for the way: the push of a scan or of a code (resolved with the callback's reply), or
 * the mini-program's scan and tap through the simulator's phone. The browser's poll says when it is done.
 */
export async function actOnPhone(baseUrl: string, phone: Phone | undefined, kind: WayKind, page: WayPage, openid: string, createTime: number): Promise<Reply> {
  const xmlPost = (push: { url: string; body: string }) => request(push.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
  switch (kind) {
    case 'qr-returning':
      return xmlPost(signedScanEvent(baseUrl, 'SCAN', openid, page.scene, createTime));
    case 'qr-newcomer':
      return xmlPost(signedScanEvent(baseUrl, 'subscribe', openid, page.scene, createTime));
    case 'code-returning':
    case 'code-newcomer':
      return xmlPost(signedCodeMessage(baseUrl, openid, page.code!, createTime, `${createTime}${Math.floor(Math.random() * 1e6)}`));
    case 'mini-newcomer': {
      if (!phone) throw new Error('a mini-program code needs the simulator');
      const scanned = await postForm(`${baseUrl}/simulator/mini/scan`, phone.cookie, { openid, scene: page.miniScene!, _csrf: phone.csrf });
      if (!isRedirect(scanned)) return scanned;
      return postForm(`${baseUrl}/simulator/mini/confirm`, phone.cookie, { openid, decision: 'approve', _csrf: phone.csrf });
    }
    case 'open-newcomer':
      throw new Error('an Open Platform login is no poll: see startOpenLogin');
  }
}

/** An Open Platform login up to the phone's decision: the browser has been to WeChat's page and waits there. */
export interface OpenLogin {
  cookie: string;
  /** The simulator's waiting page, which sends the browser back to our callback once the phone decided. */
  waitingPath: string;
  id: string;
}

export async function startOpenLogin(baseUrl: string): Promise<OpenLogin> {
  const start = await request(`${baseUrl}/auth/wechat/open`);
  if (start.status !== 302) throw new Error(`/auth/wechat/open answered ${start.status}`);
  const cookie = cookiesOf(start);
  const qrconnect = new URL(String(start.headers.location).split('#')[0]);
  const waiting = await request(`${baseUrl}${qrconnect.pathname}${qrconnect.search}`, { headers: { cookie } });
  const waitingPath = String(waiting.headers.location);
  return { cookie, waitingPath, id: new URL(waitingPath, baseUrl).searchParams.get('id')! };
}

/** The phone allows the website login, the browser goes back to our callback; resolves with where our callback sends it. */
export async function finishOpenLogin(baseUrl: string, phone: Phone, login: OpenLogin, openid: string): Promise<string> {
  const decided = await postForm(`${baseUrl}/simulator/qrconnect/decide`, phone.cookie, { openid, id: login.id, decision: 'allow', _csrf: phone.csrf });
  if (!isRedirect(decided)) throw new Error(`/simulator/qrconnect/decide answered ${decided.status}`);
  const back = await request(`${baseUrl}${login.waitingPath}`, { headers: { cookie: login.cookie } });
  const callback = new URL(String(back.headers.location));
  const answer = await request(`${baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie: login.cookie } });
  if (!isRedirect(answer)) throw new Error(`the Open Platform callback answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return String(answer.headers.location);
}
