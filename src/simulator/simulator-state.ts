import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { customSendOutOfWindowErrcode, requireSubscribeErrcode } from '../wechat/constants.js';

/**
 * The simulated WeChat's memory: personas (WeChat users), access tokens,
 * QR tickets, and the chat each persona had with the Official Account.
 * In-process and lost on restart, like a test double should be.
 */
export interface Persona {
  nickname: string;
  /** openid per app: the Official Account and the mini-program see different openids. */
  openid: string;
  miniOpenid: string;
  /** The Open Platform website application's openid (open-qr): a third openid of the same person. */
  openOpenid: string;
  unionid: string;
  phone: string;
  following: boolean;
  /**
   * How and when they last followed, as cgi-bin/user/info reports it: the
   * time (seconds), the channel (ADD_SCENE_QR_CODE for a scan, ADD_SCENE_SEARCH
   * for the plain follow button) and the QR code's scene, if any.
   */
  subscription?: { time: number; scene: string; qrScene: number; qrSceneStr: string };
  /**
   * WeChat's "snapshot page" mode (网页快照页, since 2022-07-12): an
   * snsapi_userinfo authorization then yields a virtual account, with
   * `is_snapshotuser: 1` and a virtual openid and unionid.
   */
  snapshot: boolean;
  snapshotOpenid: string;
  snapshotUnionid: string;
  /** The messages between the persona and the Official Account; the account's may carry `<a href>` links, as in WeChat. */
  chat: { from: 'user' | 'account'; text: string; at: Date }[];
  /**
   * When the persona last did something the account hears of (a scan, a
   * follow): customer-service messages reach them only within 48 hours of it.
   */
  lastInteractionAt?: number;
  /** Codes made with the code generator, newest first, for the mini-program flows. */
  generatedCodes: { kind: CodeKind; code: string }[];
  /** The mini-program's login page as this persona sees it, after scanning a mini-program code. */
  miniScreen?: MiniScreen;
}

/** The example mini-program's login page (examples/miniprogram/), as the simulator's phone shows it. */
export interface MiniScreen {
  scene: string;
  state: 'confirm' | 'sent' | 'denied' | 'gone';
  ticket?: string;
  browser?: string;
  os?: string;
  ip?: string;
  region?: string | null;
  numbers?: string[] | null;
}

/** A website login page (connect/qrconnect), and what the phone answered: a code for the website, or a refusal. */
export interface QrconnectRequest {
  id: string;
  redirectUri: string;
  state: string;
  createdAt: number;
  decision?: { code: string } | 'denied';
}

/** WeChat's qrconnect page lives a few minutes. */
const qrconnectLifetimeMs = 5 * 60 * 1000;

/** A mini-program code made by wxa/getwxacodeunlimit, for the phone to scan. */
export interface MiniCode {
  scene: string;
  createdAt: number;
  scannedBy?: string;
}

/** How long the phone lists a mini-program code: WeChat's codes never expire, the logins they name do. */
const miniCodeListedMs = 10 * 60 * 1000;

/** oauth: from the authorize page; js: what wx.login() gives; phone: what getPhoneNumber gives. */
export type CodeKind = 'oauth' | 'js' | 'phone';

interface IssuedCode {
  kind: CodeKind;
  openid: string;
  appId: string;
  scope?: string;
  /** Issued in snapshot-page mode: it redeems to the persona's virtual account. */
  snapshot?: boolean;
  used: boolean;
  expiresAt: number;
}

/** A web-authorization grant (网页授权): who it is for, as WeChat presented them. */
export interface SnsGrant {
  /** The persona behind it (the key of `personas`). */
  personaOpenid: string;
  /** The openid WeChat handed out: the persona's, or a virtual one in snapshot mode. */
  openid: string;
  scope: string;
  snapshot: boolean;
}

interface SnsToken extends SnsGrant {
  expiresAt: number;
}

interface RefreshToken extends SnsGrant {
  appId: string;
  expiresAt: number;
}

export interface Ticket {
  ticket: string;
  /** What the scan's EventKey carries: scene_str, or scene_id as text. */
  scene: string;
  /** QR_SCENE and QR_LIMIT_SCENE carry a number (user/info reports it as qr_scene). */
  sceneId?: number;
  url: string;
  /** Infinity for the permanent kinds (QR_LIMIT_SCENE, QR_LIMIT_STR_SCENE). */
  expiresAt: number;
  scannedBy?: string;
}

interface IssuedToken {
  appId: string;
  expiresAt: number;
}

export interface SimulatorOptions {
  config: Config;
  now?: () => number;
}

export function createSimulatorState(options: SimulatorOptions) {
  const now = options.now ?? Date.now;
  const tokenExpiresSeconds = options.config.simulatorTokenExpiresSeconds;
  const personas = new Map<string, Persona>();
  const tokens = new Map<string, IssuedToken>();
  const stableTokens = new Map<string, string>();
  const tickets = new Map<string, Ticket>();
  const qrconnects = new Map<string, QrconnectRequest>();
  const openAppId = options.config.openApp?.appId;
  const miniCodes = new Map<string, MiniCode>();
  const codes = new Map<string, IssuedCode>();
  const snsTokens = new Map<string, SnsToken>();
  const refreshTokens = new Map<string, RefreshToken>();
  /** sns/oauth2/refresh_token: a refresh_token lives 30 days and refreshing does not extend it. */
  const refreshLifetimeMs = 30 * 24 * 60 * 60 * 1000;
  const miniProgramAppId = options.config.miniProgram?.appId;
  /** Customer-service messages are allowed for 48 hours after the user's last interaction. */
  const customMessageWindowMs = 48 * 60 * 60 * 1000;
  /** WeChat's codes live 5 minutes. */
  const codeLifetimeMs = 5 * 60 * 1000;

  const apps = new Map<string, string>([[options.config.wechat.appId, options.config.wechat.appSecret]]);
  if (options.config.openApp) apps.set(options.config.openApp.appId, options.config.openApp.appSecret);
  if (options.config.miniProgram) apps.set(options.config.miniProgram.appId, options.config.miniProgram.appSecret);

  /** Stable ids derived from the nickname, so a persona keeps its openid across restarts. */
  function createPersona(nickname: string): Persona {
    const id = (salt: string, prefix: string) =>
      prefix + createHash('sha256').update(`${salt}:${nickname}`).digest('base64url').slice(0, 22);
    const digits = BigInt(`0x${createHash('sha256').update(`phone:${nickname}`).digest('hex').slice(0, 12)}`) % 100_000_000n;
    const existing = personas.get(id('oa', 'o'));
    if (existing) return existing;
    const persona: Persona = {
      nickname,
      openid: id('oa', 'o'),
      miniOpenid: id('mini', 'm'),
      openOpenid: id('web', 'o'),
      unionid: id('union', 'u'),
      phone: `139${digits.toString().padStart(8, '0')}`,
      following: false,
      snapshot: false,
      snapshotOpenid: id('snapshot-oa', 'o'),
      snapshotUnionid: id('snapshot-union', 'u'),
      chat: [],
      generatedCodes: [],
    };
    personas.set(persona.openid, persona);
    return persona;
  }

  /** 40013 for an unknown appid, 40125 for a wrong secret, otherwise undefined. */
  function checkCredentials(appId: unknown, secret: unknown): { errcode: number; errmsg: string } | undefined {
    if (typeof appId !== 'string' || !apps.has(appId)) return { errcode: 40_013, errmsg: 'invalid appid' };
    if (apps.get(appId) !== secret) return { errcode: 40_125, errmsg: 'invalid appsecret' };
    return undefined;
  }

  function issueToken(appId: string): { access_token: string; expires_in: number } {
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { appId, expiresAt: now() + tokenExpiresSeconds * 1000 });
    return { access_token: token, expires_in: tokenExpiresSeconds };
  }

  /** stable_token: the same token while it is valid; force_refresh replaces it. */
  function issueStableToken(appId: string, forceRefresh: boolean): { access_token: string; expires_in: number } {
    const current = stableTokens.get(appId);
    const issued = current ? tokens.get(current) : undefined;
    if (current && issued && issued.expiresAt > now() && !forceRefresh) {
        return { access_token: current, expires_in: Math.floor((issued.expiresAt - now()) / 1000) };
    }
    if (current) tokens.delete(current);
    const fresh = issueToken(appId);
    stableTokens.set(appId, fresh.access_token);
    return fresh;
  }

  /** 40001 for an unknown token, 42001 for an expired one; otherwise the app the token belongs to. */
  function checkToken(token: unknown): { appId: string } | { errcode: number; errmsg: string } {
    const issued = typeof token === 'string' ? tokens.get(token) : undefined;
    if (!issued) return { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    if (issued.expiresAt <= now()) return { errcode: 42_001, errmsg: 'access_token expired' };
    return { appId: issued.appId };
  }

  /** A QR ticket; `expireSeconds` undefined makes a permanent one. */
  function createTicket(scene: string | number, expireSeconds: number | undefined): Ticket {
    const ticket = `gQ${randomBytes(30).toString('base64')}`;
    const entry: Ticket = {
      ticket,
      scene: String(scene),
      sceneId: typeof scene === 'number' ? scene : undefined,
      url: `${options.config.publicUrl}/simulator/scan?ticket=${encodeURIComponent(ticket)}`,
      expiresAt: expireSeconds === undefined ? Infinity : now() + expireSeconds * 1000,
    };
    tickets.set(ticket, entry);
    // Forget long-dead tickets so that the map stays small on a long-running dev server.
    for (const [key, old] of tickets) if (old.expiresAt < now() - 3_600_000) tickets.delete(key);
    return entry;
  }

  /**
   * cgi-bin/message/custom/send, as WeChat decides it: 40003 unknown openid,
   * 43004 not following, 45015 no interaction within 48 hours; otherwise the
   * text lands in the persona's chat.
   */
  function deliverCustomText(openid: unknown, content: string): { errcode: number; errmsg: string } {
    const persona = typeof openid === 'string' ? personas.get(openid) : undefined;
    if (!persona) return { errcode: 40_003, errmsg: 'invalid openid' };
    if (!persona.following) return { errcode: requireSubscribeErrcode, errmsg: 'require subscribe' };
    if (persona.lastInteractionAt === undefined || now() - persona.lastInteractionAt > customMessageWindowMs) {
      return { errcode: customSendOutOfWindowErrcode, errmsg: 'response out of time limit or subscription is canceled' };
    }
    persona.chat.push({ from: 'account', text: content, at: new Date(now()) });
    return { errcode: 0, errmsg: 'ok' };
  }

  /** A mini-program code WeChat made: the phone lists it until someone scans it. */
  function recordMiniCode(scene: string): void {
    miniCodes.set(scene, { scene, createdAt: now() });
    for (const [key, old] of miniCodes) if (old.createdAt < now() - miniCodeListedMs) miniCodes.delete(key);
  }

  function waitingMiniCodes(): MiniCode[] {
    return [...miniCodes.values()].filter((code) => !code.scannedBy && code.createdAt > now() - miniCodeListedMs).reverse();
  }

  /** Login QR codes that are waiting: not expired and not yet scanned. */
  function waitingTickets(): Ticket[] {
    return [...tickets.values()].filter((ticket) => ticket.expiresAt > now() && !ticket.scannedBy).reverse();
  }

  /** A one-time code for `persona` in `appId`; `kind` says which API accepts it. */
  function issueCode(kind: CodeKind, persona: Persona, appId: string, scope?: string): string {
    const code = randomBytes(16).toString('hex');
    // Snapshot mode hides the real account behind a virtual one, and only for snsapi_userinfo.
    const snapshot = kind === 'oauth' && scope === 'snsapi_userinfo' && persona.snapshot;
    codes.set(code, { kind, openid: persona.openid, appId, scope, snapshot, used: false, expiresAt: now() + codeLifetimeMs });
    if (kind !== 'oauth') persona.generatedCodes = [{ kind, code }, ...persona.generatedCodes].slice(0, 6);
    return code;
  }

  /**
   * Uses up a code: 40029 when it is unknown, expired or for another app or
   * API, 40163 when it was already used. Otherwise the persona and scope.
   */
  function redeemCode(
    kind: CodeKind,
    code: unknown,
    appId: string,
  ): { persona: Persona; scope?: string; snapshot: boolean } | { errcode: number; errmsg: string } {
    const issued = typeof code === 'string' ? codes.get(code) : undefined;
    const persona = issued ? personas.get(issued.openid) : undefined;
    if (!issued || !persona || issued.kind !== kind || issued.appId !== appId || issued.expiresAt <= now()) {
      return { errcode: 40_029, errmsg: 'invalid code' };
    }
    if (issued.used) return { errcode: 40_163, errmsg: 'code been used' };
    issued.used = true;
    return { persona, scope: issued.scope, snapshot: issued.snapshot === true };
  }

  /** The grant a redeemed OAuth code stands for: the real account, or the virtual one in snapshot mode. */
  /** A grant as the app that asked sees the person: the website application has an openid of its own. */
  function snsGrantOf(persona: Persona, scope: string, snapshot: boolean, appId?: string): SnsGrant {
    const openid = appId !== undefined && appId === openAppId ? persona.openOpenid : snapshot ? persona.snapshotOpenid : persona.openid;
    return { personaOpenid: persona.openid, openid, scope, snapshot };
  }

  /** A website login page (connect/qrconnect) opened in a browser, waiting for a phone to allow or refuse it. */
  function openQrconnect(request: Omit<QrconnectRequest, 'id' | 'createdAt'>): QrconnectRequest {
    const entry = { ...request, id: randomBytes(12).toString('base64url'), createdAt: now() };
    qrconnects.set(entry.id, entry);
    for (const [key, old] of qrconnects) if (old.createdAt < now() - qrconnectLifetimeMs) qrconnects.delete(key);
    return entry;
  }

  /** The website login pages still waiting, newest first. */
  function waitingQrconnects(): QrconnectRequest[] {
    return [...qrconnects.values()].filter((request) => !request.decision && request.createdAt > now() - qrconnectLifetimeMs).reverse();
  }

  /** An sns access_token (2 hours) and, for a fresh grant, a refresh_token (30 days, not extended by refreshing). */
  function issueSnsTokens(grant: SnsGrant, appId: string, refreshToken?: string): { accessToken: string; refreshToken: string } {
    const accessToken = randomBytes(24).toString('base64url');
    snsTokens.set(accessToken, { ...grant, expiresAt: now() + 7_200_000 });
    if (refreshToken === undefined) {
      refreshToken = randomBytes(24).toString('base64url');
      refreshTokens.set(refreshToken, { ...grant, appId, expiresAt: now() + refreshLifetimeMs });
    }
    return { accessToken, refreshToken };
  }

  /** sns/oauth2/refresh_token's checks: 40030 unknown (or another app's), 42002 expired. */
  function checkRefreshToken(token: unknown, appId: string): RefreshToken | { errcode: number; errmsg: string } {
    const issued = typeof token === 'string' ? refreshTokens.get(token) : undefined;
    if (!issued || issued.appId !== appId) return { errcode: 40_030, errmsg: 'invalid refresh_token' };
    if (issued.expiresAt <= now()) return { errcode: 42_002, errmsg: 'refresh_token expired' };
    return issued;
  }

  function checkSnsToken(token: unknown, openid: unknown): { persona: Persona; grant: SnsGrant } | { errcode: number; errmsg: string } {
    const issued = typeof token === 'string' ? snsTokens.get(token) : undefined;
    if (!issued || issued.expiresAt <= now() || issued.openid !== openid) return { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid' };
    return { persona: personas.get(issued.personaOpenid)!, grant: issued };
  }

  return {
    personas,
    issueCode,
    redeemCode,
    snsGrantOf,
    issueSnsTokens,
    checkRefreshToken,
    checkSnsToken,
    officialAccountAppId: options.config.wechat.appId,
    miniProgramAppId,
    openAppId,
    qrconnects,
    openQrconnect,
    waitingQrconnects,
    tickets,
    createPersona,
    findPersona: (openid: string) => personas.get(openid),
    checkCredentials,
    issueToken,
    issueStableToken,
    checkToken,
    createTicket,
    waitingTickets,
    miniCodes,
    recordMiniCode,
    waitingMiniCodes,
    deliverCustomText,
    now,
  };
}

export type SimulatorState = ReturnType<typeof createSimulatorState>;
